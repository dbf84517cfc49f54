"""Convert a LLaDA checkpoint (GSAI-ML/LLaDA-8B-*, ``modeling_llada.py`` layout) into MindRec.

LLaDA's hub code does not load under transformers 5, so the architecture is implemented natively in
``modeling_mindrec.py`` and only the weights and config fields are carried over:

=========================================================  ==============================================
LLaDA key                                                  MindRec key
=========================================================  ==============================================
``model.transformer.wte.weight``                           ``model.embed_tokens.weight``
``model.transformer.blocks.N.attn_norm.weight``            ``model.layers.N.input_layernorm.weight``
``model.transformer.blocks.N.{q,k,v}_proj.weight``         ``model.layers.N.self_attn.{q,k,v}_proj.weight``
``model.transformer.blocks.N.attn_out.weight``             ``model.layers.N.self_attn.o_proj.weight``
``model.transformer.blocks.N.ff_norm.weight``              ``model.layers.N.post_attention_layernorm.weight``
``model.transformer.blocks.N.ff_proj.weight`` (gate)       ``model.layers.N.mlp.gate_proj.weight``
``model.transformer.blocks.N.up_proj.weight``              ``model.layers.N.mlp.up_proj.weight``
``model.transformer.blocks.N.ff_out.weight`` (down)        ``model.layers.N.mlp.down_proj.weight``
``model.transformer.ln_f.weight``                          ``model.norm.weight``
``model.transformer.ff_out.weight`` (LM head)              ``lm_head.weight``
=========================================================  ==============================================

Library code (not remote code): used by ``scripts/convert_llada_checkpoint.py`` and the training script.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import torch

from .configuration_mindrec import MindRecConfig

logger = logging.getLogger(__name__)

_GLOBAL_KEYS = {
    "model.transformer.wte.weight": "model.embed_tokens.weight",
    "model.transformer.ln_f.weight": "model.norm.weight",
    "model.transformer.ff_out.weight": "lm_head.weight",
}
_BLOCK_KEYS = {
    "attn_norm": "input_layernorm",
    "q_proj": "self_attn.q_proj",
    "k_proj": "self_attn.k_proj",
    "v_proj": "self_attn.v_proj",
    "attn_out": "self_attn.o_proj",
    "ff_norm": "post_attention_layernorm",
    "ff_proj": "mlp.gate_proj",
    "up_proj": "mlp.up_proj",
    "ff_out": "mlp.down_proj",
}
_BLOCK_PATTERN = re.compile(r"^model\.transformer\.blocks\.(\d+)\.(\w+)\.weight$")

# LLaDA-8B values for fields its config.json may leave out.
LLADA_8B_DEFAULTS = {
    "rope_theta": 500000.0,
    "rms_norm_eps": 1e-5,
    "mask_token_id": 126336,
    "eos_token_id": 126081,
    "pad_token_id": 126081,
}


def llada_key_to_mindrec(key: str) -> str:
    """Map one LLaDA state-dict key to its MindRec name; ``KeyError`` naming the key if unknown."""
    if key in _GLOBAL_KEYS:
        return _GLOBAL_KEYS[key]
    match = _BLOCK_PATTERN.match(key)
    if match and match.group(2) in _BLOCK_KEYS:
        return f"model.layers.{match.group(1)}.{_BLOCK_KEYS[match.group(2)]}.weight"
    raise KeyError(key)


def expected_llada_keys(num_layers: int) -> set[str]:
    """Every key a LLaDA checkpoint with ``num_layers`` blocks holds."""
    keys = set(_GLOBAL_KEYS)
    for layer in range(num_layers):
        keys.update(f"model.transformer.blocks.{layer}.{name}.weight" for name in _BLOCK_KEYS)
    return keys


def convert_llada_state_dict(state_dict: dict[str, torch.Tensor], num_layers: int) -> dict[str, torch.Tensor]:
    """Rename a LLaDA state dict to MindRec keys.

    Raises:
        ValueError: listing every missing and every unexpected key (nothing is converted half-way).
    """
    expected = expected_llada_keys(num_layers)
    present = set(state_dict)
    missing, unexpected = sorted(expected - present), sorted(present - expected)
    if missing or unexpected:
        raise ValueError(
            "The LLaDA state dict does not match a "
            f"{num_layers}-layer LLaDA model. Missing keys: {missing or 'none'}. "
            f"Unexpected keys: {unexpected or 'none'}."
        )
    return {llada_key_to_mindrec(key): tensor for key, tensor in state_dict.items()}


def llada_config_to_mindrec(llada_config: dict, **overrides) -> MindRecConfig:
    """Build a :class:`MindRecConfig` from LLaDA's ``config.json`` fields.

    Reads ``d_model, n_layers, n_heads, n_kv_heads, mlp_hidden_size, embedding_size/vocab_size,
    max_sequence_length, rope_theta, rms_norm_eps, mask/eos/pad_token_id``; rejects settings the
    architecture does not implement (biases, tied weights, ALiBi, non-RMS norms). ``overrides`` set
    MindRec fields such as the item-code layout.
    """
    unsupported = {
        "include_bias": True,
        "weight_tying": True,
        "alibi": True,
        "rope": False,
    }
    for key, bad in unsupported.items():
        if llada_config.get(key) is bad:
            raise ValueError(f"LLaDA config sets {key}={bad}, which MindRec's LLaDA architecture does not implement.")
    if llada_config.get("layer_norm_type", "rms") != "rms":
        raise ValueError(f"LLaDA config layer_norm_type={llada_config['layer_norm_type']!r}; only 'rms' is supported.")
    if llada_config.get("activation_type", "silu") not in ("silu", "swiglu"):
        raise ValueError(f"LLaDA config activation_type={llada_config['activation_type']!r}; only SiLU is supported.")
    required = ("d_model", "n_layers", "n_heads", "mlp_hidden_size")
    missing = [key for key in required if key not in llada_config]
    if missing:
        raise ValueError(f"LLaDA config lacks {missing}.")
    defaults = {**LLADA_8B_DEFAULTS, **llada_config}
    vocab = llada_config.get("embedding_size") or llada_config.get("vocab_size")
    if vocab is None:
        raise ValueError("LLaDA config has neither `embedding_size` nor `vocab_size`.")
    kwargs = {
        "vocab_size": int(vocab),
        "hidden_size": int(llada_config["d_model"]),
        "intermediate_size": int(llada_config["mlp_hidden_size"]),
        "num_hidden_layers": int(llada_config["n_layers"]),
        "num_attention_heads": int(llada_config["n_heads"]),
        "num_key_value_heads": int(llada_config.get("n_kv_heads") or llada_config["n_heads"]),
        "max_position_embeddings": int(llada_config.get("max_sequence_length", 4096)),
        "rope_parameters": {"rope_type": "default", "rope_theta": float(defaults["rope_theta"])},
        "rms_norm_eps": float(defaults.get("rms_norm_eps", defaults.get("layer_norm_eps", 1e-5))),
        "mask_token_id": int(defaults["mask_token_id"]),
        "eos_token_id": int(defaults["eos_token_id"]),
        "pad_token_id": int(defaults["pad_token_id"]),
        "bos_token_id": None,
        "sep_token_id": None,
        "item_placeholder_token_id": None,
        # No item tokens yet: one placeholder slot of size 1 at the end of the vocabulary; the
        # training script widens the vocabulary and sets the real layout when it adds item tokens.
        "num_category_levels": 0,
        "num_sid_digits": 1,
        "code_slot_sizes": [1],
        "code_token_offset": int(vocab) - 1,
    }
    if kwargs["mask_token_id"] == kwargs["code_token_offset"]:
        raise ValueError("The mask token is the last vocabulary row; pass an explicit code layout in `overrides`.")
    kwargs.update(overrides)
    return MindRecConfig(**kwargs)


def load_llada_state_dict(checkpoint_dir: str | Path) -> dict[str, torch.Tensor]:
    """Read every ``*.safetensors`` shard of a LLaDA checkpoint folder (no pickle files)."""
    from safetensors.torch import load_file

    checkpoint_dir = Path(checkpoint_dir)
    shards = sorted(checkpoint_dir.glob("*.safetensors"))
    if not shards:
        raise FileNotFoundError(f"No *.safetensors files in {checkpoint_dir}.")
    state_dict: dict[str, torch.Tensor] = {}
    for shard in shards:
        state_dict.update(load_file(str(shard)))
    return state_dict


def convert_llada_checkpoint(
    checkpoint_dir: str | Path, output_dir: str | Path, dtype: torch.dtype | None = None, **overrides
) -> Path:
    """Convert a LLaDA checkpoint folder (config.json + safetensors) into a MindRec model folder.

    The model is built on the meta device and takes the checkpoint's tensors as they are, so an 8B
    conversion needs no second copy in memory. Load the result with ``from_pretrained(output_dir)``.
    """
    from .modeling_mindrec import MindRecForRecommendation

    checkpoint_dir = Path(checkpoint_dir)
    config_path = checkpoint_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} does not exist.")
    config = llada_config_to_mindrec(json.loads(config_path.read_text()), **overrides)
    state_dict = convert_llada_state_dict(load_llada_state_dict(checkpoint_dir), config.num_hidden_layers)
    with torch.device("meta"):
        model = MindRecForRecommendation(config)
    model.load_state_dict(state_dict, strict=True, assign=True)
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(output_dir)
    logger.info("Converted %s -> %s (%d tensors)", checkpoint_dir, output_dir, len(state_dict))
    return Path(output_dir)


__all__ = [
    "convert_llada_checkpoint",
    "convert_llada_state_dict",
    "expected_llada_keys",
    "llada_config_to_mindrec",
    "llada_key_to_mindrec",
    "load_llada_state_dict",
]
