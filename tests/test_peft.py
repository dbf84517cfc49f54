"""LoRA on the backbone: explicit targets, item-token rows trainable, save -> reload -> merge identical."""

import pytest
import torch
from peft import PeftModel
from tiny import random_batch, tiny_model

from mindrec.training.peft_setup import LORA_TARGET_MODULES, apply_lora, item_token_ids, lora_config


def perturb_adapter(peft_model, seed=0):
    """LoRA B starts at zero (a no-op); give every trainable tensor random values so the test can fail."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in peft_model.parameters():
            if param.requires_grad:
                param.add_(torch.randn(param.shape, generator=g) * 0.1)


def test_targets_every_attention_and_mlp_projection():
    model = tiny_model()
    peft_model = apply_lora(model)
    lora_layers = {name.rsplit(".", 1)[0] for name, _ in peft_model.named_parameters() if "lora_A" in name}
    assert len(lora_layers) == len(LORA_TARGET_MODULES) * model.config.num_hidden_layers
    for target in LORA_TARGET_MODULES:
        assert sum(f".{target}." in name + "." for name in lora_layers) == model.config.num_hidden_layers
    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert all("lora_" in name or "token_adapter" in name for name in trainable), trainable
    assert any("embed_tokens" in name for name in trainable) and any("lm_head" in name for name in trainable)


def test_item_token_rows_train_and_other_rows_stay_frozen():
    model = tiny_model()
    before_embed = model.model.embed_tokens.weight.detach().clone()
    peft_model = apply_lora(model)
    perturb_adapter(peft_model)
    merged = peft_model.merge_and_unload()
    after = merged.model.embed_tokens.weight.detach()
    ids = item_token_ids(merged)
    special = [i for i in range(merged.config.vocab_size) if i not in ids]
    assert torch.equal(after[special], before_embed[special])
    assert not torch.allclose(after[ids], before_embed[ids])


def test_adapter_save_reload_merge_gives_identical_logits(tmp_path):
    batch = random_batch(tiny_model().config)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    peft_model = apply_lora(tiny_model(seed=1)).eval()
    perturb_adapter(peft_model, seed=2)
    with torch.no_grad():
        expected = peft_model(**inputs).logits
        base = tiny_model(seed=1)(**inputs).logits
    assert not torch.allclose(expected, base, atol=1e-4)  # the adapter really changes the model
    peft_model.save_pretrained(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()

    reloaded = PeftModel.from_pretrained(tiny_model(seed=1), tmp_path / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, expected, atol=1e-6, rtol=0)
        merged = reloaded.merge_and_unload()
        torch.testing.assert_close(merged(**inputs).logits, expected, atol=1e-5, rtol=0)


def test_loss_flows_into_adapter_only():
    model = tiny_model()
    peft_model = apply_lora(model, r=4, alpha=8, dropout=0.0)
    out = peft_model(**random_batch(model.config), generator=torch.Generator().manual_seed(0))
    out.loss.backward()
    grads = {n: p.grad for n, p in peft_model.named_parameters() if p.requires_grad}
    assert grads and all(g is not None for g in grads.values())
    assert all(p.grad is None for n, p in peft_model.named_parameters() if not p.requires_grad)


def test_unknown_target_module_is_an_error():
    model = tiny_model()
    config = lora_config(model, target_modules=("q_proj", "o_proj", "gate_proj", "ff_out"))
    with pytest.raises(ValueError, match=r"LoRA target modules \['ff_out'\] match no module"):
        apply_lora(model, config)
