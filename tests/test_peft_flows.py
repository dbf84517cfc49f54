"""The PEFT flows a Hugging Face user tries (docs/USAGE.md, "LoRA with PEFT").

* LoRA with the default ``task_type=None`` (a plain ``PeftModel``): ``generate()`` reaches the recommender
  and decodes exactly as the merged model does.
* ``AutoPeftModel.from_pretrained(adapter_dir, import_allowlist=["mindrec"])`` rebuilds base + adapter;
  without the allowlist PEFT refuses to import the base class (its safety rule), naming the option.
"""

import pytest
import torch
from peft import AutoPeftModel
from test_peft import perturb_adapter as perturb
from tiny import random_batch, tiny_model

from mindrec.training.peft_setup import apply_lora


def catalogue(config, num_items=24, seed=0):
    """``num_items`` distinct random codes of the tiny layout."""
    generator = torch.Generator().manual_seed(seed)
    rows = set()
    while len(rows) < num_items:
        rows.add(tuple(int(torch.randint(size, (1,), generator=generator)) for size in config.code_slot_sizes))
    return torch.tensor(sorted(rows))


def test_lora_without_task_type_generates_like_the_merged_model():
    peft_model = apply_lora(tiny_model(seed=1)).eval()
    assert peft_model.peft_config["default"].task_type is None
    perturb(peft_model)
    config = peft_model.get_base_model().config
    batch = random_batch(config)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    codes = catalogue(config)
    adapted = peft_model.generate(**inputs, catalogue=codes, num_beams=4, num_return_items=3)
    merged = peft_model.merge_and_unload().generate(**inputs, catalogue=codes, num_beams=4, num_return_items=3)
    base = tiny_model(seed=1).generate(**inputs, catalogue=codes, num_beams=4, num_return_items=3)
    assert adapted.item_indices.shape == (3, 3)
    assert torch.equal(adapted.item_indices, merged.item_indices)
    torch.testing.assert_close(adapted.scores, merged.scores, atol=1e-4, rtol=0)
    assert not torch.allclose(adapted.scores, base.scores, atol=1e-3)  # the adapter is really applied


def test_auto_peft_model_loads_an_adapter_with_the_mindrec_allowlist(tmp_path):
    tiny_model(seed=1).save_pretrained(tmp_path / "base")
    peft_model = apply_lora(tiny_model(seed=1)).eval()
    perturb(peft_model, seed=2)
    peft_model.peft_config["default"].base_model_name_or_path = str(tmp_path / "base")
    peft_model.save_pretrained(tmp_path / "adapter")
    batch = random_batch(peft_model.get_base_model().config)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    with pytest.raises(ValueError, match=r"import_allowlist=\['mindrec\.modeling\.modeling_mindrec'\]"):
        AutoPeftModel.from_pretrained(tmp_path / "adapter")
    loaded = AutoPeftModel.from_pretrained(tmp_path / "adapter", import_allowlist=["mindrec"]).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits, peft_model(**inputs).logits, atol=1e-6, rtol=0)
