"""SASRec: config validation, masking invariants, save/load, recommend, and a behaviour test."""

import math

import pytest
import torch
from datasets import Dataset, DatasetDict

from mindrec.baselines import (
    SASRecConfig,
    SASRecModel,
    SASRecTrainingArguments,
    collate_histories,
    evaluate_sasrec,
    interaction_counts,
    train_sasrec,
    transition_counts,
)
from mindrec.baselines.sasrec import sample_negatives
from mindrec.modeling.item_transitions import transition_rows

NUM_ITEMS = 30



def tiny_config(**overrides) -> SASRecConfig:
    options = {"num_items": NUM_ITEMS, "hidden_size": 32, "max_history": 5, "num_attention_heads": 2}
    return SASRecConfig(**(options | overrides))


def tiny_model(**overrides) -> SASRecModel:
    torch.manual_seed(0)
    return SASRecModel(tiny_config(**overrides)).eval()


def successor_splits() -> DatasetDict:
    """80 users walking 0 -> 1 -> 2 ...: item i is always followed by i + 1 (leave-one-out, history <= 5)."""
    columns = {name: {"user_id": [], "history": [], "target": []} for name in ("train", "validation", "test")}

    def add(split, user, history, target):
        columns[split]["user_id"].append(user)
        columns[split]["history"].append(history[-5:])
        columns[split]["target"].append(target)

    for user in range(80):
        start = user % 24
        items = list(range(start, min(NUM_ITEMS, start + 5 + user % 6)))
        for position in range(1, len(items) - 2):
            add("train", str(user), items[:position], items[position])
        add("validation", str(user), items[:-2], items[-2])
        add("test", str(user), items[:-1], items[-1])
    return DatasetDict({name: Dataset.from_dict(rows) for name, rows in columns.items()})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"hidden_size": 30, "num_attention_heads": 4},
            r"hidden_size \(30\) must be a multiple of num_attention_heads \(4\)",
        ),
        ({"loss_type": "bpr"}, r"loss_type must be one of \('ce', 'bce'\), got 'bpr'"),
        ({"hidden_dropout_prob": 1.0}, r"hidden_dropout_prob must be in \[0, 1\), got 1.0"),
        ({"num_items": 0}, r"num_items must be >= 1, got 0"),
        ({"max_history": 0}, r"max_history must be >= 1, got 0"),
        ({"layer_norm_eps": 0.0}, r"layer_norm_eps \(0.0\) and initializer_range \(0.02\) must be > 0"),
        # Values of the wrong type (a benchmark --set, a YAML null) are named before any comparison meets them.
        ({"hidden_size": "big"}, r"hidden_size must be an integer, got 'big'"),
        ({"max_history": None}, r"max_history must be an integer, got None"),
        ({"num_attention_heads": 2.0}, r"num_attention_heads must be an integer, got 2.0"),
        ({"transition_adjustment": "x"}, r"transition_adjustment must be a number, got 'x'"),
        ({"popularity_prior": True}, r"popularity_prior must be a number, got True"),
    ],
)
def test_config_validation_quotes_the_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_model_needs_num_items_and_intermediate_size_defaults_to_hidden():
    with pytest.raises(ValueError, match="num_items must be set"):
        SASRecModel(SASRecConfig())
    assert SASRecConfig(hidden_size=48).intermediate_size == 48


def test_collate_left_pads_and_truncates():
    input_ids, attention_mask = collate_histories([[1, 2], [3, 4, 5, 6, 7, 8], []], NUM_ITEMS, max_history=5)
    assert input_ids.tolist() == [[30, 30, 30, 1, 2], [4, 5, 6, 7, 8], [30, 30, 30, 30, 30]]
    assert attention_mask.tolist() == [[0, 0, 0, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match=r"history of row 11 holds item 30, outside 0..29"):
        collate_histories([[1], [30]], NUM_ITEMS, max_history=5, first_row=10)


def test_scores_do_not_depend_on_extra_left_padding():
    model = tiny_model()
    alone = model.item_scores([[3, 4]])
    padded = model.item_scores([[3, 4], [1, 2, 3, 4, 5]])[:1]  # [3, 4] now carries 3 padding positions
    torch.testing.assert_close(alone, padded)
    assert not torch.allclose(alone, model.item_scores([[4, 3]]))  # order matters


def test_forward_rejects_right_padding_and_overlong_input():
    model = tiny_model()
    with pytest.raises(ValueError, match="inputs must be left-padded; row 1 has padding after an item"):
        model(torch.tensor([[1, 2], [3, 30]]), torch.tensor([[1, 1], [1, 0]]))
    with pytest.raises(ValueError, match="6 positions, more than max_history=5"):
        model(torch.zeros(1, 6, dtype=torch.long))


def test_losses_ce_and_bce():
    inputs, labels = torch.tensor([[30, 1, 2], [3, 4, 5]]), torch.tensor([3, 6])
    ce = tiny_model()(inputs, labels=labels)
    assert ce.logits.shape == (2, NUM_ITEMS)
    torch.testing.assert_close(ce.loss, torch.nn.functional.cross_entropy(ce.logits, labels))
    bce = tiny_model(loss_type="bce")(inputs, labels=labels, negative_items=torch.tensor([0, 0]))
    assert bce.logits is None and torch.isfinite(bce.loss)
    with pytest.raises(ValueError, match="negative_items are only used with loss_type='bce'"):
        tiny_model()(inputs, labels=labels, negative_items=torch.tensor([0, 0]))


def test_negative_samples_never_hit_the_label_and_cover_the_others():
    labels = torch.full((3000,), 4)
    negatives = sample_negatives(labels, num_items=6, generator=torch.Generator().manual_seed(0))
    assert sorted(negatives.unique().tolist()) == [0, 1, 2, 3, 5]


def test_recommend_returns_distinct_valid_items_and_excludes_history():
    model = tiny_model()
    histories = [[1, 2, 3], list(range(28)), []]
    ranked = model.recommend(histories, k=5, batch_size=2)
    assert ranked.shape == (3, 5)
    for row in ranked.tolist():
        assert len(set(row)) == 5 and all(0 <= item < NUM_ITEMS for item in row)
    excluded = model.recommend(histories, k=5, exclude_history=True, batch_size=2)
    assert not set(excluded[0].tolist()) & {1, 2, 3}
    assert sorted(excluded[1, :2].tolist()) == [28, 29] and excluded[1, 2:].tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match=r"k must be in 1..30 \(the catalogue size\), got 31"):
        model.recommend(histories, k=31)


def test_recommend_can_return_the_listed_items_scores():
    model = tiny_model()
    histories = [[1, 2, 3], list(range(28))]
    items, scores = model.recommend(histories, k=5, exclude_history=True, return_scores=True)
    assert torch.equal(items, model.recommend(histories, k=5, exclude_history=True))
    with torch.no_grad():
        full = model.item_scores(histories)
    assert torch.equal(scores[0], full[0, items[0]])
    assert torch.equal(scores[1, :2], full[1, items[1, :2]]) and scores[1, 2:].tolist() == [float("-inf")] * 3


def test_save_and_load_round_trip_gives_identical_scores(tmp_path):
    model = tiny_model(loss_type="bce")
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = SASRecModel.from_pretrained(tmp_path).eval()
    assert loaded.config.loss_type == "bce" and loaded.config.num_items == NUM_ITEMS
    histories = [[1, 2, 3], [7], [0, 4, 8, 12, 16, 20]]
    assert torch.equal(model.item_scores(histories), loaded.item_scores(histories))


# The paper's BCE loss with one negative learns more slowly than the full softmax (DESIGN.md §8).
@pytest.mark.parametrize(("loss_type", "min_hr1"), [("ce", 0.8), ("bce", 0.4)])
def test_training_learns_the_successor_rule_and_keeps_the_best_epoch(loss_type, min_hr1):
    splits = successor_splits()
    config = tiny_config(
        num_items=None, hidden_dropout_prob=0.1, attention_dropout_prob=0.1, loss_type=loss_type
    )
    args = SASRecTrainingArguments(
        learning_rate=1e-2, train_batch_size=32, num_epochs=30, patience=4, show_progress=False
    )
    untrained = evaluate_sasrec(SASRecModel(tiny_config()), splits["test"])
    model, history = train_sasrec(splits, NUM_ITEMS, config, args)
    trained = evaluate_sasrec(model, splits["test"])
    assert untrained["hr@1"] < 0.2
    assert trained["hr@1"] >= min_hr1
    # The returned model is the best validation epoch, and training stopped by the patience rule.
    scores = [record["validation_ndcg@10"] for record in history]
    best_epoch = scores.index(max(scores)) + 1
    assert evaluate_sasrec(model, splits["validation"])["ndcg@10"] == pytest.approx(max(scores))
    assert len(history) in (args.num_epochs, best_epoch + args.patience)
    assert [record["epoch"] for record in history] == list(range(1, len(history) + 1))
    # Every epoch takes ceil(rows / batch) optimizer steps; training seconds leave validation out, so they grow
    # with the epochs and stay below the total.
    steps_per_epoch = math.ceil(len(splits["train"]) / args.train_batch_size)
    assert [record["step"] for record in history] == [steps_per_epoch * epoch for epoch in range(1, len(history) + 1)]
    train_seconds = [record["train_seconds"] for record in history]
    assert train_seconds == sorted(train_seconds) and train_seconds[0] > 0
    assert all(record["train_seconds"] < record["seconds"] for record in history)
    assert not model.training


def test_training_rejects_bad_splits_and_configs():
    splits = successor_splits()
    with pytest.raises(ValueError, match=r"config.num_items=12 but num_items=30"):
        train_sasrec(splits, NUM_ITEMS, tiny_config(num_items=12))
    with pytest.raises(ValueError, match=r"splits needs a 'validation' split; it has \['test', 'train'\]"):
        train_sasrec(DatasetDict({"train": splits["train"], "test": splits["test"]}), NUM_ITEMS)
    bad = splits["train"].map(lambda row, i: {"target": 99 if i == 3 else row["target"]}, with_indices=True)
    with pytest.raises(ValueError, match=r"train row 3 has target 99, outside 0..29"):
        train_sasrec(DatasetDict({"train": bad, "validation": splits["validation"]}), NUM_ITEMS)
    with pytest.raises(ValueError, match=r"patience must be >= 1, got 0"):
        SASRecTrainingArguments(patience=0)


def test_the_popularity_prior_adds_tau_log_counts_to_every_logit_and_survives_a_save(tmp_path):
    counts = torch.arange(NUM_ITEMS) % 7
    plain, with_prior = tiny_model(), tiny_model(popularity_prior=0.5)
    with_prior.load_state_dict(plain.state_dict(), strict=False)
    with_prior.set_item_counts(counts)
    histories = [[1, 2, 3], [7], [0, 4, 8, 12, 16]]
    expected = plain.item_scores(histories) + 0.5 * torch.log1p(counts.float())
    torch.testing.assert_close(with_prior.item_scores(histories), expected, atol=1e-6, rtol=0)
    labels = torch.tensor([4, 8, 20])
    input_ids, attention_mask = collate_histories(histories, NUM_ITEMS, 5)
    loss = with_prior(input_ids, attention_mask, labels=labels).loss
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(expected, labels))
    with_prior.save_pretrained(tmp_path)
    loaded = SASRecModel.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.item_scores(histories), with_prior.item_scores(histories))


def test_training_with_the_prior_installs_the_training_counts():
    splits = successor_splits()
    config = tiny_config(num_items=None, popularity_prior=1.0)
    args = SASRecTrainingArguments(num_epochs=1, show_progress=False)
    model, _ = train_sasrec(splits, NUM_ITEMS, config, args)
    expected = torch.log1p(interaction_counts(splits["train"], NUM_ITEMS).float())
    torch.testing.assert_close(model.item_log_counts, expected, atol=0, rtol=0)


def test_the_popularity_prior_checks_its_value_and_counts():
    with pytest.raises(ValueError, match=r"popularity_prior must be a finite number >= 0, got -1"):
        tiny_config(popularity_prior=-1)
    with pytest.raises(ValueError, match=r"popularity_prior > 0 biases the softmax logits: it needs loss_type='ce'"):
        tiny_config(popularity_prior=1.0, loss_type="bce")
    model = tiny_model(popularity_prior=1.0)
    with pytest.raises(ValueError, match=r"needs the items' training counts: call `set_item_counts` first"):
        model.item_scores([[1, 2]])
    with pytest.raises(ValueError, match=r"`item_counts` must be \[30\] \(one per item\), got \[3\]"):
        model.set_item_counts(torch.ones(3))
    with pytest.raises(ValueError, match=r"`item_counts` must be finite and >= 0; item 2 has -1.0"):
        model.set_item_counts(torch.tensor([0.0, 1.0, -1.0] + [0.0] * 27))
    with pytest.raises(ValueError, match=r"`set_item_counts` is for models with popularity_prior > 0"):
        tiny_model().set_item_counts(torch.ones(NUM_ITEMS))


def test_the_popularity_and_recency_adjustments_move_the_scores_at_inference_only():
    """MindRec's fused decoder's beta and gamma: minus beta log(1 + training count), plus gamma log(1 + how often the
    item is a user's newest history item in the split decoded); the training loss keeps the prior alone."""
    counts, recent = torch.arange(NUM_ITEMS) % 7, torch.arange(NUM_ITEMS) % 3
    base, adjusted = tiny_model(popularity_prior=1.0), tiny_model(popularity_prior=1.0)
    adjusted.config.popularity_adjustment, adjusted.config.recency_adjustment = 0.25, 0.75
    for model in (base, adjusted):
        model.set_item_counts(counts)
    adjusted.set_recent_counts(recent)
    histories = [[1, 2, 3], [7], [0, 4, 8, 12, 16]]
    expected = base.item_scores(histories) - 0.25 * torch.log1p(counts.float()) + 0.75 * torch.log1p(recent.float())
    torch.testing.assert_close(adjusted.item_scores(histories), expected, atol=1e-6, rtol=0)
    input_ids, attention_mask = collate_histories(histories, NUM_ITEMS, 5)
    assert torch.equal(adjusted(input_ids, attention_mask).logits, base(input_ids, attention_mask).logits)


def test_the_popularity_and_recency_adjustments_check_their_values_and_counts():
    with pytest.raises(ValueError, match=r"recency_adjustment must be a finite number >= 0, got -0.5"):
        tiny_config(recency_adjustment=-0.5)
    with pytest.raises(ValueError, match=r"popularity_adjustment > 0 takes back part of popularity_prior's bias .* it "
                                         r"needs popularity_prior > 0"):  # fmt: skip
        tiny_config(popularity_adjustment=0.5)
    model = tiny_model(recency_adjustment=0.5)
    with pytest.raises(ValueError, match=r"recency_adjustment > 0 needs the split's newest-item counts: call `set_recent"):
        model.item_scores([[1, 2]])
    with pytest.raises(ValueError, match=r"`recent_counts` must be \[30\] \(one per item\), got \[3\]"):
        model.set_recent_counts(torch.ones(3))


def test_the_transition_adjustment_credits_what_followed_the_last_item_at_inference_only(tmp_path):
    transitions = torch.zeros(NUM_ITEMS, NUM_ITEMS, dtype=torch.long)
    transitions[3, 4], transitions[3, 9], transitions[7, 8] = 5, 1, 2
    plain, adjusted = tiny_model(), tiny_model(transition_adjustment=0.5)
    adjusted.load_state_dict(plain.state_dict(), strict=False)
    adjusted.set_item_transitions(transitions.to_sparse())
    assert adjusted.config.num_item_transitions == 3
    histories = [[1, 2, 3], [7], [], [0, 4, 8, 12, 16]]
    expected = plain.item_scores(histories)
    expected[0] += 0.5 * torch.log1p(transitions[3].float())
    expected[1] += 0.5 * torch.log1p(transitions[7].float())  # users without history or a new last item: nothing
    torch.testing.assert_close(adjusted.item_scores(histories), expected, atol=1e-6, rtol=0)
    # The training loss reads the plain logits.
    labels = torch.tensor([4, 8, 0, 20])
    input_ids, attention_mask = collate_histories(histories, NUM_ITEMS, 5)
    assert torch.equal(adjusted(input_ids, attention_mask, labels=labels).loss, plain(input_ids, attention_mask, labels=labels).loss)
    # With a decay the earlier history items add their transitions too, weighed decay**k.
    transitions[2, 4] = 3
    decayed = tiny_model(transition_adjustment=0.5, transition_decay=0.25)
    decayed.load_state_dict(plain.state_dict(), strict=False)
    decayed.set_item_transitions(transitions)
    log_rows = torch.log1p(transitions.float())
    expected_decayed = plain.item_scores(histories)
    expected_decayed[0] += 0.5 * (log_rows[3] + 0.25 * log_rows[2] + 0.0625 * log_rows[1])
    expected_decayed[1] += 0.5 * log_rows[7]
    expected_decayed[3] += 0.5 * (0.25 * log_rows[12] + 0.0625 * log_rows[8] + 0.25**3 * log_rows[4] + 0.25**4 * log_rows[0])
    torch.testing.assert_close(decayed.item_scores(histories), expected_decayed, atol=1e-6, rtol=0)
    adjusted.save_pretrained(tmp_path)
    loaded = SASRecModel.from_pretrained(tmp_path).eval()
    assert loaded.config.num_item_transitions == 3
    assert torch.equal(loaded.item_scores(histories), adjusted.item_scores(histories))


def test_training_with_the_transition_adjustment_installs_the_training_transitions():
    splits = successor_splits()
    config = tiny_config(num_items=None, transition_adjustment=1.0)
    model, _ = train_sasrec(splits, NUM_ITEMS, config, SASRecTrainingArguments(num_epochs=1, show_progress=False))
    dense = transition_counts(splits["train"], NUM_ITEMS).to_dense()
    assert model.config.num_item_transitions == int((dense > 0).sum())
    rows = transition_rows(model, torch.tensor([[5], [12]]), torch.ones(2, 1))
    torch.testing.assert_close(rows, torch.log1p(dense[[5, 12]].float()), atol=0, rtol=0)


def test_the_transition_adjustment_checks_its_value_and_table():
    with pytest.raises(ValueError, match=r"transition_adjustment must be a finite number >= 0, got -1"):
        tiny_config(transition_adjustment=-1)
    with pytest.raises(ValueError, match=r"transition_decay must be in \[0, 1\), got 1"):
        tiny_config(transition_adjustment=1.0, transition_decay=1)
    with pytest.raises(ValueError, match=r"transition_decay > 0 weighs the transitions of transition_adjustment"):
        tiny_config(transition_decay=0.5)
    with pytest.raises(ValueError, match=r"num_item_transitions must be >= 0, got -2"):
        tiny_config(num_item_transitions=-2)
    with pytest.raises(ValueError, match=r"needs the items' training transitions: call `set_item_transitions` first"):
        tiny_model(transition_adjustment=1.0).item_scores([[1, 2]])
    with pytest.raises(ValueError, match=r"`set_item_transitions` is for models with transition_adjustment or transition_prior > 0"):
        tiny_model().set_item_transitions(torch.zeros(NUM_ITEMS, NUM_ITEMS))


def test_the_transition_prior_biases_the_loss_with_each_rows_own_pair_counted_one_less_and_inference_as_counted(tmp_path):
    transitions = torch.zeros(NUM_ITEMS, NUM_ITEMS, dtype=torch.long)
    transitions[3, 4], transitions[3, 9], transitions[2, 4], transitions[7, 8] = 5, 1, 3, 1
    plain, with_prior = tiny_model(), tiny_model(transition_prior=0.5, transition_prior_decay=0.25)
    with_prior.load_state_dict(plain.state_dict(), strict=False)
    with_prior.set_item_transitions(transitions)
    histories = [[1, 2, 3], [7], [0, 4, 8, 12, 16]]
    log_rows = torch.log1p(transitions.float())
    prior = torch.zeros(3, NUM_ITEMS)
    prior[0] = 0.5 * (log_rows[3] + 0.25 * log_rows[2] + 0.0625 * log_rows[1])
    prior[1] = 0.5 * log_rows[7]
    prior[2] = 0.5 * (0.25 * log_rows[12] + 0.0625 * log_rows[8] + 0.25**3 * log_rows[4] + 0.25**4 * log_rows[0])
    expected = plain.item_scores(histories) + prior
    torch.testing.assert_close(with_prior.item_scores(histories), expected, atol=1e-6, rtol=0)
    # In the loss each row's own pair (last item -> label) is one of the counts: 3 -> 4 reads 4 times, 7 -> 8 never.
    labels = torch.tensor([4, 8, 20])
    in_loss = expected.clone()
    in_loss[0, 4] = plain.item_scores(histories)[0, 4] + 0.5 * (math.log(5) + 0.25 * log_rows[2, 4])
    in_loss[1, 8] = plain.item_scores(histories)[1, 8]
    input_ids, attention_mask = collate_histories(histories, NUM_ITEMS, 5)
    loss = with_prior(input_ids, attention_mask, labels=labels).loss
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(in_loss, labels), atol=1e-6, rtol=0)
    with_prior.save_pretrained(tmp_path)
    loaded = SASRecModel.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.item_scores(histories), with_prior.item_scores(histories))


def test_the_transition_prior_checks_its_value_and_training_installs_its_table():
    with pytest.raises(ValueError, match=r"transition_prior must be a finite number >= 0, got -1"):
        tiny_config(transition_prior=-1)
    with pytest.raises(ValueError, match=r"transition_prior > 0 biases the softmax logits: it needs loss_type='ce'"):
        tiny_config(transition_prior=1.0, loss_type="bce")
    with pytest.raises(ValueError, match=r"transition_prior_decay must be in \[0, 1\), got 1"):
        tiny_config(transition_prior=1.0, transition_prior_decay=1)
    with pytest.raises(ValueError, match=r"transition_prior_decay > 0 weighs the transitions of transition_prior"):
        tiny_config(transition_prior_decay=0.5)
    with pytest.raises(ValueError, match=r"needs the items' training transitions: call `set_item_transitions` first"):
        tiny_model(transition_prior=1.0).item_scores([[1, 2]])
    splits = successor_splits()
    config = tiny_config(num_items=None, transition_prior=1.0)
    model, _ = train_sasrec(splits, NUM_ITEMS, config, SASRecTrainingArguments(num_epochs=1, show_progress=False))
    assert model.config.num_item_transitions == int((transition_counts(splits["train"], NUM_ITEMS).to_dense() > 0).sum())
