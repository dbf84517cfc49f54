"""Throw-away: scripts/learning_curves.py with the per-item ID embeddings (``item_embeddings``, which the history
and the retrieval head's item vectors share) trained at EMB_LR_MULT times the learning rate. SASRec leads on rare
item pairs that its ID table memorises over 8+ epochs; MindRec's table gets two epochs. AdamW's per-group learning
rate; the schedule (a LambdaLR) scales every group's own rate.

    EMB_LR_MULT=3 python docs/experiments/cold-generative/embedding_lr.py <learning_curves.py options>
"""

import os
import pathlib
import runpy
import sys

import torch

from mindrec.training import trainer

multiplier = float(os.environ["EMB_LR_MULT"])


def _optimizer(self):
    groups = {"decay": [], "no_decay": [], "items": []}
    for name, parameter in self.model.named_parameters():
        if parameter.requires_grad:
            key = "items" if name.endswith("item_embeddings.weight") else "decay" if parameter.dim() >= 2 else "no_decay"
            groups[key].append(parameter)
    assert len(groups["items"]) == 1, "expected one item embedding table"
    lr, decay = self.args.learning_rate, self.args.weight_decay
    return torch.optim.AdamW(
        [
            {"params": groups["decay"], "weight_decay": decay},
            {"params": groups["no_decay"], "weight_decay": 0.0},
            {"params": groups["items"], "weight_decay": decay, "lr": lr * multiplier},
        ],
        lr=lr,
    )


trainer.Trainer._optimizer = _optimizer
script = pathlib.Path(__file__).parents[3] / "scripts" / "learning_curves.py"
sys.argv = [str(script), *sys.argv[1:]]
runpy.run_path(str(script), run_name="__main__")
