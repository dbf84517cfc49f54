#!/usr/bin/env python
"""Probe (not a package feature): a learning curve with the per-item embedding table trained at ITEM_LR_SCALE times
the learning rate of every other weight (rare items get few updates in the two epochs before the head overfits; the
twelfth session found SASRec, trained for ~10 epochs, ahead on cold targets that followed the user's last item).
Arguments are scripts/learning_curves.py's:

    ITEM_LR_SCALE=3 python docs/experiments/item-embedding-rate/run.py --protocol beauty-full --plan mindrec \
        --name s21-itemlr3 --max-steps 1028 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves \
        --work-dir /work/exp/work/s21-itemlr3
"""

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.training.trainer import Trainer  # noqa: E402

SCALE = float(os.environ["ITEM_LR_SCALE"])


def optimizer_with_item_rate(self) -> torch.optim.Optimizer:
    items = {id(module.weight) for name, module in self.model.named_modules() if name.endswith("item_embeddings")}
    if len(items) != 1:
        raise SystemExit(f"expected one item embedding table, found {len(items)}")
    groups = {"decay": [], "no_decay": [], "items": []}
    for parameter in self.model.parameters():
        if parameter.requires_grad:
            key = "items" if id(parameter) in items else ("decay" if parameter.dim() >= 2 else "no_decay")
            groups[key].append(parameter)
    lr, decay = self.args.learning_rate, self.args.weight_decay
    return torch.optim.AdamW(
        [
            {"params": groups["decay"], "weight_decay": decay},
            {"params": groups["no_decay"], "weight_decay": 0.0},
            {"params": groups["items"], "weight_decay": decay, "lr": lr * SCALE},
        ],
        lr=lr,
    )


Trainer._optimizer = optimizer_with_item_rate

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
