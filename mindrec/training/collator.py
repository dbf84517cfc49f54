"""Batches of dataset rows for MindRec training: the tokenizer's model inputs plus labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from transformers import BatchEncoding


class MindRecCollator:
    """Turn rows ``{"history": [item, ...], "target": item}`` into model inputs.

    Returns the tokenizer's ``input_ids [B, T]``, ``attention_mask [B, T]``, ``labels [B, T]`` (the
    target's code tokens on the canvas, -100 elsewhere) and, with the pooled history encoding,
    ``history_code_ids [B, H, code_length]``.

    In the LLM setting the tokenizer has 17 prompt templates: training draws one per row (uniformly,
    from ``generator``), evaluation uses template 0. The item-only setting has one template.

    Args:
        tokenizer: a :class:`~mindrec.tokenization.tokenization_mindrec.MindRecTokenizer`.
        random_templates: draw a template per row (training) instead of template 0.
    """

    def __init__(self, tokenizer, random_templates: bool = True):
        self.tokenizer = tokenizer
        self.random_templates = random_templates

    def template_indices(self, batch_size: int, generator: torch.Generator | None) -> list[int] | int:
        """One template per row ``[batch_size]`` (training, several templates) or ``0``."""
        count = self.tokenizer.num_templates
        if not self.random_templates or count == 1:
            return 0
        return torch.randint(count, (batch_size,), generator=generator).tolist()

    def __call__(self, rows: Sequence[Mapping], generator: torch.Generator | None = None) -> BatchEncoding:
        if not rows:
            raise ValueError("Cannot collate an empty list of rows.")
        histories, targets = [], []
        for index, row in enumerate(rows):
            if "history" not in row or "target" not in row:
                raise ValueError(
                    f"row {index} (user_id={row.get('user_id')!r}) needs 'history' and 'target' fields."
                )
            histories.append(list(row["history"]))
            targets.append(row["target"])
        return self.tokenizer(
            histories,
            targets,
            template_index=self.template_indices(len(rows), generator),
            items="indices",
            return_tensors="pt",
        )


__all__ = ["MindRecCollator"]
