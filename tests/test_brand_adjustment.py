"""Decoding-time brand credit (``brand_adjustment``): the head's logits plus ``mu / log(2 + brand size)`` for every item
whose brand is among the user's history items' brands, for MindRec's fused decoder and SASRec; the brand ids it reads,
and how they travel with the weights."""

import math

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file, save_file
from test_baseline_sasrec import NUM_ITEMS, successor_splits, tiny_config, tiny_model
from test_history_item_embeddings import CODES
from test_item_retrieval_head import head_config, head_model
from test_popularity_adjustment import COUNTS, inputs_of
from test_transition_adjustment import history_items

from mindrec.baselines import SASRecModel, SASRecTrainingArguments, train_sasrec
from mindrec.data import item_brand_ids, make_synthetic_dataset
from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.decoding_catalogue_scoring import catalogue_log_probs
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
from mindrec.modeling.item_brands import brand_credit, check_item_brand_ids
from mindrec.training.arguments import EvaluationArguments
from mindrec.training.model_setup import install_item_brands

# One brand id per catalogue item of CODES: brand 0 has items 0, 2 and 5, brand 1 item 1, brand 2 item 4; item 3 none.
BRANDS = torch.tensor([0, 1, 0, -1, 2, 0])
WEIGHT = {0: 1 / math.log(5), 1: 1 / math.log(3), 2: 1 / math.log(3)}  # 1 / log(2 + brand size)


def expected_credit(histories) -> torch.Tensor:
    """``[users, 6]`` by hand: an item's weight where its brand is the brand of one of the user's history items."""
    rows = []
    for history in histories:
        held = {int(BRANDS[item]) for item in history} - {-1}
        rows.append(torch.tensor([WEIGHT[int(b)] if int(b) in held else 0.0 for b in BRANDS]))
    return torch.stack(rows)


def brand_model():
    model = head_model()
    model.set_item_counts(COUNTS)
    model.set_item_brands(BRANDS)
    return model


def test_item_brand_ids_number_the_brands_in_order_and_fold_case_and_spaces():
    items = Dataset.from_dict({"item_id": list("abcdef"), "brand": ["Acme", "", " acme ", "Zed", "ZED", "Unknown"]})
    assert item_brand_ids(items).tolist() == [0, -1, 0, 1, 1, 2]
    with pytest.raises(ValueError, match=r"The item table has no `brand` column \(columns: \['item_id'\]\)"):
        item_brand_ids(Dataset.from_dict({"item_id": ["a"]}))


def test_the_credit_is_one_over_log_two_plus_the_brand_size_for_the_historys_brands():
    histories = [[0, 3], [3], [1, 4, 4], []]
    padded = torch.tensor([[-1, 0, 3], [-1, -1, 3], [1, 4, 4], [-1, -1, -1]])
    credit = brand_credit(BRANDS, padded)
    torch.testing.assert_close(credit, expected_credit(histories))
    # User 0 bought from brand 0: its three items share the credit of a three-item brand; the brandless item 3 in
    # the history credits nothing, nor does padding (user 3).
    assert credit[0].tolist() == pytest.approx([1 / math.log(5), 0, 1 / math.log(5), 0, 0, 1 / math.log(5)])
    assert credit[1].tolist() == [0.0] * 6 and credit[3].tolist() == [0.0] * 6
    # A catalogue without brands credits nothing.
    assert brand_credit(torch.full((6,), -1), padded).tolist() == [[0.0] * 6] * 4


def test_the_brand_ids_are_checked():
    assert check_item_brand_ids([0, -1, 3], 3).dtype == torch.long
    with pytest.raises(ValueError, match=r"must be \[6\] \(one brand id per item\), got \[5\]"):
        check_item_brand_ids(BRANDS[:5], 6)
    with pytest.raises(ValueError, match=r"integer brand ids \(-1 = no brand\), got dtype torch.float32"):
        check_item_brand_ids(BRANDS.float(), 6)
    with pytest.raises(ValueError, match=r"must be >= -1 \(-1 = no brand\); item 2 has -5"):
        check_item_brand_ids(torch.tensor([0, 1, -5]), 3)
    with pytest.raises(ValueError, match=r"needs the items' brands: call `set_item_brands` first"):
        head_model().brand_credit(torch.tensor([[0]]))


def test_the_adjusted_head_adds_mu_times_the_credit_to_its_logits():
    model = brand_model()
    inputs, users = inputs_of(model), torch.arange(3)
    plain = model.build_canvas_scorer(**inputs).item_log_probs(users)
    scorer = model.build_canvas_scorer(**inputs, brand_adjustment=2.5)
    credit = expected_credit(history_items())
    assert bool((credit > 0).any()) and bool((credit == 0).any())  # the test histories hold some brands, not all
    expected = torch.log_softmax(plain + 2.5 * credit, -1)
    torch.testing.assert_close(scorer.item_log_probs(users), expected)
    torch.testing.assert_close(scorer.item_log_probs(torch.tensor([2, 0])), expected[[2, 0]])


def test_generate_ranks_by_generative_plus_weighted_head_with_the_brand_credit():
    model = brand_model()
    inputs, users = inputs_of(model), torch.arange(3)
    options = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6, num_return_items=6)
    output = model.generate(**inputs, **options, retrieval_weight=2.0, popularity_adjustment=0.3, brand_adjustment=1.5)
    scorer = model.build_canvas_scorer(**inputs)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), users), CODES)
    logits = scorer.item_log_probs(users) - 0.3 * torch.log1p(COUNTS.float()) + 1.5 * expected_credit(history_items())
    expected = (generative + 2.0 * torch.log_softmax(logits, -1)).topk(6)
    assert output.item_indices.tolist() == expected.indices.tolist()
    torch.testing.assert_close(output.scores, expected.values)
    zero = model.generate(**inputs, **options, retrieval_weight=2.0, brand_adjustment=0.0)
    plain = model.generate(**inputs, **options, retrieval_weight=2.0)
    torch.testing.assert_close(zero.scores, plain.scores, atol=0, rtol=0)


def test_the_option_checks_its_value_and_needs_the_head():
    options = dict(decoding_strategy="catalogue_scoring", retrieval_weight=1.0)
    with pytest.raises(ValueError, match=r"`brand_adjustment` must be a finite number >= 0, got -1.0"):
        RecommendationGenerationConfig(**options, brand_adjustment=-1.0)
    with pytest.raises(ValueError, match=r"`brand_adjustment` adjusts the retrieval head's scores; it needs retrieval_weight > 0"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", brand_adjustment=1.0)
    with pytest.raises(ValueError, match=r"`brand_adjustment` > 0 adjusts the retrieval head's scores: it needs retrieval_weight > 0"):
        EvaluationArguments(strategy="catalogue_scoring", brand_adjustment=1.0)
    inputs = {key: value for key, value in inputs_of(brand_model()).items() if key != "history_code_ids"}
    with pytest.raises(ValueError, match="they need `history_code_ids`"):
        brand_model().build_canvas_scorer(**inputs, brand_adjustment=1.0)
    plain = MindRecForRecommendation(head_config(item_retrieval_head=False))
    assert plain.item_brand_ids is None
    with pytest.raises(ValueError, match="`set_item_brands` is for models with an item retrieval head"):
        plain.set_item_brands(BRANDS)
    install_item_brands(plain, BRANDS)  # a no-op for a model without the head


def test_the_brands_travel_with_the_weights_and_an_older_checkpoint_loads_them_unset(tmp_path):
    model = brand_model()
    model.save_pretrained(tmp_path / "new")
    loaded = MindRecForRecommendation.from_pretrained(tmp_path / "new")
    assert torch.equal(loaded.item_brand_ids, BRANDS)
    options = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3, num_return_items=3,
                   retrieval_weight=1.0, brand_adjustment=0.5)
    torch.testing.assert_close(loaded.generate(**inputs_of(loaded), **options).scores,
                               model.generate(**inputs_of(model), **options).scores, atol=0, rtol=0)
    # A checkpoint saved before the model kept brands.
    weights = load_file(tmp_path / "new" / "model.safetensors")
    del weights["item_brand_ids"]
    save_file(weights, tmp_path / "new" / "model.safetensors", metadata={"format": "pt"})
    older = MindRecForRecommendation.from_pretrained(tmp_path / "new")
    assert older.item_brand_ids.tolist() == [-2] * 6  # "never set", not whatever memory held
    with pytest.raises(ValueError, match="call `set_item_brands` first"):
        older.generate(**inputs_of(older), **options)
    install_item_brands(older, BRANDS)
    torch.testing.assert_close(older.generate(**inputs_of(older), **options).scores,
                               model.generate(**inputs_of(model), **options).scores, atol=0, rtol=0)


def sasrec_brands() -> torch.Tensor:
    """Brand of each of NUM_ITEMS items: items 3k, 3k+1 and 3k+2 share brand k, except the brandless items 0 and 29."""
    brands = torch.arange(NUM_ITEMS) // 3
    brands[0] = brands[29] = -1
    return brands


def test_sasrec_adds_the_same_credit_at_inference_only_and_keeps_the_brands_in_a_save(tmp_path):
    brands = sasrec_brands()
    plain, adjusted = tiny_model(), tiny_model(brand_adjustment=0.5)
    adjusted.load_state_dict(plain.state_dict(), strict=False)
    adjusted.set_item_brands(brands)
    histories = [[1, 2, 7], [0], [], [28, 29]]
    expected = plain.item_scores(histories)
    # User 0 holds brands 0 (items 1, 2: brand 0 has items 1, 2 in the catalogue) and 2 (items 6, 7, 8).
    expected[0, [1, 2]] += 0.5 / math.log(4)
    expected[0, [6, 7, 8]] += 0.5 / math.log(5)
    expected[3, [27, 28]] += 0.5 / math.log(4)  # brand 9 lost item 29 to "no brand"
    torch.testing.assert_close(adjusted.item_scores(histories), expected, atol=1e-6, rtol=0)
    adjusted.save_pretrained(tmp_path)
    reloaded = SASRecModel.from_pretrained(tmp_path).eval()
    assert torch.equal(reloaded.item_brand_ids, brands)
    assert torch.equal(reloaded.item_scores(histories), adjusted.item_scores(histories))


def test_sasrec_checks_the_option_and_training_installs_the_brands():
    with pytest.raises(ValueError, match=r"brand_adjustment must be a finite number >= 0, got -1"):
        tiny_config(brand_adjustment=-1)
    with pytest.raises(ValueError, match=r"call `set_item_brands` first"):
        tiny_model(brand_adjustment=1.0).item_scores([[1, 2]])
    with pytest.raises(ValueError, match=r"`set_item_brands` is for models with brand_adjustment > 0"):
        tiny_model().set_item_brands(sasrec_brands())
    splits, args = successor_splits(), SASRecTrainingArguments(num_epochs=1, show_progress=False)
    with pytest.raises(ValueError, match=r"brand_adjustment > 0 needs the items' brands \(item_brand_ids=\)"):
        train_sasrec(splits, NUM_ITEMS, tiny_config(num_items=None, brand_adjustment=1.0), args)
    with pytest.raises(ValueError, match="item_brand_ids were given but config.brand_adjustment is 0"):
        train_sasrec(splits, NUM_ITEMS, tiny_config(num_items=None), args, item_brand_ids=sasrec_brands())
    model, _ = train_sasrec(
        splits, NUM_ITEMS, tiny_config(num_items=None, brand_adjustment=1.0), args, item_brand_ids=sasrec_brands()
    )
    assert torch.equal(model.item_brand_ids, sasrec_brands())


def test_the_synthetic_catalogue_has_brands_to_credit():
    data = make_synthetic_dataset(num_users=30, num_items=40, seed=0)
    brands = item_brand_ids(data.items)
    assert brands.shape == (40,) and int(brands.min()) >= 0 and 1 < int(brands.max()) + 1 < 40
