"""Decoding-time popularity adjustment (logit adjustment) of the retrieval head: the head's logits minus
``beta * log(1 + training count)`` before its softmax, fused with the generative score as before."""

import pytest
import torch
from test_history_item_embeddings import CODES, batch_with_catalogue_history
from test_item_retrieval_head import head_config, head_model

from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.decoding_catalogue_scoring import catalogue_log_probs
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
from mindrec.training.arguments import EvaluationArguments

COUNTS = torch.tensor([0, 1, 3, 10, 100, 7])  # one per catalogue item of CODES


def inputs_of(model):
    batch, _, _ = batch_with_catalogue_history(model)
    return {key: value for key, value in batch.items() if key != "labels"}


def test_set_item_counts_keeps_log_one_plus_count_and_checks_it():
    model = head_model()
    assert bool(torch.isnan(model.item_log_counts).all())  # unset
    model.set_item_counts(COUNTS)
    torch.testing.assert_close(model.item_log_counts, torch.log1p(COUNTS.float()), atol=0, rtol=0)
    with pytest.raises(ValueError, match=r"must be \[6\]"):
        model.set_item_counts(COUNTS[:5])
    with pytest.raises(ValueError, match="item 2 has -1"):
        model.set_item_counts(torch.tensor([0, 1, -1, 10, 100, 7]))
    torch.manual_seed(0)
    plain = MindRecForRecommendation(head_config(item_retrieval_head=False))
    assert plain.item_log_counts is None
    with pytest.raises(ValueError, match="item retrieval head"):
        plain.set_item_counts(COUNTS)


def test_the_adjusted_head_is_the_softmax_of_the_discounted_logits():
    model = head_model()
    model.set_item_counts(COUNTS)
    inputs, users = inputs_of(model), torch.arange(3)
    plain = model.build_canvas_scorer(**inputs).item_log_probs(users)
    adjusted = model.build_canvas_scorer(**inputs, popularity_adjustment=0.5).item_log_probs(users)
    # log_softmax is shift-invariant, so the plain log-probs stand in for the logits.
    torch.testing.assert_close(adjusted, torch.log_softmax(plain - 0.5 * torch.log1p(COUNTS.float()), -1))
    # An item never seen in training (count 0) is not discounted, so it gains on every other item.
    assert bool((adjusted[:, 0] - plain[:, 0] > 0).all())


def test_generate_ranks_by_generative_plus_weighted_adjusted_head():
    model = head_model()
    model.set_item_counts(COUNTS)
    inputs = inputs_of(model)
    output = model.generate(
        **inputs, catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6, num_return_items=6,
        retrieval_weight=2.0, popularity_adjustment=0.8,
    )
    scorer = model.build_canvas_scorer(**inputs)
    users = torch.arange(3)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), users), CODES)
    head = torch.log_softmax(scorer.item_log_probs(users) - 0.8 * torch.log1p(COUNTS.float()), -1)
    expected = (generative + 2.0 * head).topk(6)
    assert output.item_indices.tolist() == expected.indices.tolist()
    torch.testing.assert_close(output.scores, expected.values)
    # A large beta puts the never-seen item 0 first for every user; beta 0 is the plain fused decoder.
    strong = model.generate(**inputs, catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6,
                            num_return_items=6, retrieval_weight=100.0, popularity_adjustment=50.0)
    assert strong.item_indices[:, 0].tolist() == [0, 0, 0]
    plain = model.generate(**inputs, catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6,
                           num_return_items=6, retrieval_weight=2.0)
    zero = model.generate(**inputs, catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6,
                          num_return_items=6, retrieval_weight=2.0, popularity_adjustment=0.0)
    torch.testing.assert_close(zero.scores, plain.scores, atol=0, rtol=0)


def test_the_counts_travel_with_the_weights(tmp_path):
    model = head_model()
    model.set_item_counts(COUNTS)
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.item_log_counts, model.item_log_counts, atol=0, rtol=0)


@pytest.mark.parametrize("name", ["popularity_adjustment", "recency_adjustment", "transition_adjustment"])
def test_the_head_adjustments_reject_bad_values_by_name(name):
    with pytest.raises(ValueError, match=f"`{name}` must be a finite number >= 0"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", retrieval_weight=1.0, **{name: -0.1})
    with pytest.raises(ValueError, match=f"{name}=0.5 with retrieval_weight=0.0"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", **{name: 0.5})
    with pytest.raises(ValueError, match=f"`{name}` > 0 adjusts the retrieval head's scores: it needs retrieval_weight > 0"):
        EvaluationArguments(strategy="catalogue_scoring", **{name: 0.5})
    with pytest.raises(ValueError, match=f"`{name}` must be >= 0"):
        EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=1.0, **{name: -1.0})


def test_decoding_with_the_adjustment_needs_the_counts():
    model = head_model()  # counts never set
    with pytest.raises(ValueError, match="call `set_item_counts` first"):
        model.generate(**inputs_of(model), catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3,
                       num_return_items=3, retrieval_weight=1.0, popularity_adjustment=0.5)


def test_a_checkpoint_saved_before_the_counts_existed_loads_them_as_unset(tmp_path):
    from safetensors.torch import load_file, save_file

    model = head_model()
    model.set_item_counts(COUNTS)
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    del weights["item_log_counts"]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    loaded = MindRecForRecommendation.from_pretrained(tmp_path)
    assert bool(torch.isnan(loaded.item_log_counts).all())  # not whatever memory held
    torch.testing.assert_close(loaded.model.item_code_keys, model.model.item_code_keys, atol=0, rtol=0)
    with pytest.raises(ValueError, match="call `set_item_counts` first"):
        loaded.generate(**inputs_of(loaded), catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3,
                        num_return_items=3, retrieval_weight=1.0, popularity_adjustment=0.5)
    # Without the adjustment the old checkpoint decodes as before.
    plain = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3, num_return_items=3,
                 retrieval_weight=1.0)
    torch.testing.assert_close(loaded.generate(**inputs_of(loaded), **plain).scores,
                               model.generate(**inputs_of(model), **plain).scores)
