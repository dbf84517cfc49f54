"""``model_type: deftrec`` goes through the same trainer: its collator, loss, generate and save/reload."""

import json

import pytest
from training_support import tiny_arguments

from mindrec.pipeline import run
from mindrec.training.arguments import ModelArguments
from mindrec.training.model_io import load_trained_model


def test_deftrec_trains_saves_reloads_and_is_tested_next_to_popularity(tmp_path):
    arguments = tiny_arguments(
        tmp_path,
        model_type="deftrec",
        max_steps=3,
        eval_steps=3,
        deftrec_item_vector_dim=8,
        deftrec_inference_steps=5,
        deftrec_sampler="ddpm",
        deftrec_prediction_type="epsilon",
        deftrec_retrieval="inner_product",
        validation_max_users=10,
    )
    result = run(*arguments)
    assert set(result.test) == {"DeftRec", "popularity"}
    assert result.test["DeftRec"].item_lists.shape == (80, 5)
    assert result.test["DeftRec"].metrics["validity"] == 1.0
    config = json.loads((tmp_path / "final" / "config.json").read_text())
    assert (
        config["model_type"] == "deftrec" and config["num_items"] == 60 and config["num_inference_steps"] == 5
    )
    assert (config["sampler"], config["prediction_type"], config["retrieval"]) == ("ddpm", "epsilon", "inner_product")
    trained = load_trained_model(tmp_path / "best")
    assert trained.tokenizer is None and trained.run["model"]["model_type"] == "deftrec"
    assert trained.model.item_vectors.shape == (60, config["item_vector_dim"])


def test_deftrec_sampler_and_retrieval_arguments_are_checked():
    # The design chosen on beauty-full validation (docs/experiments/README.md), not DeftRecConfig's published defaults.
    defaults = ModelArguments()
    assert (defaults.deftrec_sampler, defaults.deftrec_prediction_type, defaults.deftrec_retrieval) == (
        "posterior_mean", "sample", "centered_cosine"
    )
    with pytest.raises(ValueError, match=r"`deftrec_sampler` must be one of \['posterior_mean', 'ddpm'\], got 'ddim'"):
        ModelArguments(deftrec_sampler="ddim")
    with pytest.raises(ValueError, match=r"`deftrec_retrieval` must be one of .*got 'dot'"):
        ModelArguments(deftrec_retrieval="dot")
