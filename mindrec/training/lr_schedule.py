"""Learning-rate schedules: linear warm-up, then constant / MindRec tail decay / linear decay.

MindRec (DESIGN §4): warm-up over ``warmup_steps``, then the peak rate, then a linear decay over the
last ``decay_fraction`` of the steps down to ``final_lr_ratio`` times the peak at the last step.
"""

from __future__ import annotations

import math
from functools import partial

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from .arguments import LR_SCHEDULES


def lr_multiplier(
    step: int,
    schedule: str,
    num_training_steps: int,
    warmup_steps: int,
    decay_fraction: float = 0.1,
    final_lr_ratio: float = 0.1,
) -> float:
    """Multiplier of the peak rate for the update after ``step`` finished updates (``step`` from 0).

    * warm-up (every schedule): ``(step + 1) / (warmup_steps + 1)`` for ``step < warmup_steps``
      (never 0, so the first update already moves the weights);
    * ``"constant"``: 1 afterwards;
    * ``"linear"``: from 1 after warm-up to ``final_lr_ratio`` at the last step;
    * ``"mindrec"``: 1, then over the last ``ceil(decay_fraction * num_training_steps)`` steps a linear
      decay whose last value, at step ``num_training_steps - 1``, is ``final_lr_ratio``.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"Unknown lr_schedule {schedule!r}; expected one of {list(LR_SCHEDULES)}.")
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    if schedule == "constant":
        return 1.0
    last = num_training_steps - 1
    if schedule == "linear":
        decay_start = warmup_steps
    else:
        # round() first so that 0.1 * 100 decays over 10 steps, not ceil(10.000000000000002) = 11.
        decay_steps = max(1, math.ceil(round(decay_fraction * num_training_steps, 9)))
        decay_start = max(warmup_steps, last - decay_steps)
    if step <= decay_start or last <= decay_start:
        return 1.0
    progress = min(1.0, (step - decay_start) / (last - decay_start))
    return 1.0 - (1.0 - final_lr_ratio) * progress


def build_lr_scheduler(
    optimizer: Optimizer,
    schedule: str,
    num_training_steps: int,
    warmup_steps: int,
    decay_fraction: float = 0.1,
    final_lr_ratio: float = 0.1,
) -> LambdaLR:
    """A ``LambdaLR`` stepping :func:`lr_multiplier` once per optimizer step."""
    if num_training_steps < 1:
        raise ValueError(f"`num_training_steps` must be >= 1, got {num_training_steps}.")
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"Unknown lr_schedule {schedule!r}; expected one of {list(LR_SCHEDULES)}.")
    function = partial(
        lr_multiplier,
        schedule=schedule,
        num_training_steps=num_training_steps,
        warmup_steps=warmup_steps,
        decay_fraction=decay_fraction,
        final_lr_ratio=final_lr_ratio,
    )
    return LambdaLR(optimizer, function)


__all__ = ["build_lr_scheduler", "lr_multiplier"]
