"""LLM setting end to end on a tiny LLaDA-layout backbone and a tiny text tokenizer: item tokens added,
LoRA training, adapter-only checkpoints, save -> reload -> identical logits -> valid recommendations."""

import pytest
import torch
from safetensors import safe_open
from training_support import TEXT_MASK_ID, make_tiny_llada, tiny_arguments

from mindrec.modeling import MindRecForRecommendation
from mindrec.pipeline import build_run, evaluate_saved_model
from mindrec.training.checkpointing import checkpoints_root, list_checkpoints
from mindrec.training.collator import MindRecCollator
from mindrec.training.model_io import load_trained_model, save_trained_model
from mindrec.training.model_unwrap import unwrap_task_model
from mindrec.training.trainer import Trainer, make_accelerator


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llm")
    backbone, text = make_tiny_llada(folder)
    arguments = tiny_arguments(
        folder / "run",
        model_setting="llm",
        backbone_path=str(backbone),
        text_tokenizer_path=str(text),
        history_encoding="tokens",
        synthetic_num_users=40,
        max_steps=4,
        train_batch_size=8,
        learning_rate=1e-2,
        eval_steps=4,
        validation_max_users=8,
    )
    accelerator = make_accelerator("no")
    data, model, tokenizer, generation_config, task, signature = build_run(*arguments, accelerator)
    _, _, _, train_args, eval_args = arguments

    def save(directory, trained_model):
        save_trained_model(
            directory,
            trained_model,
            tokenizer,
            generation_config,
            {"model": {"backbone_path": str(backbone)}},
        )

    trainer = Trainer(
        model,
        task,
        data.splits["train"],
        data.splits["validation"],
        train_args,
        eval_args,
        signature,
        save,
        accelerator,
    )
    output = trainer.train()
    return {
        "folder": folder,
        "backbone": backbone,
        "data": data,
        "tokenizer": tokenizer,
        "trainer": trainer,
        "output": output,
        "eval_args": eval_args,
    }


def test_item_tokens_extend_the_backbone_vocabulary(trained):
    tokenizer = trained["tokenizer"]
    backbone = MindRecForRecommendation.from_pretrained(trained["backbone"])
    old_vocab = backbone.config.vocab_size
    config = unwrap_task_model(trained["trainer"].model).config
    assert tokenizer.code_token_offset == old_vocab == len(tokenizer.text_tokenizer) + 4
    assert config.code_token_offset == old_vocab and config.vocab_size == old_vocab + sum(
        config.code_slot_sizes
    )
    assert config.mask_token_id == TEXT_MASK_ID and config.code_slot_sizes == tokenizer.code_slot_sizes
    tokenizer.check_compatible(config)


def test_training_templates_are_drawn_per_row_and_evaluation_uses_template_zero(trained):
    tokenizer = trained["tokenizer"]
    assert tokenizer.num_templates == 17
    draws = MindRecCollator(tokenizer).template_indices(200, torch.Generator().manual_seed(0))
    assert len(set(draws)) == 17
    assert MindRecCollator(tokenizer, random_templates=False).template_indices(5, None) == 0


def test_checkpoints_hold_only_the_trainable_weights(trained):
    checkpoint = list_checkpoints(checkpoints_root(trained["trainer"].output_dir))[-1]
    with safe_open(checkpoint / "model.safetensors", "pt") as handle:
        keys = list(handle.keys())
    assert keys and all("lora_" in key or "token_adapter" in key for key in keys)
    model = trained["trainer"].model
    assert len(keys) == sum(parameter.requires_grad for parameter in model.parameters())


def test_saved_adapter_reloads_to_identical_logits_and_valid_recommendations(trained):
    final = trained["output"].final_dir
    assert (final / "adapter_config.json").is_file() and not (final / "model.safetensors").exists()
    tokenizer = trained["tokenizer"]
    inputs = tokenizer([[0, 1, 2], [5]], return_tensors="pt")
    peft_model = trained["trainer"].model.eval()
    reloaded = load_trained_model(final)
    with torch.no_grad():
        expected = peft_model(**inputs).logits
        torch.testing.assert_close(reloaded.model(**inputs).logits, expected, atol=1e-5, rtol=1e-5)
        base = MindRecForRecommendation.from_pretrained(trained["backbone"])
        old_vocab = base.config.vocab_size
        # Pretrained rows are frozen; the item rows were trained away from their common mean start.
        assert torch.equal(
            reloaded.model.model.embed_tokens.weight[:old_vocab], base.model.embed_tokens.weight
        )
        item_rows = reloaded.model.model.embed_tokens.weight[old_vocab:]
        assert not torch.allclose(item_rows, item_rows[0].expand_as(item_rows))

    results, _ = evaluate_saved_model(
        final, trained["data"], trained["eval_args"], make_accelerator("no"), "test", False
    )
    model_result = results["MindRec"]
    assert model_result.item_lists.shape == (40, 5)
    assert model_result.metrics["validity"] == 1.0
