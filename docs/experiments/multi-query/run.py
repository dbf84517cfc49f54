#!/usr/bin/env python
"""Probe (not a package feature): the retrieval head with one query per canvas slot, combined as a soft OR.

The head scores the catalogue with the projected MEAN of the fully masked canvas states (3 category slots and 4 digit
slots), i.e. the mean over slots of each slot's logits: every slot must agree (a product of experts). Here each slot
queries on its own and the logits are logsumexp over slots minus log(slots), a mixture, as multi-interest retrievers
score: a user whose history points two ways keeps both. Training and decoding alike; the fixed priors are kept.
Arguments are scripts/learning_curves.py's:

    python docs/experiments/multi-query/run.py --protocol beauty-full --plan mindrec --name s21-multiquery \
        --max-steps 1028 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves --work-dir /work/exp/work/s21-multiquery
"""

import math
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.modeling.modeling_mindrec import MindRecForRecommendation  # noqa: E402


def multi_query_logits(self, canvas_hidden, item_vectors=None, history_items=None, next_items=None):
    if item_vectors is None:
        item_vectors = self.model.catalogue_item_vectors()
    mean_query = self._retrieval_logits(canvas_hidden.mean(dim=-2), item_vectors, history_items, next_items)
    queries = self.retrieval_proj(canvas_hidden)  # [N, L, d]
    per_slot = torch.einsum("nld,id->nli", queries, item_vectors.to(queries.dtype)).float()  # [N, L, I]
    slots = per_slot.shape[1]
    # mean_query = mean over slots of per_slot + the priors: swap the mean for the soft OR, keep the priors.
    return mean_query - per_slot.mean(dim=1) + torch.logsumexp(per_slot, dim=1) - math.log(slots)


MindRecForRecommendation.item_retrieval_logits = multi_query_logits

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
