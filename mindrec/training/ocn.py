"""DiffGRM's On-policy Coherent Noising (OCN, DESIGN §4), a training option.

Instead of masking canvas slots at random, OCN asks the model which slots it finds hard:

1. with the model in eval mode and no gradient, predict every canvas slot from a fully masked canvas;
2. order the slots by confidence (max softmax probability), least confident first (ties: lower slot first);
3. build ``L = code_length`` nested views: view ``t`` (``t = 1 .. L``) masks the ``t`` least confident slots;
4. the loss is the cross-entropy on the masked slots of every view.

Weights. The model's loss per row is ``sum_{masked} CE / L * weight`` and the batch loss the mean over
rows. Giving view ``t`` the weight ``L / t`` makes each row's term the **mean** CE over its ``t`` masked
slots, so the batch loss is the mean over users and views of the per-view mean CE: every view counts
the same, whatever the number of slots it masks. Supervision concentrates on hard slots (the least
confident slot is masked in every view) and the states seen match those confidence-first decoding visits.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .model_unwrap import unwrap_task_model


@torch.no_grad()
def slot_confidence(model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.FloatTensor:
    """Max probability of every canvas slot predicted from a fully masked canvas, ``[B, code_length]``.

    Runs the model in eval mode (no dropout) without gradient and restores its training mode.

    Args:
        model: the task model (possibly wrapped by DDP / PEFT).
        batch: ``input_ids [B, T]``, ``attention_mask [B, T]`` and optionally ``history_code_ids``.
    """
    task = unwrap_task_model(model)
    length = task.config.code_length
    input_ids = batch["input_ids"].clone()
    input_ids[:, -length:] = task.config.mask_token_id
    was_training = task.training
    task.eval()
    try:
        hidden = task.model(
            input_ids=input_ids,
            attention_mask=batch.get("attention_mask"),
            history_code_ids=batch.get("history_code_ids"),
        ).last_hidden_state
        log_probs = task.canvas_log_probs(hidden[:, -length:])  # [B, L, Vmax]
    finally:
        task.train(was_training)
    return log_probs.max(dim=-1).values.exp()


def nested_views(confidence: torch.Tensor) -> torch.BoolTensor:
    """Noise masks of the ``L`` nested views, ``[B, L (views), L (slots)]``.

    View ``v`` (0-based) masks the ``v + 1`` least confident slots; ties are broken by slot order, so
    the result is deterministic. Each view's mask contains the previous one's.

    Args:
        confidence: ``[B, L]`` per-slot confidence (higher = more confident).
    """
    if confidence.dim() != 2:
        raise ValueError(f"`confidence` must be [batch, code_length], got shape {tuple(confidence.shape)}.")
    batch, length = confidence.shape
    order = confidence.argsort(dim=1, stable=True)  # least confident first
    positions = torch.arange(length, device=confidence.device)
    rank = torch.empty_like(order).scatter_(1, order, positions.expand(batch, length))  # [B, L]
    return rank[:, None, :] <= positions[None, :, None]


def ocn_batch(model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The OCN training batch: every row repeated once per view with its noise mask and weight.

    Returns ``batch`` with each tensor repeated ``L`` times along the batch (``[B * L, ...]``, row
    ``b * L + v`` = user ``b``, view ``v``), plus ``noise_mask [B * L, L]`` and ``loss_weights [B * L]``
    (``L / (v + 1)``, see the module docstring). Pass it to the model: ``model(**ocn_batch(model, batch)).loss``.
    """
    confidence = slot_confidence(model, batch)
    views = nested_views(confidence)  # [B, V, L]
    batch_size, length = confidence.shape
    expanded = {key: value.repeat_interleave(length, dim=0) for key, value in batch.items()}
    expanded["noise_mask"] = views.reshape(batch_size * length, length)
    masked = torch.arange(1, length + 1, device=confidence.device, dtype=torch.float32)
    expanded["loss_weights"] = (length / masked).repeat(batch_size)
    return expanded


__all__ = ["nested_views", "ocn_batch", "slot_confidence"]
