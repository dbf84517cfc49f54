"""Shared builders for the training / evaluation / main-job tests (no tests here).

* :func:`tiny_arguments`: the five argument dataclasses for a seconds-long run on a tiny synthetic catalogue
  (:func:`tiny_fused_arguments`: the same with the retrieval head, decoded fused);
* :func:`make_text_tokenizer`: a ~300-token byte-level BPE trained in memory on the prompt templates, with
  LLaDA-like specials (``<|bos|>`` 0, ``<|eot|>`` 1, ``<|mdm_mask|>`` 2, no pad, no declared mask);
* :func:`make_tiny_llada`: a randomly initialised LLaDA checkpoint (LLaDA key names, ``config.json``)
  converted into a MindRec backbone folder, as ``scripts/convert_llada_checkpoint.py`` would.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from mindrec.modeling.convert_llada import convert_llada_checkpoint
from mindrec.training.arguments import (
    CodeArguments,
    DataArguments,
    EvaluationArguments,
    ModelArguments,
    TrainingArguments,
)

TEXT_SPECIAL_TOKENS = ["<|bos|>", "<|eot|>", "<|mdm_mask|>", "<|start|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start|>{{ m['role'] }}<|end|>\n{{ m['content'] }}<|eot|>"
    "{% endfor %}{% if add_generation_prompt %}<|start|>assistant<|end|>\n{% endif %}"
)
TEXT_MASK_ID, TEXT_EOS_ID = 2, 1


def tiny_arguments(output_dir, **overrides):
    """``(data, codes, model, training, evaluation)`` arguments of a tiny run (60 items, 80 users, d 16).

    ``overrides`` set any field by name, whichever dataclass owns it.
    """
    values = {
        "synthetic_num_users": 80,
        "synthetic_num_items": 60,
        "max_history": 6,
        "num_category_levels": 2,
        "num_sid_digits": 2,
        "codebook_size": 6,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "output_dir": str(output_dir),
        "learning_rate": 3e-3,
        "train_batch_size": 32,
        "num_epochs": 2,
        "warmup_steps": 2,
        "logging_steps": 4,
        "show_progress": False,
        "num_beams": 5,
        "num_return_items": 5,
        "eval_ks": [1, 5],
        "selection_metric": "ndcg@5",
        "validation_max_users": 30,
        "eval_batch_size": 40,
        "mask_eps": 0.4,
    }
    values.update(overrides)
    groups = (DataArguments, CodeArguments, ModelArguments, TrainingArguments, EvaluationArguments)
    built = []
    for cls in groups:
        names = set(cls.__dataclass_fields__)
        built.append(cls(**{key: value for key, value in values.items() if key in names}))
    unknown = set(values) - {name for cls in groups for name in cls.__dataclass_fields__}
    if unknown:
        raise KeyError(f"unknown tiny argument(s) {sorted(unknown)}")
    return tuple(built)


def tiny_fused_arguments(output_dir, **overrides):
    """:func:`tiny_arguments` of a two-step run of a model with the retrieval head (the history isolated from the
    canvas), decoded by the fused one-pass decoder with ``retrieval_weight`` 1; ``overrides`` as there."""
    return tiny_arguments(
        output_dir,
        **{
            "max_steps": 2,
            "eval_steps": 2,
            "history_item_embeddings": True,
            "prompt_attends_canvas": False,
            "causal_prompt": True,
            "num_path_views": 1,
            "item_retrieval_head": True,
            "strategy": "catalogue_scoring",
            "retrieval_weight": 1.0,
            **overrides,
        },
    )


def make_text_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE text tokenizer (~300 tokens) trained on the prompt templates."""
    from mindrec.tokenization.tokenization_mindrec import ALPACA_PREAMBLE, PROMPT_TEMPLATES

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=TEXT_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([*PROMPT_TEMPLATES, ALPACA_PREAMBLE, "user assistant"], trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|bos|>", eos_token="<|eot|>", chat_template=CHAT_TEMPLATE
    )


def make_tiny_llada(
    folder: Path, hidden: int = 16, layers: int = 1, extra_rows: int = 4
) -> tuple[Path, Path]:
    """Save a tiny text tokenizer and a converted tiny LLaDA backbone under ``folder``.

    The backbone has ``len(text tokenizer) + extra_rows`` embedding rows (LLaDA, too, has more rows than
    its tokenizer), mask id 2 (``<|mdm_mask|>``), eos/pad id 1. Returns ``(backbone_dir, text_tokenizer_dir)``.
    """
    folder = Path(folder)
    text = make_text_tokenizer()
    text_dir = folder / "text_tokenizer"
    text.save_pretrained(text_dir)
    vocab, mlp = len(text) + extra_rows, 2 * hidden
    config = {
        "d_model": hidden,
        "n_layers": layers,
        "n_heads": 2,
        "n_kv_heads": 2,
        "mlp_hidden_size": mlp,
        "vocab_size": vocab,
        "embedding_size": vocab,
        "max_sequence_length": 512,
        "rope_theta": 500000.0,
        "rms_norm_eps": 1e-5,
        "mask_token_id": TEXT_MASK_ID,
        "eos_token_id": TEXT_EOS_ID,
        "pad_token_id": TEXT_EOS_ID,
        "include_bias": False,
        "weight_tying": False,
        "layer_norm_type": "rms",
        "activation_type": "silu",
    }
    llada_dir = folder / "llada"
    llada_dir.mkdir(parents=True)
    (llada_dir / "config.json").write_text(json.dumps(config))
    generator = torch.Generator().manual_seed(0)

    def weight(*shape):
        return torch.randn(*shape, generator=generator) * 0.05

    state = {
        "model.transformer.wte.weight": weight(vocab, hidden),
        "model.transformer.ln_f.weight": torch.ones(hidden),
        "model.transformer.ff_out.weight": weight(vocab, hidden),
    }
    for layer in range(layers):
        prefix = f"model.transformer.blocks.{layer}."
        for name, shape in {
            "q_proj": (hidden, hidden),
            "k_proj": (hidden, hidden),
            "v_proj": (hidden, hidden),
            "attn_out": (hidden, hidden),
            "ff_proj": (mlp, hidden),
            "up_proj": (mlp, hidden),
            "ff_out": (hidden, mlp),
        }.items():
            state[f"{prefix}{name}.weight"] = weight(*shape)
        state[f"{prefix}attn_norm.weight"] = torch.ones(hidden)
        state[f"{prefix}ff_norm.weight"] = torch.ones(hidden)
    save_file(state, llada_dir / "model.safetensors")
    backbone_dir = convert_llada_checkpoint(llada_dir, folder / "backbone")
    return backbone_dir, text_dir
