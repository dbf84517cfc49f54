"""LLaDA checkpoint conversion against an independent plain-PyTorch LLaDA forward."""

import json
import math

import pytest
import torch
from safetensors.torch import save_file

from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.convert_llada import (
    convert_llada_checkpoint,
    convert_llada_state_dict,
    llada_config_to_mindrec,
)

TINY_LLADA = {
    "d_model": 32,
    "n_layers": 2,
    "n_heads": 4,
    "n_kv_heads": 4,
    "mlp_hidden_size": 48,
    "vocab_size": 50,
    "embedding_size": 50,
    "max_sequence_length": 64,
    "rope_theta": 500000.0,
    "rms_norm_eps": 1e-5,
    "mask_token_id": 40,
    "eos_token_id": 41,
    "pad_token_id": 41,
    "include_bias": False,
    "weight_tying": False,
    "layer_norm_type": "rms",
    "activation_type": "silu",
}


def tiny_llada_state_dict(seed=0):
    """Random weights under LLaDA's exact key names and shapes (modeling_llada.py layout)."""
    g = torch.Generator().manual_seed(seed)
    d, mlp, vocab = TINY_LLADA["d_model"], TINY_LLADA["mlp_hidden_size"], TINY_LLADA["embedding_size"]

    def w(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    sd = {
        "model.transformer.wte.weight": w(vocab, d),
        "model.transformer.ln_f.weight": 1 + w(d),
        "model.transformer.ff_out.weight": w(vocab, d),
    }
    for i in range(TINY_LLADA["n_layers"]):
        p = f"model.transformer.blocks.{i}."
        sd.update({
            p + "attn_norm.weight": 1 + w(d), p + "ff_norm.weight": 1 + w(d),
            p + "q_proj.weight": w(d, d), p + "k_proj.weight": w(d, d), p + "v_proj.weight": w(d, d),
            p + "attn_out.weight": w(d, d),
            p + "ff_proj.weight": w(mlp, d), p + "up_proj.weight": w(mlp, d), p + "ff_out.weight": w(d, mlp),
        })
    return sd


def llada_reference_logits(sd, input_ids):
    """LLaDA as published: pre-RMSNorm blocks, RoPE (half rotation), full (non-causal) attention,
    SwiGLU with ff_proj as the gate, untied ff_out head. One sequence, plain loops over heads."""
    eps, theta = TINY_LLADA["rms_norm_eps"], TINY_LLADA["rope_theta"]
    heads, d = TINY_LLADA["n_heads"], TINY_LLADA["d_model"]
    hd = d // heads

    def rms(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight

    def rope(x):  # x [T, hd]
        pos = torch.arange(x.shape[0], dtype=torch.float)
        inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float) / hd)
        ang = torch.cat([torch.outer(pos, inv)] * 2, dim=-1)
        x1, x2 = x[:, : hd // 2], x[:, hd // 2 :]
        return x * ang.cos() + torch.cat([-x2, x1], dim=-1) * ang.sin()

    x = sd["model.transformer.wte.weight"][input_ids]
    for i in range(TINY_LLADA["n_layers"]):
        p = f"model.transformer.blocks.{i}."
        h = rms(x, sd[p + "attn_norm.weight"])
        q, k, v = (h @ sd[p + name].T for name in ("q_proj.weight", "k_proj.weight", "v_proj.weight"))
        outs = []
        for head in range(heads):
            cols = slice(head * hd, (head + 1) * hd)
            qh, kh = rope(q[:, cols]), rope(k[:, cols])
            att = torch.softmax(qh @ kh.T / math.sqrt(hd), dim=-1)
            outs.append(att @ v[:, cols])
        x = x + torch.cat(outs, dim=-1) @ sd[p + "attn_out.weight"].T
        h = rms(x, sd[p + "ff_norm.weight"])
        gate = torch.nn.functional.silu(h @ sd[p + "ff_proj.weight"].T)
        x = x + (gate * (h @ sd[p + "up_proj.weight"].T)) @ sd[p + "ff_out.weight"].T
    return rms(x, sd["model.transformer.ln_f.weight"]) @ sd["model.transformer.ff_out.weight"].T


def test_config_fields_are_mapped():
    config = llada_config_to_mindrec(TINY_LLADA)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (32, 2, 4)
    assert (config.intermediate_size, config.vocab_size, config.max_position_embeddings) == (48, 50, 64)
    assert config.rope_parameters["rope_theta"] == 500000.0
    assert (config.mask_token_id, config.eos_token_id, config.pad_token_id) == (40, 41, 41)
    assert not config.is_causal and not config.tie_word_embeddings


def test_converted_logits_equal_reference_llada_forward():
    sd = tiny_llada_state_dict()
    model = MindRecForRecommendation(llada_config_to_mindrec(TINY_LLADA)).eval()
    model.load_state_dict(convert_llada_state_dict(sd, num_layers=2), strict=True)
    input_ids = torch.tensor([[3, 17, 40, 40, 8, 22, 41, 5, 9]])
    with torch.no_grad():
        ours = model(input_ids=input_ids).logits[0]
    torch.testing.assert_close(ours, llada_reference_logits(sd, input_ids[0]), atol=1e-5, rtol=0)


def test_checkpoint_folder_conversion_round_trip(tmp_path):
    source, target = tmp_path / "llada", tmp_path / "mindrec"
    source.mkdir()
    sd = tiny_llada_state_dict(seed=1)
    (source / "config.json").write_text(json.dumps(TINY_LLADA))
    keys = sorted(sd)
    save_file({k: sd[k] for k in keys[:10]}, str(source / "model-00001-of-00002.safetensors"))
    save_file({k: sd[k] for k in keys[10:]}, str(source / "model-00002-of-00002.safetensors"))
    convert_llada_checkpoint(source, target)
    model = MindRecForRecommendation.from_pretrained(target).eval()
    input_ids = torch.tensor([[1, 2, 3, 40, 40, 7]])
    with torch.no_grad():
        ours = model(input_ids=input_ids).logits[0]
    torch.testing.assert_close(ours, llada_reference_logits(sd, input_ids[0]), atol=1e-5, rtol=0)
    assert not list(target.glob("*.bin")) and not list(target.glob("*.pt"))


def test_missing_and_unexpected_keys_are_named():
    sd = tiny_llada_state_dict()
    del sd["model.transformer.blocks.1.up_proj.weight"]
    sd["model.transformer.blocks.0.attn_out.bias"] = torch.zeros(32)
    with pytest.raises(ValueError) as error:
        convert_llada_state_dict(sd, num_layers=2)
    message = str(error.value)
    assert "Missing keys: ['model.transformer.blocks.1.up_proj.weight']" in message
    assert "Unexpected keys: ['model.transformer.blocks.0.attn_out.bias']" in message


def test_unsupported_llada_settings_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="include_bias=True"):
        llada_config_to_mindrec({**TINY_LLADA, "include_bias": True})
    with pytest.raises(ValueError, match=r"lacks \['d_model'\]"):
        llada_config_to_mindrec({k: v for k, v in TINY_LLADA.items() if k != "d_model"})
    with pytest.raises(FileNotFoundError, match="config.json"):
        convert_llada_checkpoint(tmp_path, tmp_path / "out")
