"""LoRA on the LLaDA-style backbone with explicit targets (DESIGN §3).

MindRec's published config named LLaMA modules on LLaDA's own module names and so matched nothing;
here the targets are the Llama-style names this package's backbone really has, and
``apply_lora`` fails loudly if any of them is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from peft import LoraConfig, PeftModel, get_peft_model

from mindrec.modeling import MindRecForRecommendation

LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def item_token_ids(model: MindRecForRecommendation) -> list[int]:
    """Token ids of every item-code token (the rows added for items), ``code_token_offset ..``."""
    config = model.config
    return list(range(config.code_token_offset, config.code_token_offset + sum(config.code_slot_sizes)))


def lora_config(
    model: MindRecForRecommendation,
    r: int = 8,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: Sequence[str] = LORA_TARGET_MODULES,
) -> LoraConfig:
    """LoRA on every attention and MLP projection; item-token rows of the embedding and LM head trainable.

    The new item tokens have no pretrained meaning, so their input embedding rows and output rows are
    trained (``trainable_token_indices`` on ``embed_tokens`` and ``lm_head``) while every other row stays
    frozen. Defaults are MindRec's published r 8, alpha 32, dropout 0.05.
    """
    ids = item_token_ids(model)
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        trainable_token_indices={"embed_tokens": ids, "lm_head": ids},
        bias="none",
    )


def apply_lora(model: MindRecForRecommendation, config: LoraConfig | None = None, **kwargs) -> PeftModel:
    """Wrap ``model`` with LoRA; raise if a target module name matches no layer of the backbone."""
    config = config or lora_config(model, **kwargs)
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = sorted(set(config.target_modules) - names)
    if missing:
        raise ValueError(f"LoRA target modules {missing} match no module of {type(model).__name__}.")
    return get_peft_model(model, config)
