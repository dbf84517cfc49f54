"""TIGER-style autoregressive baseline: build the causal MindRec model that fits a tokenizer.

The model class lives in remote code (``modeling/modeling_mindrec_autoregressive.py``); this module holds
the library-side helpers. Training goes through the package's trainer with the MindRec task (the model's
``forward`` takes the same batch as the diffusion model and computes the teacher-forced loss); decoding
is ``model.generate`` with the prefix-constrained (left-to-right) beam search.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from mindrec.modeling.configuration_mindrec import MindRecConfig
from mindrec.modeling.modeling_mindrec_autoregressive import MindRecForAutoregressiveRecommendation

logger = logging.getLogger(__name__)


def causal_config(config: MindRecConfig) -> MindRecConfig:
    """A copy of a (diffusion) model config with ``is_causal=True``: the same backbone, token layout and
    code layout, so the autoregressive control differs from the diffusion model only in its mask and loss.
    The diffusion model's training views and prompt layout are reset: a causal mask already keeps the
    prompt from seeing the canvas, and teacher forcing supervises every prefix state in one pass."""
    return MindRecConfig.from_dict(
        {
            **config.to_dict(),
            "is_causal": True,
            "architectures": None,
            "prompt_attends_canvas": True,
            "causal_prompt": False,
            "num_random_views": 1,
            "num_path_views": 0,
        }
    )


def autoregressive_config(tokenizer: Any, **backbone: Any) -> MindRecConfig:
    """A causal :class:`MindRecConfig` with the tokenizer's token layout.

    Args:
        tokenizer: a :class:`~mindrec.tokenization.tokenization_mindrec.MindRecTokenizer` (its
            ``model_config_kwargs()`` fix the vocabulary, special ids and code layout).
        backbone: backbone dimensions and other config fields (``hidden_size``, ``num_hidden_layers``, ...).

    Raises:
        ValueError: ``backbone`` sets a layout field the tokenizer fixes, or ``is_causal=False``.
    """
    layout = tokenizer.model_config_kwargs()
    clash = sorted(set(layout) & set(backbone) - {"vocab_size"})
    if clash:
        raise ValueError(f"{clash} come from the tokenizer's layout and cannot be overridden")
    if backbone.pop("is_causal", True) is not True:
        raise ValueError("the autoregressive baseline needs is_causal=True")
    return MindRecConfig(**{**layout, **backbone, "is_causal": True})


def build_autoregressive_model(
    tokenizer: Any, seed: int = 0, **backbone: Any
) -> MindRecForAutoregressiveRecommendation:
    """A freshly initialised :class:`MindRecForAutoregressiveRecommendation` for ``tokenizer``
    (``seed`` fixes the initialisation; ``backbone`` as :func:`autoregressive_config`)."""
    config = autoregressive_config(tokenizer, **backbone)
    torch.manual_seed(seed)
    model = MindRecForAutoregressiveRecommendation(config)
    logger.info("TIGER-style AR model: %d parameters, code layout %s", model.num_parameters(), config.code_slot_sizes)
    return model


__all__ = ["autoregressive_config", "build_autoregressive_model", "causal_config"]
