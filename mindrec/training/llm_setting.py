"""MindRec's LLM setting: a LLaDA-layout backbone + a text tokenizer + item tokens + LoRA (DESIGN §3-4).

Steps (:func:`build_llm_model`):

1. load the converted backbone (``modeling/convert_llada.py`` output, a ``MindRecForRecommendation`` folder);
2. build the :class:`MindRecTokenizer` over the text tokenizer; its code tokens start after every
   existing embedding row (``code_token_offset = max(len(text tokenizer), backbone vocab_size)``), the
   mask and pad ids are the backbone's (LLaDA's ``<|mdm_mask|>`` is no declared mask token);
3. add the item tokens (:func:`add_item_tokens`): resize the embedding and the LM head, start every new
   row at the mean of the pretrained rows (a neutral point the optimiser moves from, unlike random rows
   whose norm differs from the pretrained ones), and write the code layout into the config;
4. wrap with LoRA (``mindrec.training.peft_setup.apply_lora``: every attention/MLP projection, the item
   rows of the embedding and LM head trainable).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from transformers import AutoTokenizer

from mindrec.modeling import MindRecForRecommendation

from .arguments import DataArguments, ModelArguments
from .model_setup import set_mask_eps
from .peft_setup import apply_lora

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load_backbone(model_args: ModelArguments) -> MindRecForRecommendation:
    """The converted LLaDA-layout backbone from ``model_args.backbone_path``."""
    from .model_io import LOAD_OPTIONS

    return MindRecForRecommendation.from_pretrained(
        model_args.backbone_path, dtype=DTYPES[model_args.backbone_dtype], **LOAD_OPTIONS
    )


def build_llm_tokenizer(
    code_table: dict[str, Any], backbone_config, text_tokenizer_path: str, max_history: int | None
):
    """The LLM-setting :class:`MindRecTokenizer`: the text tokenizer + code tokens after the backbone's rows."""
    from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

    text_tokenizer = AutoTokenizer.from_pretrained(text_tokenizer_path, local_files_only=True)
    offset = max(len(text_tokenizer), backbone_config.vocab_size)
    return MindRecTokenizer.from_code_table(
        code_table,
        text_tokenizer=text_tokenizer,
        history_encoding="tokens",
        max_history=max_history,
        code_token_offset=offset,
        mask_token_id=backbone_config.mask_token_id,
        pad_token_id=backbone_config.pad_token_id,
    )


@torch.no_grad()
def add_item_tokens(model: MindRecForRecommendation, tokenizer) -> MindRecForRecommendation:
    """Give ``model`` the tokenizer's item tokens: new embedding/LM-head rows at the pretrained mean, and the
    tokenizer's code layout in the config. Idempotent for a model that already has the layout.

    Raises:
        ValueError: the code tokens would overwrite pretrained rows.
    """
    old_vocab = model.config.vocab_size
    layout = tokenizer.model_config_kwargs()
    new_vocab = layout["vocab_size"]
    if new_vocab != old_vocab:
        if tokenizer.code_token_offset < old_vocab:
            raise ValueError(
                f"The tokenizer's code tokens start at {tokenizer.code_token_offset}, inside the backbone's "
                f"{old_vocab} pretrained rows."
            )
        input_mean = model.get_input_embeddings().weight[:old_vocab].float().mean(0)
        output_mean = model.get_output_embeddings().weight[:old_vocab].float().mean(0)
        model.resize_token_embeddings(new_vocab, mean_resizing=False)
        embeddings, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
        embeddings[old_vocab:] = input_mean.to(embeddings.dtype)
        head[old_vocab:] = output_mean.to(head.dtype)
        logger.info(
            "Added %d item-token rows (vocabulary %d -> %d)", new_vocab - old_vocab, old_vocab, new_vocab
        )
    for key, value in layout.items():
        setattr(model.config, key, value)
    model.config.validate()
    tokenizer.check_compatible(model.config)
    return model


def build_llm_model(
    code_table: dict[str, Any], model_args: ModelArguments, data_args: DataArguments, mask_eps: float | None
):
    """Backbone + item tokens + LoRA, and its tokenizer: ``(peft_model, tokenizer)``."""
    backbone = load_backbone(model_args)
    tokenizer = build_llm_tokenizer(
        code_table, backbone.config, model_args.text_tokenizer_path, data_args.max_history
    )
    add_item_tokens(backbone, tokenizer)
    set_mask_eps(backbone, mask_eps)
    if model_args.gradient_checkpointing:
        backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_lora(
        backbone, r=model_args.lora_r, alpha=model_args.lora_alpha, dropout=model_args.lora_dropout
    )
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    logger.info(
        "LLM setting: %.2fM of %.2fM parameters trainable (LoRA r %d)",
        trainable / 1e6,
        total / 1e6,
        model_args.lora_r,
    )
    return model, tokenizer


__all__ = ["add_item_tokens", "build_llm_model", "build_llm_tokenizer", "load_backbone"]
