"""Reach the task model under the wrappers training adds (DistributedDataParallel, PEFT)."""

from __future__ import annotations

import torch
from peft import PeftModel


def unwrap_task_model(model: torch.nn.Module) -> torch.nn.Module:
    """The ``MindRecForRecommendation`` / ``DeftRecForRecommendation`` inside ``model``.

    DDP's ``.module`` is removed and a ``PeftModel`` gives its base model, whose LoRA layers stay
    injected and active, so the result computes what the wrapped model computes.
    """
    while isinstance(model, torch.nn.parallel.DistributedDataParallel):
        model = model.module
    if isinstance(model, PeftModel):
        model = model.get_base_model()
    return model


__all__ = ["unwrap_task_model"]
