"""Per-item history embeddings: each pooled history item adds its own learned embedding, found by code."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from test_training_views import pooled_batch
from tiny import tiny_config

from mindrec.modeling import MindRecForRecommendation

# 6 catalogue items (slot values of the 2 + 3 slot layout [3, 4, 8, 8, 8]); pooled_batch uses some of them.
CODES = torch.tensor([[0, 1, 2, 3, 4], [2, 3, 7, 0, 1], [1, 0, 5, 5, 5], [0, 0, 0, 0, 0], [2, 2, 2, 2, 2], [1, 1, 1, 1, 1]])


def item_model(**overrides):
    torch.manual_seed(0)
    config = tiny_config(history_encoding="pooled", history_item_embeddings=True, num_items=6, **overrides)
    model = MindRecForRecommendation(config).eval()
    model.model.set_item_codes(CODES)
    return model


def batch_with_catalogue_history(model):
    batch = pooled_batch(model.config)
    offsets = torch.tensor(model.config.code_slot_offsets)
    history = batch["history_code_ids"]
    real = history != model.config.pad_token_id
    items = torch.tensor([[0, 0, 3], [1, 4, 5], [0, 2, 1]])  # item index of every history slot
    batch["history_code_ids"] = torch.where(real, offsets + CODES[items], history)
    return batch, items, real.any(-1)


def test_each_history_item_adds_its_own_embedding():
    model = item_model()
    batch, items, valid = batch_with_catalogue_history(model)
    embeds = model.model.embed_inputs(batch["input_ids"], batch["history_code_ids"])
    placeholders = batch["input_ids"] == model.config.item_placeholder_token_id
    codes_sum = model.model.embed_tokens(batch["history_code_ids"]).sum(-2)
    expected = (codes_sum + model.model.item_embeddings(items))[valid]
    torch.testing.assert_close(embeds[placeholders], expected)
    indices = model.model.history_item_indices(batch["history_code_ids"], valid)
    assert indices[valid].tolist() == items[valid].tolist()


def test_item_codes_travel_with_the_weights(tmp_path):
    model = item_model()
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.model.item_code_keys, model.model.item_code_keys)
    batch, _, _ = batch_with_catalogue_history(model)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(**{k: v for k, v in batch.items() if k != "labels"}).logits,
            model(**{k: v for k, v in batch.items() if k != "labels"}).logits,
        )


def test_errors_name_the_problem():
    model = item_model()
    batch, _, _ = batch_with_catalogue_history(model)
    unknown = batch["history_code_ids"].clone()
    unknown[1, 0] = torch.tensor(model.config.code_slot_offsets) + torch.tensor([2, 3, 7, 7, 7])
    with pytest.raises(ValueError, match="not in the model's catalogue"):
        model.model.embed_inputs(batch["input_ids"], unknown)
    with pytest.raises(ValueError, match="two items share a code"):
        model.model.set_item_codes(torch.cat([CODES[:5], CODES[:1]]))
    with pytest.raises(ValueError, match=r"must be \[6, 5\]"):
        model.model.set_item_codes(CODES[:4])
    torch.manual_seed(0)
    fresh = MindRecForRecommendation(tiny_config(history_encoding="pooled", history_item_embeddings=True, num_items=6))
    with pytest.raises(ValueError, match="set_item_codes"):
        fresh.model.embed_inputs(batch["input_ids"], batch["history_code_ids"])
    with pytest.raises(StrictDataclassClassValidationError, match="num_items"):
        tiny_config(history_encoding="pooled", history_item_embeddings=True)
    with pytest.raises(StrictDataclassClassValidationError, match="pooled"):
        tiny_config(history_item_embeddings=True, num_items=6)


def test_a_run_trains_saves_and_tests_with_item_embeddings_and_every_lever(tmp_path):
    """End to end through the pipeline: prompt isolation, a causal prompt, packed views, item embeddings and
    collaborative codes train, save, reload (item codes included) and decode valid, distinct items."""
    from training_support import tiny_arguments

    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_arguments(
        tmp_path, max_steps=4, eval_steps=2, history_item_embeddings=True, prompt_attends_canvas=False,
        causal_prompt=True, num_path_views=2, num_random_views=1, collaborative_weight=0.5,
        collaborative_dim=4, history_cache="prompt_cache",
    )
    result = run(*arguments, accelerator=make_accelerator("no"))
    evaluation = result.test["MindRec"]
    assert evaluation.metrics["validity"] == 1.0
    lists = evaluation.item_lists.tolist()
    assert all(len(set(items)) == len(items) for items in lists)  # distinct items per user
    loaded = MindRecForRecommendation.from_pretrained(result.train.best_dir)
    assert loaded.config.history_item_embeddings and loaded.config.num_path_views == 2
    assert bool((loaded.model.item_code_keys >= 0).all())
