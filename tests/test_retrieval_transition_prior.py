"""The retrieval head's transition prior (``retrieval_transition_prior`` rho, ``retrieval_transition_decay``): a fixed
bias rho * sum_k decay^k log(1 + how often the item followed the k-th newest history item) on the head's logits, in
both retrieval losses (each scored pair counted one less) and at decoding (as counted)."""

import math

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from test_history_item_embeddings import batch_with_catalogue_history
from test_item_retrieval_head import TARGET_ITEMS, head_config, head_model, history_item_losses

from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.item_transitions import transition_pair_log_counts
from mindrec.training.arguments import ModelArguments

RHO, DECAY = 2.0, 0.5
# previous item (row) x next item (column) of the six catalogue items. The batch's histories (oldest first) are
# [3], [1, 4, 5] and [2, 1], with targets 0, 1 and 2: the pairs it scores are 3 -> 0 (count 5), 1 -> 4 (1), 4 -> 5
# (2), 5 -> 1 (3), 2 -> 1 (1) and 1 -> 2 (1); 4 -> 1 (4) is a pair no row scores.
TRANSITIONS = torch.zeros(6, 6)
for (previous, following), count in {(3, 0): 5, (1, 4): 1, (4, 5): 2, (5, 1): 3, (2, 1): 1, (1, 2): 1, (4, 1): 4}.items():
    TRANSITIONS[previous, following] = count
HISTORIES = [[3], [1, 4, 5], [2, 1]]


def prior_pair(**overrides):
    """A model with the prior and one with the same weights without it, both with TRANSITIONS installed."""
    settings = dict(history_retrieval_loss_weight=1.0, **overrides)
    model = head_model(retrieval_transition_prior=RHO, retrieval_transition_decay=DECAY, **settings)
    plain = head_model(**settings)
    plain.load_state_dict(model.state_dict())
    for each in (model, plain):
        each.set_item_transitions(TRANSITIONS)
    return model, plain


def bias_by_hand(history: list[int], next_item: int | None = None) -> torch.Tensor:
    """``[items]``: RHO * sum over the history, newest first, of DECAY^k log(1 + TRANSITIONS[item]), with the pair
    (newest item -> next_item) counted one less when ``next_item`` is given."""
    counts = [TRANSITIONS[item].clone() for item in reversed(history)]
    if next_item is not None:
        counts[0][next_item] = max(counts[0][next_item] - 1, 0)
    return RHO * sum(DECAY**k * torch.log1p(row) for k, row in enumerate(counts))


def views_of(model):
    return model.noise_schedule.sample_views(
        3, model.config.code_length, 2, num_random_views=1, num_path_views=2, generator=torch.Generator().manual_seed(3)
    )


def test_the_canvas_loss_reads_the_prior_with_each_rows_own_pair_counted_one_less():
    model, plain = prior_pair()
    batch, _, _ = batch_with_catalogue_history(model)
    views = views_of(model)
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    base = plain(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    expected = torch.stack([bias_by_hand(history, target) for history, target in zip(HISTORIES, TARGET_ITEMS, strict=True)])
    torch.testing.assert_close(out.item_logits - base.item_logits, expected, atol=1e-5, rtol=0)
    # Row 0's pair 3 -> 0 (5 times) reads as 4; row 2's 1 -> 2 (once) as never: the rows' own pairs.
    assert math.isclose(float(expected[0, 0]), RHO * math.log(5), rel_tol=1e-6)
    assert float(expected[2, 2]) == 0.0
    by_hand = torch.nn.functional.cross_entropy(base.item_logits + expected, torch.tensor(TARGET_ITEMS))
    torch.testing.assert_close(out.retrieval_loss, by_hand, atol=1e-5, rtol=0)


def test_the_history_loss_reads_each_states_own_prefix_with_its_pair_counted_one_less():
    model, plain = prior_pair()
    batch, _, _ = batch_with_catalogue_history(model)
    views = views_of(model)
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    per_item = history_item_losses(plain, batch)  # the learned part alone, per row and history item
    config = model.config
    placeholders = batch["input_ids"] == config.item_placeholder_token_id
    bias = torch.zeros(*batch["input_ids"].shape, 6)
    for row, (history, target) in enumerate(zip(HISTORIES, TARGET_ITEMS, strict=True)):
        positions = placeholders[row].nonzero()[:, 0]
        for j, position in enumerate(positions):
            following = history[j + 1] if j + 1 < len(history) else target
            bias[row, position] = bias_by_hand(history[: j + 1], following)
    with_prior = history_item_losses(plain, batch, logit_bias=bias)
    torch.testing.assert_close(out.history_retrieval_loss, torch.cat(list(with_prior.values())).mean(), atol=1e-5, rtol=0)
    assert abs(out.history_retrieval_loss - torch.cat(list(per_item.values())).mean()) > 0.01


def test_decoding_adds_the_prior_as_counted_and_the_transition_adjustment_on_top():
    model, plain = prior_pair()
    model.set_item_counts(torch.arange(6) + 1)
    plain.set_item_counts(torch.arange(6) + 1)
    batch, _, _ = batch_with_catalogue_history(model)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    users = torch.arange(3)
    learned = plain.build_canvas_scorer(**inputs).item_log_probs(users)
    prior = torch.stack([bias_by_hand(history) for history in HISTORIES])
    expected = torch.log_softmax(learned + prior, -1)
    torch.testing.assert_close(model.build_canvas_scorer(**inputs).item_log_probs(users), expected, atol=1e-5, rtol=0)
    # The decoding credit lambda adds its own sum (decay 0: the newest item alone) to the same logits.
    credit = torch.stack([torch.log1p(TRANSITIONS[history[-1]]) for history in HISTORIES])
    adjusted = model.build_canvas_scorer(**inputs, transition_adjustment=0.5).item_log_probs(users)
    torch.testing.assert_close(adjusted, torch.log_softmax(learned + prior + 0.5 * credit, -1), atol=1e-5, rtol=0)


def test_the_prior_travels_with_the_weights(tmp_path):
    model, _ = prior_pair()
    batch, _, _ = batch_with_catalogue_history(model)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path).eval()
    assert (loaded.config.retrieval_transition_prior, loaded.config.retrieval_transition_decay) == (RHO, DECAY)
    users = torch.arange(3)
    torch.testing.assert_close(
        loaded.build_canvas_scorer(**inputs).item_log_probs(users), model.build_canvas_scorer(**inputs).item_log_probs(users)
    )


def test_pair_log_counts_look_up_the_table():
    model, _ = prior_pair()
    previous, following = torch.tensor([3, 4, 4, 0, 5, 1]), torch.tensor([0, 1, 5, 0, 1, 3])
    counts = TRANSITIONS[previous, following]
    torch.testing.assert_close(transition_pair_log_counts(model, previous, following), torch.log1p(counts))
    empty = head_model()
    empty.set_item_transitions(torch.zeros(6, 6))
    assert transition_pair_log_counts(empty, previous, following).tolist() == [0.0] * 6


def test_errors_name_the_problem():
    with pytest.raises(StrictDataclassClassValidationError, match="item_retrieval_head=True"):
        head_config(item_retrieval_head=False, history_item_embeddings=False, retrieval_transition_prior=1.0)
    with pytest.raises(StrictDataclassClassValidationError, match="finite number >= 0"):
        head_config(retrieval_transition_prior=-1.0)
    with pytest.raises(StrictDataclassClassValidationError, match=r"in \[0, 1\)"):
        head_config(retrieval_transition_prior=1.0, retrieval_transition_decay=1.0)
    with pytest.raises(StrictDataclassClassValidationError, match="needs `retrieval_transition_prior` > 0"):
        head_config(retrieval_transition_decay=0.5)
    with pytest.raises(ValueError, match="retrieval_transition_prior > 0 needs item_retrieval_head=True"):
        ModelArguments(retrieval_transition_prior=1.0)
    with pytest.raises(ValueError, match=r"retrieval_transition_decay must be in \[0, 1\)"):
        ModelArguments(item_retrieval_head=True, retrieval_transition_prior=1.0, retrieval_transition_decay=-0.1)
    # Without the table, or without the histories, the model says what it needs.
    model = head_model(retrieval_transition_prior=1.0)
    batch, _, _ = batch_with_catalogue_history(model)
    views = views_of(model)
    with pytest.raises(ValueError, match="call `set_item_transitions` first"):
        model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    model.set_item_transitions(TRANSITIONS)
    inputs = {key: value for key, value in batch.items() if key not in ("labels", "history_code_ids")}
    with pytest.raises(ValueError, match="they need `history_code_ids`"):
        model.build_canvas_scorer(**inputs)
    with pytest.raises(ValueError, match="pass `history_items`"):
        model.item_retrieval_logits(torch.zeros(2, model.config.code_length, model.config.hidden_size))
