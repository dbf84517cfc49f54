"""Decoding-time transition adjustment of the retrieval head: its logits plus ``lambda * log(1 + how often the item
directly followed the user's last history item in the training sequences)``, the sparse table it reads, and how
that table travels with the weights. The option's value checks are shared with the popularity adjustment and
tested there, for every name."""

import pytest
import torch
from datasets import Dataset
from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError
from test_history_item_embeddings import CODES, batch_with_catalogue_history
from test_item_retrieval_head import head_config, head_model
from test_popularity_adjustment import COUNTS, inputs_of

from mindrec.baselines import transition_counts
from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.decoding_catalogue_scoring import catalogue_log_probs
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
from mindrec.modeling.item_transitions import recency_weights, transition_table
from mindrec.training.arguments import EvaluationArguments
from mindrec.training.model_setup import install_item_codes

# previous item (row) x next item (column), for the six catalogue items of CODES
TRANSITIONS = torch.tensor(
    [
        [0, 2, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0],
        [4, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 7, 0],
        [0, 3, 0, 0, 0, 2],
        [0, 0, 0, 0, 0, 0],
    ]
)


def transition_model():
    model = head_model()
    model.set_item_counts(COUNTS)
    model.set_item_transitions(TRANSITIONS)
    return model


def history_items():
    """Each test user's history items, oldest first, read by hand from the batch's item grid and padding."""
    _, items, valid = batch_with_catalogue_history(head_model())
    return [row[mask].tolist() for row, mask in zip(items, valid, strict=True)]


def expected_bonus(decay: float) -> torch.Tensor:
    """``[users, items]``: sum over each user's history, newest first, of decay**k * log(1 + transitions after it)."""
    rows = []
    for history in history_items():
        bonus = torch.zeros(6)
        for k, item in enumerate(reversed(history)):
            bonus += (decay**k if k else 1.0) * torch.log1p(TRANSITIONS[item].float())
        rows.append(bonus)
    return torch.stack(rows)


def test_transition_counts_count_each_rows_last_history_item_and_target():
    split = Dataset.from_dict({"history": [[0, 1, 2], [2], [4, 2], [], [3, 2]], "target": [3, 0, 3, 1, 3]})
    counts = transition_counts(split, num_items=5)
    assert counts.is_sparse and counts.is_coalesced()
    expected = torch.zeros(5, 5, dtype=torch.long)
    expected[2, 3], expected[2, 0] = 3, 1  # the row without a history adds nothing
    assert counts.to_dense().tolist() == expected.tolist()
    with pytest.raises(ValueError, match=r"row 1 pairs items 0 -> 7, outside 0..4"):
        transition_counts(Dataset.from_dict({"history": [[1], [0]], "target": [2, 7]}), num_items=5)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['target'\]"):
        transition_counts(Dataset.from_dict({"history": [[1]]}), num_items=5)


def test_transition_table_is_the_compressed_rows_of_the_nonzero_counts():
    offsets, next_items, log_counts = transition_table(TRANSITIONS, 6)
    assert offsets.tolist() == [0, 2, 2, 4, 5, 7, 7]
    assert next_items.tolist() == [1, 5, 0, 3, 4, 1, 5]
    torch.testing.assert_close(log_counts, torch.log1p(torch.tensor([2.0, 1, 4, 1, 7, 3, 2])), atol=0, rtol=0)
    sparse = transition_table(TRANSITIONS.to_sparse(), 6)
    for built, expected in zip(sparse, (offsets, next_items, log_counts), strict=True):
        assert torch.equal(built, expected)
    with pytest.raises(ValueError, match=r"must be \[6, 6\] \(previous item x next item\), got \[5, 6\]"):
        transition_table(TRANSITIONS[:5], 6)
    bad = TRANSITIONS.float().clone()
    bad[3, 2] = -1.0
    with pytest.raises(ValueError, match=r"finite and >= 0; pair 3 -> 2 has -1.0"):
        transition_table(bad, 6)
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match=r"pair 3 -> 2 has nan"):
        transition_table(bad, 6)


def test_the_model_sums_weighted_log_one_plus_the_counts_after_each_history_item():
    model = head_model()
    assert model.config.num_item_transitions == 0 and model.item_transition_items.numel() == 0
    with pytest.raises(ValueError, match="call `set_item_transitions` first"):
        model.transition_log_counts(torch.tensor([[0]]), torch.ones(1, 1))
    model.set_item_transitions(TRANSITIONS)
    assert model.config.num_item_transitions == 7
    previous = torch.tensor([[0, 2], [-1, -1], [4, 1], [2, 2]])
    weights = torch.tensor([[0.5, 1.0], [1.0, 1.0], [0.25, 2.0], [0.0, 3.0]])
    log_rows = torch.log1p(TRANSITIONS.float())
    expected = torch.stack([
        0.5 * log_rows[0] + log_rows[2],
        torch.zeros(6),  # no history: no credit
        0.25 * log_rows[4] + 2.0 * log_rows[1],
        3.0 * log_rows[2],  # a weight of 0 adds nothing
    ])
    torch.testing.assert_close(model.transition_log_counts(previous, weights), expected)


def test_recency_weights_are_decay_to_the_number_of_later_history_items():
    valid = torch.tensor([[False, True, True, True], [True, False, True, False], [False, False, False, False]])
    expected = torch.tensor([[0.0, 0.25, 0.5, 1.0], [0.5, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(recency_weights(valid, 0.5), expected, atol=0, rtol=0)
    newest_only = torch.tensor([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(recency_weights(valid, 0.0), newest_only, atol=0, rtol=0)
    torch.manual_seed(0)
    plain = MindRecForRecommendation(head_config(item_retrieval_head=False))
    with pytest.raises(ValueError, match="item retrieval head"):
        plain.set_item_transitions(TRANSITIONS)


def test_the_adjusted_head_adds_the_transitions_after_each_users_last_item():
    model = transition_model()
    inputs, users = inputs_of(model), torch.arange(3)
    assert [history[-1] for history in history_items()] == [3, 5, 1]
    scorer = model.build_canvas_scorer(**inputs, transition_adjustment=0.75)
    plain = model.build_canvas_scorer(**inputs).item_log_probs(users)
    expected = torch.log_softmax(plain + 0.75 * expected_bonus(0.0), -1)
    torch.testing.assert_close(expected_bonus(0.0), torch.log1p(TRANSITIONS[[3, 5, 1]].float()))
    torch.testing.assert_close(scorer.item_log_probs(users), expected)
    # The users are scored in any order and subset, each with their own last item.
    torch.testing.assert_close(scorer.item_log_probs(torch.tensor([2, 0])), expected[[2, 0]])
    # User 0's last item (3) was followed by item 4 seven times: item 4 gains on every other item.
    gain = expected[0] - plain[0]
    assert int(gain.argmax()) == 4 and bool((gain[4] > gain[torch.arange(6) != 4]).all())


def test_with_a_decay_every_history_item_adds_its_transitions_weighted_by_recency():
    model = transition_model()
    inputs, users = inputs_of(model), torch.arange(3)
    plain = model.build_canvas_scorer(**inputs).item_log_probs(users)
    scorer = model.build_canvas_scorer(**inputs, transition_adjustment=0.75, transition_decay=0.5)
    expected = torch.log_softmax(plain + 0.75 * expected_bonus(0.5), -1)
    torch.testing.assert_close(scorer.item_log_probs(users), expected)
    assert not torch.allclose(expected_bonus(0.5), expected_bonus(0.0))  # the earlier items do count here


def test_generate_ranks_by_generative_plus_weighted_adjusted_head():
    model = transition_model()
    inputs = inputs_of(model)
    options = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6, num_return_items=6)
    output = model.generate(**inputs, **options, retrieval_weight=2.0, popularity_adjustment=0.3,
                            transition_adjustment=1.5, transition_decay=0.25)
    scorer = model.build_canvas_scorer(**inputs)
    users = torch.arange(3)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), users), CODES)
    logits = (scorer.item_log_probs(users) - 0.3 * torch.log1p(COUNTS.float())
              + 1.5 * expected_bonus(0.25))
    expected = (generative + 2.0 * torch.log_softmax(logits, -1)).topk(6)
    assert output.item_indices.tolist() == expected.indices.tolist()
    torch.testing.assert_close(output.scores, expected.values)
    zero = model.generate(**inputs, **options, retrieval_weight=2.0, transition_adjustment=0.0)
    plain = model.generate(**inputs, **options, retrieval_weight=2.0)
    torch.testing.assert_close(zero.scores, plain.scores, atol=0, rtol=0)


def conditioned_log_rows(power: float) -> torch.Tensor:
    """``[6, 6]`` log(1 + c(h -> i) * (m / s(h)) ** power) of TRANSITIONS by hand: s(h) = the row's total, m = the
    mean total over the rows with any (items 0, 2, 3, 4: totals 3, 5, 7, 5, mean 5)."""
    totals = TRANSITIONS.sum(1).double()
    assert totals.tolist() == [3, 0, 5, 7, 5, 0]
    scales = torch.where(totals > 0, (5.0 / totals.clamp(min=1)) ** power, 1.0)
    return torch.log1p(TRANSITIONS.double() * scales[:, None]).float()


def test_conditioning_scales_each_count_by_the_mean_over_the_previous_items_successors():
    model = transition_model()
    previous = torch.tensor([[0, 2], [-1, -1], [4, 1], [3, 3]])
    weights = torch.tensor([[0.5, 1.0], [1.0, 1.0], [0.25, 2.0], [0.0, 3.0]])
    for power in (0.5, 1.0):
        rows = conditioned_log_rows(power)
        expected = torch.stack([0.5 * rows[0] + rows[2], torch.zeros(6), 0.25 * rows[4] + 2.0 * rows[1], 3.0 * rows[3]])
        torch.testing.assert_close(model.transition_log_counts(previous, weights, conditioning=power), expected)
    # p = 1: the counts become m * P(next | previous): 4 -> 5 (2 of 5) stays 5 * 2 / 5 = 2, while 0 -> 5 (1 of 3, an
    # item with fewer successors) grows from 1 to 5 * 1 / 3.
    torch.testing.assert_close(conditioned_log_rows(1.0)[4, 5], torch.log1p(torch.tensor(2.0)))
    torch.testing.assert_close(conditioned_log_rows(1.0)[0, 5], torch.log1p(torch.tensor(5.0 / 3)))
    # An item with the mean number of successors keeps its counts; 0 is the raw table.
    torch.testing.assert_close(conditioned_log_rows(1.0)[2], torch.log1p(TRANSITIONS[2].float()))
    torch.testing.assert_close(
        model.transition_log_counts(previous, weights, conditioning=0.0), model.transition_log_counts(previous, weights),
        atol=0, rtol=0,
    )


@pytest.mark.parametrize("pairs_per_chunk", [1, 2, 3, 5])
@pytest.mark.parametrize("conditioning", [0.0, 0.5])
def test_rows_expanded_a_group_of_users_at_a_time_equal_one_pass(monkeypatch, pairs_per_chunk, conditioning):
    """A budget of a few pairs splits the batch into groups of users (a user's rows are never split): the same table
    to the bit, users without history or with zero weights included."""
    model = transition_model()
    previous = torch.tensor([[0, 2, 4], [-1, -1, -1], [4, 1, 0], [3, 3, 2], [2, -1, 0]])
    weights = torch.tensor([[0.5, 1.0, 0.3], [1.0, 1.0, 1.0], [0.25, 2.0, 1.5], [0.0, 3.0, 1.0], [1.0, 1.0, 0.7]])
    whole = model.transition_log_counts(previous, weights, conditioning=conditioning)
    import mindrec.modeling.item_transitions as item_transitions

    groups = []
    add_pairs = item_transitions._add_transition_pairs

    def spy(model, table, users, *rest):
        groups.append(users.tolist())
        return add_pairs(model, table, users, *rest)

    monkeypatch.setattr(item_transitions, "PAIRS_PER_CHUNK", pairs_per_chunk)
    monkeypatch.setattr(item_transitions, "_add_transition_pairs", spy)
    assert torch.equal(model.transition_log_counts(previous, weights, conditioning=conditioning), whole)
    assert len(groups) > 1 and sorted({user for group in groups for user in group}) == [0, 2, 3, 4]
    assert all(not set(a) & set(b) for a, b in zip(groups, groups[1:], strict=False))  # no user in two groups
    empty = torch.full((2, 3), -1)
    assert torch.equal(model.transition_log_counts(empty, torch.ones(2, 3)), torch.zeros(2, 6))


def test_generate_credits_the_conditioned_counts_and_the_options_check_it():
    model = transition_model()
    inputs, users = inputs_of(model), torch.arange(3)
    plain = model.build_canvas_scorer(**inputs).item_log_probs(users)
    scorer = model.build_canvas_scorer(
        **inputs, transition_adjustment=0.75, transition_decay=0.5, transition_conditioning=0.5
    )
    rows = conditioned_log_rows(0.5)
    bonus = torch.stack([
        sum((0.5**k) * rows[item] for k, item in enumerate(reversed(history))) for history in history_items()
    ])
    assert not torch.allclose(bonus, expected_bonus(0.5))  # these histories reach rows the conditioning rescales
    expected = torch.log_softmax(plain + 0.75 * bonus, -1)
    torch.testing.assert_close(scorer.item_log_probs(users), expected)
    options = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=6, num_return_items=6,
                   retrieval_weight=1.0, transition_adjustment=0.75, transition_decay=0.5)
    conditioned = model.generate(**inputs, **options, transition_conditioning=0.5)
    generative = catalogue_log_probs(scorer(torch.full((3, 5), -1, dtype=torch.long), users), CODES)
    ranked = (generative + expected).topk(6)
    assert conditioned.item_indices.tolist() == ranked.indices.tolist()
    torch.testing.assert_close(conditioned.scores, ranked.values)
    with pytest.raises(ValueError, match=r"`transition_conditioning` must be a number in \[0, 1\], got 1.5"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", retrieval_weight=1.0,
                                       transition_adjustment=1.0, transition_conditioning=1.5)
    with pytest.raises(ValueError, match="`transition_conditioning` scales the transitions of `transition_adjustment`"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", retrieval_weight=1.0,
                                       transition_conditioning=0.5)
    with pytest.raises(ValueError, match=r"`transition_conditioning` must be in \[0, 1\], got -0.5"):
        EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=1.0, transition_adjustment=1.0,
                            transition_conditioning=-0.5)
    with pytest.raises(ValueError, match="it needs transition_adjustment > 0"):
        EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=1.0, transition_conditioning=0.5)


def test_the_adjustment_needs_the_history_code_ids():
    model = transition_model()
    inputs = {key: value for key, value in inputs_of(model).items() if key != "history_code_ids"}
    with pytest.raises(ValueError, match="read the users. history items: they need `history_code_ids`"):
        model.build_canvas_scorer(**inputs, transition_adjustment=1.0)


def test_the_transitions_travel_with_the_weights_and_an_older_checkpoint_loads_them_unset(tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    model = transition_model()
    model.save_pretrained(tmp_path / "new")
    loaded = MindRecForRecommendation.from_pretrained(tmp_path / "new")
    assert loaded.config.num_item_transitions == 7
    for name in ("item_transition_offsets", "item_transition_items", "item_transition_log_counts"):
        assert torch.equal(getattr(loaded, name), getattr(model, name)), name
    options = dict(catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3, num_return_items=3,
                   retrieval_weight=1.0, transition_adjustment=0.5)
    torch.testing.assert_close(loaded.generate(**inputs_of(loaded), **options).scores,
                               model.generate(**inputs_of(model), **options).scores, atol=0, rtol=0)
    # A checkpoint saved before the table existed: no buffers, no num_item_transitions in its config.
    head_model().save_pretrained(tmp_path / "old")
    weights = load_file(tmp_path / "old" / "model.safetensors")
    for name in ("item_transition_offsets", "item_transition_items", "item_transition_log_counts"):
        del weights[name]
    save_file(weights, tmp_path / "old" / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["num_item_transitions"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    older = MindRecForRecommendation.from_pretrained(tmp_path / "old")
    assert older.item_transition_offsets.tolist() == [-1] * 7  # not whatever memory held
    with pytest.raises(ValueError, match="call `set_item_transitions` first"):
        older.generate(**inputs_of(older), **options)


def test_the_decay_needs_the_adjustment_and_a_value_below_one():
    options = dict(decoding_strategy="catalogue_scoring", retrieval_weight=1.0)
    with pytest.raises(ValueError, match=r"`transition_decay` must be a number in \[0, 1\), got 1.0"):
        RecommendationGenerationConfig(**options, transition_adjustment=1.0, transition_decay=1.0)
    with pytest.raises(ValueError, match="it needs transition_adjustment > 0"):
        RecommendationGenerationConfig(**options, transition_decay=0.5)
    with pytest.raises(ValueError, match=r"`transition_decay` must be in \[0, 1\), got -0.5"):
        EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=1.0, transition_adjustment=1.0,
                            transition_decay=-0.5)
    with pytest.raises(ValueError, match="it needs transition_adjustment > 0"):
        EvaluationArguments(strategy="catalogue_scoring", retrieval_weight=1.0, transition_decay=0.5)


def test_the_config_checks_the_number_of_transitions():
    with pytest.raises(StrictDataclassClassValidationError, match="`num_item_transitions` must be an integer >= 0, got -1"):
        head_config(num_item_transitions=-1)
    with pytest.raises(StrictDataclassFieldValidationError, match="Field 'num_item_transitions' expected int"):
        head_config(num_item_transitions=2.5)
    with pytest.raises(StrictDataclassClassValidationError, match="`num_item_transitions` > 0 needs `item_retrieval_head=True`"):
        head_config(item_retrieval_head=False, num_item_transitions=3)


def test_transition_counts_need_the_training_counts():
    with pytest.raises(ValueError, match="`recent_counts` and `transition_counts` come with `item_counts`"):
        install_item_codes(head_model(), None, transition_counts=TRANSITIONS)
