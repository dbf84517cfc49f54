"""``rare_item_generative_weight`` kappa: in the fused one-pass score, the generative log-prob ``G(i)`` of an item with
``n_i`` training interactions counts ``1 + kappa / (1 + n_i)`` times around its mean over the catalogue."""

import pytest
import torch
from test_history_item_embeddings import CODES, batch_with_catalogue_history
from test_item_retrieval_head import head_model

import mindrec.modeling.decoding_catalogue_scoring as scoring
from mindrec.modeling.decoding_catalogue_scoring import catalogue_log_probs, catalogue_mean_log_probs
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
from mindrec.pipeline import generation_config_from
from mindrec.training.arguments import EvaluationArguments

COUNTS = torch.tensor([0, 1, 3, 10, 100, 7])  # one per catalogue item of CODES
FUSED = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6, num_return_items=6)


def inputs_of(model):
    batch, _, _ = batch_with_catalogue_history(model)
    return {key: value for key, value in batch.items() if key != "labels"}


def test_the_catalogue_mean_is_the_mean_of_every_items_score_even_beside_impossible_values():
    torch.manual_seed(0)
    log_probs = torch.log_softmax(torch.randn(4, 3, 5), dim=-1)
    log_probs[:, 1, 4] = float("-inf")  # a value no item holds may be impossible: it must not turn the mean to nan
    codes = torch.tensor([[0, 0, 1], [2, 1, 1], [2, 3, 0], [4, 0, 2], [1, 2, 3]])  # slot 1 never holds 4
    expected = catalogue_log_probs(log_probs, codes).mean(dim=1)
    torch.testing.assert_close(catalogue_mean_log_probs(log_probs, codes), expected)


def test_the_scorer_reads_the_rarity_from_the_training_counts():
    model = head_model()
    scorer = model.build_canvas_scorer(**inputs_of(model))
    with pytest.raises(ValueError, match="`rare_item_generative_weight` needs the items' training counts"):
        scorer.item_rarity()
    model.set_item_counts(COUNTS)
    torch.testing.assert_close(scorer.item_rarity(), 1 / (1 + COUNTS.float()))


@pytest.mark.parametrize("chunk", [None, 4])
def test_generate_ranks_by_the_reweighted_generative_score_plus_the_head(monkeypatch, chunk):
    if chunk is not None:  # a catalogue scored in several chunks must give the same scores
        monkeypatch.setattr(scoring, "_SCORES_PER_CHUNK", chunk)
    model = head_model()
    model.set_item_counts(COUNTS)
    inputs = inputs_of(model)
    output = model.generate(**inputs, **FUSED, retrieval_weight=2.0, rare_item_generative_weight=3.0)
    scorer = model.build_canvas_scorer(**inputs)
    users = torch.arange(3)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), users), CODES)  # [3, 6]
    rarity = 3.0 / (1 + COUNTS.float())
    reweighted = generative + rarity * (generative - generative.mean(dim=1, keepdim=True))
    expected = (reweighted + 2.0 * scorer.item_log_probs(users)).topk(6)
    assert output.item_indices.tolist() == expected.indices.tolist()
    torch.testing.assert_close(output.scores, expected.values)
    # kappa 0 is the plain fused decoder, to the bit.
    plain = model.generate(**inputs, **FUSED, retrieval_weight=2.0)
    zero = model.generate(**inputs, **FUSED, retrieval_weight=2.0, rare_item_generative_weight=0.0)
    torch.testing.assert_close(zero.scores, plain.scores, atol=0, rtol=0)


def test_a_large_weight_lets_the_generative_score_order_the_never_seen_item():
    # Item 0 was never seen in training: its generative score, scaled 1 + kappa times around the mean, moves it to
    # the top for users whose generative expert likes it better than the average item, and to the bottom otherwise.
    model = head_model()
    model.set_item_counts(COUNTS)
    inputs = inputs_of(model)
    scorer = model.build_canvas_scorer(**inputs)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), torch.arange(3)), CODES)
    above_mean = generative[:, 0] > generative.mean(dim=1)
    output = model.generate(**inputs, **FUSED, retrieval_weight=1.0, rare_item_generative_weight=1e4)
    rank_of_item_0 = (output.item_indices == 0).long().argmax(dim=1)
    assert rank_of_item_0.tolist() == [0 if above else 5 for above in above_mean.tolist()]


def test_the_weight_is_checked_by_name():
    with pytest.raises(ValueError, match="`rare_item_generative_weight` must be a finite number >= 0"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", retrieval_weight=1.0,
                                       rare_item_generative_weight=-1.0)
    with pytest.raises(ValueError, match="`rare_item_generative_weight` must be a finite number >= 0"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", retrieval_weight=1.0,
                                       rare_item_generative_weight=True)
    with pytest.raises(ValueError, match="weighs the generative score against the retrieval head's scores; it needs"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", rare_item_generative_weight=5.0)
    with pytest.raises(ValueError, match="`rare_item_generative_weight` > 0 weighs the generative score against"):
        EvaluationArguments(strategy="catalogue_scoring", rare_item_generative_weight=5.0)
    with pytest.raises(ValueError, match="`rare_item_generative_weight` must be >= 0"):
        EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=1.0, rare_item_generative_weight=-5.0)


def test_decoding_with_the_weight_needs_the_counts():
    model = head_model()  # counts never set
    with pytest.raises(ValueError, match="call `set_item_counts` first"):
        model.generate(**inputs_of(model), **FUSED, retrieval_weight=1.0, rare_item_generative_weight=5.0)


def test_the_evaluation_option_reaches_the_saved_generation_config(tmp_path):
    args = EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=100.0, rare_item_generative_weight=20.0)
    config = generation_config_from(args)
    assert config.rare_item_generative_weight == 20.0
    config.save_pretrained(tmp_path)
    assert RecommendationGenerationConfig.from_pretrained(tmp_path).rare_item_generative_weight == 20.0
