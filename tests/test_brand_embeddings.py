"""Brand embeddings (``num_brands``): a learned vector per brand added to every item's vector wherever the model uses
it (history items, the retrieval head's item vectors), so that items of one brand share what is learned about it."""

import logging

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from test_history_item_embeddings import CODES, batch_with_catalogue_history
from tiny import tiny_config

from mindrec.modeling import MindRecForRecommendation, MindRecModel

# One brand id per catalogue item of CODES: brand 0 has items 0 and 2, brand 2 item 4; items 1, 3 and 5 have none.
BRANDS = torch.tensor([0, -1, 0, -1, 2, -1])


def brand_config(**overrides):
    settings = dict(
        history_encoding="pooled", history_item_embeddings=True, num_items=6, prompt_attends_canvas=False,
        causal_prompt=True, item_retrieval_head=True, num_brands=3,
    )
    return tiny_config(**{**settings, **overrides})


def brand_model(**overrides):
    torch.manual_seed(0)
    model = MindRecForRecommendation(brand_config(**overrides)).eval()
    model.model.set_item_codes(CODES)
    model.set_item_brands(BRANDS)
    return model


def test_each_item_adds_its_brands_embedding_in_the_catalogue_and_in_the_history():
    model = brand_model()
    backbone = model.model
    table = backbone.brand_embeddings.weight
    brand_part = torch.stack([table[0], torch.zeros_like(table[0]), table[0], torch.zeros_like(table[0]), table[2],
                              torch.zeros_like(table[0])])
    offsets = torch.tensor(model.config.code_slot_offsets)
    expected = backbone.embed_tokens(offsets + CODES).sum(-2) + backbone.item_embeddings.weight + brand_part
    torch.testing.assert_close(backbone.catalogue_item_vectors(), expected, atol=1e-6, rtol=0)
    batch, items, valid = batch_with_catalogue_history(model)
    embeds = backbone.embed_inputs(batch["input_ids"], batch["history_code_ids"])
    placeholders = batch["input_ids"] == model.config.item_placeholder_token_id
    torch.testing.assert_close(embeds[placeholders], expected[items[valid]], atol=1e-6, rtol=0)
    # Both copies of the ids were written by the one call: the backbone's (embedding) and the head's (decoding).
    assert torch.equal(backbone.item_brand_ids, BRANDS) and torch.equal(model.item_brand_ids, BRANDS)


def test_item_id_dropout_keeps_the_brand():
    model = brand_model(item_id_dropout=0.99999).train()
    backbone = model.model
    brand_part = backbone.brand_vectors()
    torch.testing.assert_close(backbone.learned_item_vectors(), brand_part, atol=0, rtol=0)
    assert brand_part[[1, 3, 5]].abs().sum() == 0 and brand_part[[0, 2, 4]].abs().sum() > 0


def test_the_brand_rows_train_and_brandless_items_read_none():
    model = brand_model().train()
    batch, _, _ = batch_with_catalogue_history(model)
    model(**batch).loss.backward()
    gradient = model.model.brand_embeddings.weight.grad
    assert gradient[0].abs().sum() > 0 and gradient[2].abs().sum() > 0
    assert gradient[1].abs().sum() == 0  # no item has brand 1


def test_the_brands_travel_with_the_weights_and_load_with_the_backbone_alone(tmp_path):
    model = brand_model()
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.model.item_brand_ids, BRANDS) and torch.equal(loaded.item_brand_ids, BRANDS)
    batch, _, _ = batch_with_catalogue_history(model)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).item_logits, model(**inputs).item_logits, atol=0, rtol=0)
    backbone = MindRecModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(backbone.catalogue_item_vectors(), model.model.catalogue_item_vectors(), atol=0, rtol=0)


def test_errors_name_the_problem():
    torch.manual_seed(0)
    fresh = MindRecForRecommendation(brand_config())
    fresh.model.set_item_codes(CODES)
    with pytest.raises(ValueError, match="brands were never set: call `set_item_brands`"):
        fresh.model.catalogue_item_vectors()
    with pytest.raises(ValueError, match=r"holds brand id 3, but the model embeds `num_brands`=3 brands \(ids 0..2\)"):
        fresh.set_item_brands(torch.tensor([0, 1, 2, 3, -1, -1]))
    with pytest.raises(ValueError, match=r"must be \[6\]"):
        fresh.set_item_brands(BRANDS[:5])
    plain = MindRecForRecommendation(brand_config(num_brands=0))
    assert plain.model.brand_embeddings is None and plain.model.item_brand_ids is None
    with pytest.raises(ValueError, match="on the backbone is for models with `num_brands` > 0"):
        plain.model.set_item_brands(BRANDS)
    with pytest.raises(StrictDataclassClassValidationError, match="`num_brands` must be >= 0"):
        brand_config(num_brands=-1)
    with pytest.raises(StrictDataclassClassValidationError, match="`num_brands` > 0 needs `history_item_embeddings=True`"):
        tiny_config(num_brands=3)
    without_head = MindRecForRecommendation(brand_config(item_retrieval_head=False, num_brands=3))
    without_head.set_item_brands(BRANDS)  # the backbone's copy alone
    assert without_head.item_brand_ids is None and torch.equal(without_head.model.item_brand_ids, BRANDS)


def test_build_small_model_sizes_the_table_from_the_brands(caplog):
    from hub_support import CODE_TABLE

    from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer
    from mindrec.training.arguments import ModelArguments
    from mindrec.training.model_setup import build_small_model

    tokenizer = MindRecTokenizer.from_code_table(CODE_TABLE, history_encoding="pooled")
    brands = torch.arange(tokenizer.num_items) % 4 - 1  # ids -1, 0, 1, 2, -1, ...
    with_brands = ModelArguments(
        hidden_size=16, intermediate_size=32, history_encoding="pooled", history_item_embeddings=True,
        brand_embeddings=True,
    )
    model = build_small_model(tokenizer, with_brands, item_brand_ids=brands)
    assert model.config.num_brands == 3 and tuple(model.model.brand_embeddings.weight.shape) == (3, 16)
    assert torch.equal(model.model.item_brand_ids, brands)
    with pytest.raises(ValueError, match="needs the items' brands"):
        build_small_model(tokenizer, with_brands)
    # A catalogue without brands (MovieLens) still builds under a config that asks for them, with no brand table.
    with caplog.at_level(logging.WARNING, logger="mindrec.training.model_setup"):
        brandless = build_small_model(tokenizer, with_brands, item_brand_ids=torch.full((tokenizer.num_items,), -1))
    assert brandless.config.num_brands == 0 and brandless.model.brand_embeddings is None
    assert "no item of this catalogue has a brand" in caplog.text
    without = ModelArguments(hidden_size=16, intermediate_size=32, history_encoding="pooled", history_item_embeddings=True)
    assert build_small_model(tokenizer, without, item_brand_ids=brands).config.num_brands == 0
    with pytest.raises(ValueError, match="brand_embeddings needs history_item_embeddings=True"):
        ModelArguments(brand_embeddings=True)


def test_a_run_trains_saves_and_reloads_with_brand_embeddings(tmp_path):
    from training_support import tiny_arguments

    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_arguments(
        tmp_path, max_steps=2, eval_steps=2, history_item_embeddings=True, prompt_attends_canvas=False,
        causal_prompt=True, item_retrieval_head=True, brand_embeddings=True, history_cache="prompt_cache",
    )
    result = run(*arguments, accelerator=make_accelerator("no"))
    assert result.test["MindRec"].metrics["validity"] == 1.0
    loaded = MindRecForRecommendation.from_pretrained(result.train.best_dir)
    assert loaded.config.num_brands == int(loaded.model.item_brand_ids.max()) + 1 > 0
    assert torch.equal(loaded.model.item_brand_ids, loaded.item_brand_ids)


def test_the_autoregressive_twin_embeds_brands_once_installed():
    from mindrec.baselines.tiger import causal_config
    from mindrec.modeling.modeling_mindrec_autoregressive import MindRecForAutoregressiveRecommendation
    from mindrec.training.model_setup import install_item_brands

    model = MindRecForAutoregressiveRecommendation(causal_config(brand_config(item_retrieval_head=False))).eval()
    model.model.set_item_codes(CODES)
    with pytest.raises(ValueError, match="brands were never set"):
        model.model.catalogue_item_vectors()
    install_item_brands(model, BRANDS)
    assert torch.equal(model.model.item_brand_ids, BRANDS)
    torch.testing.assert_close(model.model.brand_vectors()[[1, 3, 5]], torch.zeros(3, model.config.hidden_size))
