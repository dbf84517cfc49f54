"""The retrieval head's fixed popularity prior: ``tau * log(1 + training count)`` added to its logits, in the
training losses and at decoding alike (logit adjustment in the loss)."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from test_history_item_embeddings import batch_with_catalogue_history
from test_item_retrieval_head import TARGET_ITEMS, head_config, head_model, history_item_losses
from test_popularity_adjustment import COUNTS, inputs_of

from mindrec.modeling import MindRecForRecommendation
from mindrec.training.arguments import ModelArguments

TAU = 0.7


def prior_pair(**overrides):
    """The same weights without and with the prior, both with the counts installed."""
    plain = head_model(**overrides)
    with_prior = head_model(retrieval_popularity_prior=TAU, **overrides)
    with_prior.load_state_dict(plain.state_dict())
    for model in (plain, with_prior):
        model.set_item_counts(COUNTS)
    return plain, with_prior


def test_the_prior_adds_tau_log_counts_to_the_training_logits_and_losses():
    plain, with_prior = prior_pair(history_retrieval_loss_weight=1.0)
    batch, _, _ = batch_with_catalogue_history(plain)
    noise_mask = torch.zeros(3, plain.config.code_length, dtype=torch.bool)
    noise_mask[:, 0] = True
    out_plain, out_prior = plain(**batch, noise_mask=noise_mask), with_prior(**batch, noise_mask=noise_mask)
    bias = TAU * torch.log1p(COUNTS.float())
    torch.testing.assert_close(out_prior.item_logits, out_plain.item_logits + bias, atol=1e-6, rtol=0)
    by_hand = -torch.log_softmax(out_plain.item_logits + bias, -1)[torch.arange(3), TARGET_ITEMS].mean()
    torch.testing.assert_close(out_prior.retrieval_loss, by_hand)
    # The diffusion part is untouched; the history loss is that of the same biased logits, item by item.
    torch.testing.assert_close(out_prior.canvas_log_probs, out_plain.canvas_log_probs, atol=0, rtol=0)
    by_item = torch.cat(list(history_item_losses(plain, batch, logit_bias=bias).values()))
    torch.testing.assert_close(out_prior.history_retrieval_loss, by_item.mean(), atol=1e-5, rtol=0)


def test_the_prior_is_in_the_head_the_decoders_read():
    plain, with_prior = prior_pair()
    users = torch.arange(3)
    read_plain = plain.build_canvas_scorer(**inputs_of(plain)).item_log_probs(users)
    read_prior = with_prior.build_canvas_scorer(**inputs_of(with_prior)).item_log_probs(users)
    torch.testing.assert_close(read_prior, torch.log_softmax(read_plain + TAU * torch.log1p(COUNTS.float()), -1))
    # popularity_adjustment = tau takes the bias off again: the learned part alone.
    balanced = with_prior.build_canvas_scorer(**inputs_of(with_prior), popularity_adjustment=TAU).item_log_probs(users)
    torch.testing.assert_close(balanced, read_plain)


def test_a_saved_model_keeps_its_prior_and_counts(tmp_path):
    _, model = prior_pair()
    model.save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path).eval()
    assert loaded.config.retrieval_popularity_prior == TAU
    users = torch.arange(3)
    torch.testing.assert_close(
        loaded.build_canvas_scorer(**inputs_of(loaded)).item_log_probs(users),
        model.build_canvas_scorer(**inputs_of(model)).item_log_probs(users),
        atol=0,
        rtol=0,
    )


def test_the_prior_needs_the_counts_and_a_head():
    model = head_model(retrieval_popularity_prior=TAU)
    batch, _, _ = batch_with_catalogue_history(model)
    with pytest.raises(ValueError, match=r"`retrieval_popularity_prior` > 0 needs the items' training counts: call"):
        model(**batch)
    with pytest.raises(StrictDataclassClassValidationError, match=r"`retrieval_popularity_prior` > 0 needs `item_retrieval_head"):
        head_config(item_retrieval_head=False, retrieval_popularity_prior=TAU)
    for bad in (-0.5, float("inf")):
        with pytest.raises(StrictDataclassClassValidationError, match=r"`retrieval_popularity_prior` must be a finite number >= 0"):
            head_config(retrieval_popularity_prior=bad)
        with pytest.raises(ValueError, match=r"retrieval_popularity_prior must be a finite number >= 0"):
            ModelArguments(item_retrieval_head=True, retrieval_popularity_prior=bad)
    with pytest.raises(ValueError, match=r"retrieval_popularity_prior > 0 needs item_retrieval_head=True"):
        ModelArguments(retrieval_popularity_prior=TAU)
