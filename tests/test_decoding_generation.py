"""RecommendationGenerationConfig (own keys only, validation, round trip) and generate()."""

import json
from types import SimpleNamespace

import pytest
import torch
from reference_decoding import RandomScorer
from transformers import GenerationConfig

from mindrec.modeling.catalogue_index import CatalogueIndex
from mindrec.modeling.generation_mindrec import (
    MindRecGenerationMixin,
    RecommendationGenerationConfig,
    RecommendationOutput,
    recommend,
)

SIZES, LEVELS = [2, 3, 4], 1
CODES = torch.tensor([[0, 0, 0], [0, 1, 2], [1, 2, 3], [1, 0, 1], [0, 2, 1], [1, 1, 0]])


class TinyRecommender(MindRecGenerationMixin):
    """The mixin's contract, without a transformer: a config and build_canvas_scorer()."""

    def __init__(self):
        self.config = SimpleNamespace(code_slot_sizes=SIZES, num_category_levels=LEVELS)
        self.generation_config = RecommendationGenerationConfig(num_beams=3, num_return_items=2)
        self.scorer_calls = []

    def build_canvas_scorer(
        self, input_ids, attention_mask=None, history_code_ids=None, history_cache="exact"
    ):
        self.scorer_calls.append(history_cache)
        return RandomScorer(SIZES, LEVELS, input_ids.shape[0], seed=int(input_ids.sum()))


# --------------------------------------------------------------------------------------------------
# Config


def test_defaults_are_diffusion_beam_search_with_ten_beams_and_items():
    config = RecommendationGenerationConfig()
    assert (config.decoding_strategy, config.num_beams, config.num_return_items) == (
        "diffusion_beam_search",
        10,
        10,
    )
    assert (config.temperature, config.tokens_per_step, config.exclude_history) == (1.0, None, False)
    assert config.history_cache == "exact"


def test_config_round_trips_through_generation_config_json(tmp_path):
    config = RecommendationGenerationConfig(
        decoding_strategy="low_confidence",
        num_beams=7,
        num_return_items=5,
        temperature=0.5,
        tokens_per_step=2,
        exclude_history=True,
        history_cache="prompt_cache",
    )
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "generation_config.json").read_text())
    assert {key: value for key, value in saved.items() if key != "transformers_version"} == {
        "decoding_strategy": "low_confidence",
        "num_beams": 7,
        "num_return_items": 5,
        "temperature": 0.5,
        "tokens_per_step": 2,
        "exclude_history": True,
        "history_cache": "prompt_cache",
        "retrieval_weight": 0.0,
        "popularity_adjustment": 0.0,
        "recency_adjustment": 0.0,
        "transition_adjustment": 0.0,
        "brand_adjustment": 0.0,
        "transition_decay": 0.0,
        "transition_conditioning": 0.0,
        "transition_gap_decay": 0.0,
        "rare_item_generative_weight": 0.0,
    }
    loaded = RecommendationGenerationConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, RecommendationGenerationConfig) and loaded == config
    assert loaded.tokens_per_step == 2 and loaded.history_cache == "prompt_cache"


@pytest.mark.parametrize(
    "key, value",
    [
        ("do_sample", True),
        ("top_p", 0.9),
        ("top_k", 50),
        ("num_beam_groups", 2),
        ("diversity_penalty", 1.0),
        ("max_new_tokens", 7),
        ("num_return_sequences", 3),
        ("length_penalty", 1.0),
    ],
)
def test_text_generation_options_are_rejected(key, value):
    with pytest.raises(
        ValueError, match=rf"does not accept \['{key}'\]: text-generation options have no meaning"
    ):
        RecommendationGenerationConfig(**{key: value})
    with pytest.raises(ValueError, match=rf"does not accept \['{key}'\]"):
        RecommendationGenerationConfig().update(**{key: value})


def test_an_invalid_update_leaves_the_config_unchanged():
    config = RecommendationGenerationConfig(num_beams=5, num_return_items=5)
    with pytest.raises(ValueError, match=r"`num_beams` \(4\) must be >= `num_return_items` \(5\)"):
        config.update(num_beams=4, temperature=0.5)
    assert (config.num_beams, config.temperature) == (5, 1.0)


def test_unknown_options_are_rejected():
    with pytest.raises(ValueError, match=r"Unknown recommendation generation option\(s\) \['beam_width'\]"):
        RecommendationGenerationConfig(beam_width=4)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"decoding_strategy": "greedy"}, r"`decoding_strategy` must be one of .*got 'greedy'"),
        ({"num_return_items": 0}, "`num_return_items` must be an integer >= 1, got 0"),
        ({"num_beams": 0, "num_return_items": 1}, "`num_beams` must be an integer >= 1, got 0"),
        ({"num_beams": 2.0}, r"`num_beams` must be an integer >= 1, got 2.0"),
        ({"num_beams": True, "num_return_items": 1}, "`num_beams` must be an integer >= 1, got True"),
        ({"num_beams": 4, "num_return_items": 5}, r"`num_beams` \(4\) must be >= `num_return_items` \(5\)"),
        ({"temperature": 0.0}, "`temperature` must be a finite number > 0, got 0.0"),
        ({"temperature": float("inf")}, "`temperature` must be a finite number > 0, got inf"),
        ({"tokens_per_step": 2}, r"`tokens_per_step` only applies to decoding_strategy='low_confidence'"),
        (
            {"decoding_strategy": "low_confidence", "tokens_per_step": 0},
            "`tokens_per_step` must be an integer >= 1",
        ),
        ({"exclude_history": "yes"}, "`exclude_history` must be a bool, got 'yes'"),
        ({"history_cache": "kv"}, r"`history_cache` must be one of \('exact', 'prompt_cache'\), got 'kv'"),
    ],
)
def test_invalid_values_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        RecommendationGenerationConfig(**options)


def test_config_is_not_derived_from_a_model_config():
    with pytest.raises(NotImplementedError, match="not derived from a model config"):
        RecommendationGenerationConfig.from_model_config(SimpleNamespace())


# --------------------------------------------------------------------------------------------------
# generate() and recommend()


def test_generate_returns_recommendation_output_and_applies_overrides():
    model = TinyRecommender()
    input_ids = torch.tensor([[5, 6, 7], [8, 9, 10]])
    output = model.generate(input_ids, catalogue=CODES)
    assert isinstance(output, RecommendationOutput)
    assert output.item_indices.shape == (2, 2) and output.item_indices.dtype == torch.int64
    assert output.scores.dtype == torch.float32 and output.codes.shape == (2, 2, 3)
    # kwargs override the model's generation config without modifying it
    output = model.generate(
        input_ids, catalogue=CatalogueIndex(CODES, SIZES, LEVELS), num_beams=4, num_return_items=4
    )
    assert output.item_indices.shape == (2, 4)
    assert model.generation_config.num_beams == 3
    model.generate(input_ids, catalogue=CODES, history_cache="prompt_cache")
    assert model.scorer_calls == ["exact", "exact", "prompt_cache"]


def test_generate_equals_recommend_with_the_same_scorer():
    model = TinyRecommender()
    input_ids = torch.tensor([[1, 2], [3, 4]])
    config = RecommendationGenerationConfig(
        decoding_strategy="parallel_denoising", num_beams=3, num_return_items=3
    )
    via_generate = model.generate(
        input_ids, catalogue=CODES, generation_config=config, excluded_items=[[0], []]
    )
    scorer = RandomScorer(SIZES, LEVELS, 2, seed=int(input_ids.sum()))
    direct = recommend(scorer, CODES, 2, config, [[0], []])
    assert torch.equal(via_generate.item_indices, direct.item_indices)
    assert torch.equal(via_generate.scores, direct.scores)


def test_exclude_history_requires_the_history_items():
    model = TinyRecommender()
    input_ids = torch.tensor([[1, 2]])
    with pytest.raises(
        ValueError, match="`exclude_history` is set, so generate\\(\\) needs each user's history"
    ):
        model.generate(input_ids, catalogue=CODES, exclude_history=True)
    output = model.generate(input_ids, catalogue=CODES, exclude_history=True, excluded_items=[[0, 1, 2, 3]])
    assert set(output.item_indices[0].tolist()) == {4, 5}


def test_generate_rejects_bad_catalogues_and_options():
    model = TinyRecommender()
    input_ids = torch.tensor([[1, 2]])
    with pytest.raises(ValueError, match="generate\\(\\) needs the item catalogue"):
        model.generate(input_ids)
    other_layout = CatalogueIndex(torch.tensor([[0, 0, 0], [1, 1, 1]]), [2, 3, 5], LEVELS)
    with pytest.raises(
        ValueError, match=r"code_slot_sizes=\[2, 3, 5\].*a model/tokenizer pair whose code layouts differ"
    ):
        model.generate(input_ids, catalogue=other_layout)
    other_levels = CatalogueIndex(CODES, SIZES, 2)
    with pytest.raises(ValueError, match=r"num_category_levels=2\) differs from the model's"):
        model.generate(input_ids, catalogue=other_levels)
    with pytest.raises(
        ValueError, match=r"`num_return_items` \(7\) is larger than the catalogue \(6 items\)"
    ):
        model.generate(input_ids, catalogue=CODES, num_beams=7, num_return_items=7)
    with pytest.raises(ValueError, match=r"does not accept \['do_sample'\]"):
        model.generate(input_ids, catalogue=CODES, do_sample=True)
    with pytest.raises(ValueError, match="`tokens_per_step` only applies"):
        model.generate(input_ids, catalogue=CODES, tokens_per_step=2)
    with pytest.raises(TypeError, match="must be a RecommendationGenerationConfig or a GenerationConfig, got dict"):
        model.generate(input_ids, catalogue=CODES, generation_config={"num_beams": 3})
    with pytest.raises(ValueError, match=r"has 2 lists but the batch has 1 users"):
        model.generate(input_ids, catalogue=CODES, excluded_items=[[0], [1]])


def test_generate_accepts_a_plain_generation_config_of_known_keys():
    """GenerationConfig(num_beams=4, num_return_items=4) decodes exactly as the same options given as
    RecommendationGenerationConfig; unset options keep the model's (here decoding_strategy left_to_right)."""
    model = TinyRecommender()
    model.generation_config = RecommendationGenerationConfig(decoding_strategy="left_to_right", num_beams=3, num_return_items=2)
    input_ids = torch.tensor([[1, 2], [3, 4]])
    plain = model.generate(input_ids, catalogue=CODES, generation_config=GenerationConfig(num_beams=4, num_return_items=4))
    typed = model.generate(
        input_ids, catalogue=CODES,
        generation_config=RecommendationGenerationConfig(decoding_strategy="left_to_right", num_beams=4, num_return_items=4),
    )  # fmt: skip
    assert plain.item_indices.shape == (2, 4)
    assert torch.equal(plain.item_indices, typed.item_indices) and torch.equal(plain.scores, typed.scores)
    assert model.generation_config.num_beams == 3  # the model's config is not modified
    # kwargs still win over the plain config
    assert model.generate(input_ids, catalogue=CODES, generation_config=GenerationConfig(num_beams=4), num_return_items=1).item_indices.shape == (2, 1)
    with pytest.raises(ValueError, match=r"does not accept \['do_sample', 'top_k'\]"):
        model.generate(input_ids, catalogue=CODES, generation_config=GenerationConfig(num_beams=4, do_sample=True, top_k=3))
    with pytest.raises(ValueError, match=r"Unknown recommendation generation option\(s\) \['beam_width'\]"):
        model.generate(input_ids, catalogue=CODES, generation_config=GenerationConfig(beam_width=4))


def test_recommend_rejects_a_scorer_with_another_layout():
    scorer = RandomScorer([2, 3, 5], LEVELS, 1, seed=0)
    with pytest.raises(ValueError, match="a model/tokenizer pair whose code layouts differ"):
        recommend(scorer, CatalogueIndex(CODES, SIZES, LEVELS), 1)


def test_generation_config_travels_with_a_saved_model(tmp_path):
    from mindrec.modeling import MindRecConfig, MindRecForRecommendation

    config = MindRecConfig(
        vocab_size=7 + sum(SIZES),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_category_levels=LEVELS,
        num_sid_digits=len(SIZES) - LEVELS,
        code_slot_sizes=SIZES,
    )
    model = MindRecForRecommendation(config)
    assert isinstance(model.generation_config, RecommendationGenerationConfig)
    model.generation_config.update(decoding_strategy="left_to_right", num_beams=4, num_return_items=3)
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path)
    assert loaded.generation_config == model.generation_config
    mask = config.mask_token_id
    input_ids = torch.tensor([[config.bos_token_id, 7, 9, 12, config.sep_token_id] + [mask] * len(SIZES)])
    output = loaded.generate(input_ids, catalogue=CODES)
    assert output.item_indices.shape == (1, 3) and len(set(output.item_indices[0].tolist())) == 3
    assert ((output.item_indices >= 0) & (output.item_indices < CODES.shape[0])).all()
