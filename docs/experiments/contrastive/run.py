#!/usr/bin/env python
"""Probe (not a package feature): a learning curve with a DuoRec-style contrastive loss on the retrieval query.

Each training step adds CL_WEIGHT x the symmetric InfoNCE between two views' normalised retrieval queries (the fully
masked canvas; temperature CL_TAU), the other rows of the batch as negatives, rows with the same target item left out
of them (DuoRec's false negatives). CL_MODE=dropout (default): the second view is the same row encoded again (another
dropout draw, DuoRec's unsupervised view); CL_MODE=target: another training row with the same target item (DuoRec's
supervised view, drawn among the rows with that target, the row itself included). Arguments are scripts/learning_curves.py's:

    CL_WEIGHT=0.1 CL_TAU=0.1 python docs/experiments/contrastive/run.py --protocol beauty-full --plan mindrec \
        --name s25-cl0.1 --max-steps 1028 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves \
        --work-dir /work/exp/work/s25-cl0.1
"""

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.modeling.modeling_mindrec import MindRecForRecommendation  # noqa: E402
from mindrec.training.trainer import Trainer, derive_seed  # noqa: E402

CL_WEIGHT = float(os.environ["CL_WEIGHT"])
CL_TAU = float(os.environ.get("CL_TAU", "0.1"))
CL_MODE = os.environ.get("CL_MODE", "dropout")
if CL_MODE not in ("dropout", "target"):
    raise ValueError(f"CL_MODE must be 'dropout' or 'target', got {CL_MODE!r}")

original_forward = MindRecForRecommendation.forward
original_item_retrieval_logits = MindRecForRecommendation.item_retrieval_logits


def item_retrieval_logits(self, canvas_hidden, *args, **kwargs):
    if self.training:
        self._cl_first_view = canvas_hidden  # [B, L, d]: the loss's own fully masked canvas
    return original_item_retrieval_logits(self, canvas_hidden, *args, **kwargs)


def info_nce(first: torch.Tensor, second: torch.Tensor, targets: torch.LongTensor) -> torch.Tensor:
    """Symmetric InfoNCE of two views ``[B, d]`` (row i of each is the positive pair); negatives with the same target
    as the anchor are masked out."""
    first = nn.functional.normalize(first.float(), dim=-1)
    second = nn.functional.normalize(second.float(), dim=-1)
    logits = first @ second.T / CL_TAU  # [B, B]
    same_target = (targets[:, None] == targets[None, :]) & ~torch.eye(len(targets), dtype=torch.bool, device=targets.device)
    logits = logits.masked_fill(same_target, float("-inf"))
    labels = torch.arange(len(targets), device=targets.device)
    return 0.5 * (nn.functional.cross_entropy(logits, labels) + nn.functional.cross_entropy(logits.T, labels))


def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None, history_code_ids=None,
            labels=None, **kwargs):
    if CL_MODE == "target" and labels is not None and self.training:
        output = None
    else:
        output = original_forward(self, input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                  inputs_embeds=inputs_embeds, history_code_ids=history_code_ids, labels=labels,
                                  **kwargs)
    if labels is None or not self.training:
        return output
    length = self.config.code_length
    if CL_MODE == "target":
        # The batch holds the rows, then one positive per row (`rows_with_positives`): the loss reads the first half.
        half = labels.shape[0] // 2
        first = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids,
                 "history_code_ids": history_code_ids, "labels": labels}
        first = {key: None if value is None else value[:half] for key, value in first.items()}
        second = {key: None if value is None else value[half:] for key, value in
                  {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids,
                   "history_code_ids": history_code_ids, "labels": labels}.items()}
        output = original_forward(self, inputs_embeds=inputs_embeds, **first, **kwargs)
        input_ids, attention_mask, position_ids = second["input_ids"], second["attention_mask"], second["position_ids"]
        history_code_ids, labels = second["history_code_ids"], second["labels"]
    target_tokens = labels[:, -length:]
    all_masked = torch.ones(target_tokens.shape[0], 1, length, dtype=torch.bool, device=target_tokens.device)
    _, second = self._packed_views_hidden(
        input_ids, target_tokens, all_masked, attention_mask, position_ids, history_code_ids
    )  # [B, 1, L, d]
    valid = torch.ones(target_tokens.shape[0], 1, dtype=torch.bool, device=target_tokens.device)
    target_items = self.model.history_item_indices(target_tokens[:, None], valid)[:, 0]
    first_query = self.retrieval_proj(self._cl_first_view.mean(dim=-2))
    second_query = self.retrieval_proj(second[:, 0].mean(dim=-2))
    contrastive = info_nce(first_query, second_query, target_items)
    output.loss = output.loss + CL_WEIGHT * contrastive
    self._cl_first_view = None
    return output


def rows_with_positives(self, step, order):
    """The step's rows, then for each a random training row with the same target (possibly itself)."""
    rows = original_rows(self, step, order)
    if not hasattr(self, "_cl_rows_by_target"):
        targets = self._train_rows.targets
        by_target = np.argsort(targets, kind="stable")
        starts = np.searchsorted(targets[by_target], np.arange(targets.max() + 2))
        self._cl_rows_by_target = (by_target, starts)
        self._cl_generator = np.random.default_rng(derive_seed("contrastive", self.args.seed))
    by_target, starts = self._cl_rows_by_target
    positives = []
    for row in rows:
        start, end = starts[row["target"]], starts[row["target"] + 1]
        positives.append(self._train_rows.row(int(by_target[self._cl_generator.integers(start, end)])))
    return rows + positives


if CL_MODE == "target":
    original_rows = Trainer._rows
    Trainer._rows = rows_with_positives
MindRecForRecommendation.forward = forward
MindRecForRecommendation.item_retrieval_logits = item_retrieval_logits

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
