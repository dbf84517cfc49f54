"""Decoding-time recency adjustment of the retrieval head: its logits plus ``gamma * log(1 + how often the item is a
user's newest training interaction)``, next to the popularity adjustment, and the counts it reads. The option's
value checks are shared with the popularity adjustment and tested there, for both names."""

import pytest
import torch
from datasets import Dataset
from test_history_item_embeddings import CODES
from test_item_retrieval_head import head_model
from test_popularity_adjustment import COUNTS, inputs_of

from mindrec.baselines import latest_interaction_counts
from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.decoding_catalogue_scoring import catalogue_log_probs
from mindrec.training.model_setup import install_item_codes

RECENT = torch.tensor([5, 0, 2, 0, 1, 0])  # one per catalogue item of CODES


def test_latest_interaction_counts_count_the_last_history_item_of_each_row():
    # Validation rows: a history is the user's whole training sequence, so its last item is the user's newest.
    split = Dataset.from_dict(
        {"user_id": ["a", "b", "c", "d"], "history": [[0, 1, 2], [2], [4, 2], []], "target": [3, 0, 1, 2]}
    )
    assert latest_interaction_counts(split, num_items=5).tolist() == [0, 0, 3, 0, 0]
    reordered = split.select([3, 1, 0, 2])  # an index mapping over the same table
    assert latest_interaction_counts(reordered, num_items=5).tolist() == [0, 0, 3, 0, 0]
    with pytest.raises(ValueError, match=r"row 1 ends its history with item 7, outside 0..4"):
        latest_interaction_counts(Dataset.from_dict({"history": [[1], [0, 7]]}), num_items=5)
    with pytest.raises(ValueError, match="lacks the column 'history'"):
        latest_interaction_counts(Dataset.from_dict({"target": [1]}), num_items=5)


def test_set_item_counts_keeps_the_recent_counts_and_checks_them():
    model = head_model()
    model.set_item_counts(COUNTS)
    assert bool(torch.isnan(model.item_recent_log_counts).all())  # optional, unset until given
    model.set_item_counts(COUNTS, RECENT)
    torch.testing.assert_close(model.item_recent_log_counts, torch.log1p(RECENT.float()), atol=0, rtol=0)
    torch.testing.assert_close(model.item_log_counts, torch.log1p(COUNTS.float()), atol=0, rtol=0)
    with pytest.raises(ValueError, match=r"`recent_counts` must be \[6\]"):
        model.set_item_counts(COUNTS, RECENT[:4])
    with pytest.raises(ValueError, match=r"`recent_counts` must be finite and >= 0; item 1 has -2"):
        model.set_item_counts(COUNTS, torch.tensor([5, -2, 2, 0, 1, 0]))


def test_the_adjusted_head_adds_the_recent_log_counts_to_the_logits():
    model = head_model()
    model.set_item_counts(COUNTS, RECENT)
    inputs, users = inputs_of(model), torch.arange(3)
    plain = model.build_canvas_scorer(**inputs).item_log_probs(users)
    both = model.build_canvas_scorer(**inputs, popularity_adjustment=0.5, recency_adjustment=0.75).item_log_probs(users)
    expected = torch.log_softmax(plain - 0.5 * torch.log1p(COUNTS.float()) + 0.75 * torch.log1p(RECENT.float()), -1)
    torch.testing.assert_close(both, expected)
    # Item 0, the most frequent newest item, gains on every other item.
    assert bool((both[:, 0] - plain[:, 0] > 0).all())


def test_generate_ranks_by_generative_plus_weighted_adjusted_head():
    model = head_model()
    model.set_item_counts(COUNTS, RECENT)
    inputs = inputs_of(model)
    options = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6, num_return_items=6)
    output = model.generate(**inputs, **options, retrieval_weight=2.0, popularity_adjustment=0.3, recency_adjustment=1.5)
    scorer = model.build_canvas_scorer(**inputs)
    users = torch.arange(3)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), users), CODES)
    logits = scorer.item_log_probs(users) - 0.3 * torch.log1p(COUNTS.float()) + 1.5 * torch.log1p(RECENT.float())
    expected = (generative + 2.0 * torch.log_softmax(logits, -1)).topk(6)
    assert output.item_indices.tolist() == expected.indices.tolist()
    torch.testing.assert_close(output.scores, expected.values)
    zero = model.generate(**inputs, **options, retrieval_weight=2.0, recency_adjustment=0.0)
    plain = model.generate(**inputs, **options, retrieval_weight=2.0)
    torch.testing.assert_close(zero.scores, plain.scores, atol=0, rtol=0)


def test_the_recent_counts_travel_with_the_weights_and_an_older_checkpoint_loads_them_unset(tmp_path):
    from safetensors.torch import load_file, save_file

    model = head_model()
    model.set_item_counts(COUNTS, RECENT)
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.item_recent_log_counts, model.item_recent_log_counts, atol=0, rtol=0)
    weights = load_file(tmp_path / "model.safetensors")
    del weights["item_recent_log_counts"]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    older = MindRecForRecommendation.from_pretrained(tmp_path)
    assert bool(torch.isnan(older.item_recent_log_counts).all())
    torch.testing.assert_close(older.item_log_counts, model.item_log_counts, atol=0, rtol=0)
    with pytest.raises(ValueError, match=r"call `set_item_counts\(item_counts, recent_counts\)` first"):
        older.generate(**inputs_of(older), catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3,
                       num_return_items=3, retrieval_weight=1.0, recency_adjustment=0.5)


def test_recent_counts_need_the_training_counts():
    model = head_model()
    with pytest.raises(ValueError, match="`recent_counts` and `transition_counts` come with `item_counts`"):
        install_item_codes(model, None, recent_counts=RECENT)
