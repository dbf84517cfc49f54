#!/usr/bin/env python
"""Probe (not a package feature): the retrieval head's logits as a scaled cosine, COSINE_SCALE x cos(query, item).

The head scores the catalogue by dot products, so an item's vector norm is a per-item popularity term it learns
besides the fixed prior; a cosine with a fixed scale takes that freedom away and bounds every logit (the fixed priors
are kept as they are). Training and decoding alike. Arguments are scripts/learning_curves.py's:

    COSINE_SCALE=16 python docs/experiments/cosine-head/run.py --protocol beauty-full --plan mindrec --name s21-cos16 \
        --max-steps 1028 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves --work-dir /work/exp/work/s21-cos16
"""

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.modeling.modeling_mindrec import MindRecForRecommendation  # noqa: E402

SCALE = float(os.environ["COSINE_SCALE"])
_dot_logits = MindRecForRecommendation._retrieval_logits


def cosine_logits(self, states, item_vectors=None, history_items=None, next_items=None):
    if item_vectors is None:
        item_vectors = self.model.catalogue_item_vectors()
    # The priors alone: the dot-product logits against zero vectors.
    priors = _dot_logits(self, states, torch.zeros_like(item_vectors), history_items, next_items)
    query = F.normalize(self.retrieval_proj(states), dim=-1)
    vectors = F.normalize(item_vectors.to(query.dtype), dim=-1)
    return priors + SCALE * (query @ vectors.T).float()


MindRecForRecommendation._retrieval_logits = cosine_logits

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
