"""Item content features: a fixed vector per item (what its semantic ID quantises), projected and added to the
item's learned embedding wherever the model uses it (history items, the retrieval head's item vectors)."""

import numpy as np
import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from test_history_item_embeddings import CODES, batch_with_catalogue_history
from tiny import tiny_config

from mindrec.modeling import MindRecForRecommendation

FEATURES = torch.linspace(-1.0, 1.0, 6 * 3).reshape(6, 3)


def feature_config(**overrides):
    settings = dict(
        history_encoding="pooled", history_item_embeddings=True, num_items=6, prompt_attends_canvas=False,
        causal_prompt=True, item_retrieval_head=True, item_feature_size=3,
    )
    return tiny_config(**{**settings, **overrides})


def feature_model(**overrides):
    torch.manual_seed(0)
    model = MindRecForRecommendation(feature_config(**overrides)).eval()
    model.model.set_item_codes(CODES)
    model.model.set_item_features(FEATURES)
    return model


def test_the_projected_feature_is_added_to_the_catalogue_vectors_and_to_each_history_item():
    model = feature_model()
    backbone = model.model
    learned = backbone.item_embeddings.weight + FEATURES @ backbone.item_feature_proj.weight.T  # [6, d]
    offsets = torch.tensor(model.config.code_slot_offsets)
    expected = backbone.embed_tokens(offsets + CODES).sum(-2) + learned
    torch.testing.assert_close(backbone.catalogue_item_vectors(), expected, atol=1e-6, rtol=0)
    batch, items, valid = batch_with_catalogue_history(model)
    embeds = backbone.embed_inputs(batch["input_ids"], batch["history_code_ids"])
    placeholders = batch["input_ids"] == model.config.item_placeholder_token_id
    # A history item is embedded exactly as its catalogue vector (input and output share the representation).
    torch.testing.assert_close(embeds[placeholders], expected[items[valid]], atol=1e-6, rtol=0)


def test_the_features_change_the_head_and_receive_no_gradient():
    model = feature_model().train()
    batch, _, _ = batch_with_catalogue_history(model)
    out = model(**batch)
    out.loss.backward()
    assert model.model.item_features.grad is None and not model.model.item_features.requires_grad
    assert model.model.item_feature_proj.weight.grad.abs().sum() > 0
    other = feature_model()
    other.model.set_item_features(FEATURES.flip(0))
    with torch.no_grad():
        assert not torch.allclose(other.model.catalogue_item_vectors(), model.model.catalogue_item_vectors())


def test_the_features_travel_with_the_weights(tmp_path):
    model = feature_model()
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.model.item_features, FEATURES)
    batch, _, _ = batch_with_catalogue_history(model)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).item_logits, model(**inputs).item_logits, atol=0, rtol=0)


def test_errors_name_the_problem():
    torch.manual_seed(0)
    fresh = MindRecForRecommendation(feature_config())
    fresh.model.set_item_codes(CODES)
    with pytest.raises(ValueError, match="never set: call `set_item_features`"):
        fresh.model.catalogue_item_vectors()
    with pytest.raises(ValueError, match=r"`item_features` must be \[6, 3\], got \[6, 2\]"):
        fresh.model.set_item_features(FEATURES[:, :2])
    broken = FEATURES.clone()
    broken[4, 1] = float("inf")
    with pytest.raises(ValueError, match="not finite at item index 4"):
        fresh.model.set_item_features(broken)
    plain = MindRecForRecommendation(feature_config(item_feature_size=0))
    assert plain.model.item_features is None and plain.model.item_feature_proj is None
    with pytest.raises(ValueError, match="item_feature_size"):
        plain.model.set_item_features(FEATURES)
    with pytest.raises(StrictDataclassClassValidationError, match="`item_feature_size` must be >= 0"):
        feature_config(item_feature_size=-1)
    with pytest.raises(StrictDataclassClassValidationError, match="needs `history_item_embeddings=True`"):
        tiny_config(item_feature_size=3)


def test_build_small_model_installs_the_vectors_it_is_given():
    from hub_support import CODE_TABLE

    from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer
    from mindrec.training.arguments import ModelArguments
    from mindrec.training.model_setup import build_small_model

    tokenizer = MindRecTokenizer.from_code_table(CODE_TABLE, history_encoding="pooled")
    shape = (tokenizer.num_items, 5)
    vectors = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 100
    with_features = ModelArguments(
        hidden_size=16, intermediate_size=32, history_encoding="pooled", history_item_embeddings=True,
        item_content_features=True,
    )
    model = build_small_model(tokenizer, with_features, item_features=vectors)
    assert model.config.item_feature_size == 5
    assert torch.equal(model.model.item_features, torch.from_numpy(vectors))
    with pytest.raises(ValueError, match="needs the items' content vectors"):
        build_small_model(tokenizer, with_features)
    without = ModelArguments(hidden_size=16, intermediate_size=32, history_encoding="pooled", history_item_embeddings=True)
    with pytest.raises(ValueError, match="item_content_features is False"):
        build_small_model(tokenizer, without, item_features=vectors)
    with pytest.raises(ValueError, match=r"must be \[num_items, dim\]"):
        build_small_model(tokenizer, with_features, item_features=vectors[:, 0])
    with pytest.raises(ValueError, match="item_content_features needs history_item_embeddings=True"):
        ModelArguments(item_content_features=True)


def test_the_content_vectors_are_the_ones_the_codes_quantise():
    from dataclasses import asdict

    from training_support import tiny_arguments

    from mindrec.tokenization.collaborative import combine_item_vectors, cooccurrence_item_vectors
    from mindrec.tokenization.text_embeddings import embed_items
    from mindrec.training.arguments import CodeArguments
    from mindrec.training.data_setup import item_content_vectors, load_data, load_or_build_code_table

    data_args, code_args = tiny_arguments("unused", collaborative_weight=0.5, collaborative_dim=4)[:2]
    data = load_data(data_args)
    vectors = item_content_vectors(data, code_args, show_progress=False)
    text = embed_items(list(data.items), "tfidf-svd", seed=code_args.code_seed, show_progress=False).vectors
    train = data.splits["train"]
    cooccurrence = cooccurrence_item_vectors(train["history"], train["target"], data.num_items, dim=4, seed=code_args.code_seed)
    np.testing.assert_allclose(vectors, combine_item_vectors(text, cooccurrence, 0.5), atol=1e-6)
    text_only = item_content_vectors(data, CodeArguments(**{**asdict(code_args), "collaborative_weight": 0.0}), False)
    np.testing.assert_array_equal(text_only, text)
    assert vectors.shape[0] == data.num_items and vectors.dtype == np.float32
    built = load_or_build_code_table(data, code_args, show_progress=False)
    given = load_or_build_code_table(data, code_args, show_progress=False, item_vectors=vectors)
    assert given["codes"] == built["codes"]


def test_a_run_trains_saves_and_reloads_with_content_features(tmp_path):
    from training_support import tiny_arguments

    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_arguments(
        tmp_path, max_steps=2, eval_steps=2, history_item_embeddings=True, prompt_attends_canvas=False,
        causal_prompt=True, item_retrieval_head=True, item_content_features=True, collaborative_weight=0.5,
        collaborative_dim=4, history_cache="prompt_cache",
    )
    result = run(*arguments, accelerator=make_accelerator("no"))
    assert result.test["MindRec"].metrics["validity"] == 1.0
    loaded = MindRecForRecommendation.from_pretrained(result.train.best_dir)
    assert loaded.config.item_feature_size == loaded.model.item_features.shape[1] > 0
    assert bool(torch.isfinite(loaded.model.item_features).all())
