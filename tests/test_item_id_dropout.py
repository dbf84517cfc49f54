"""Item-ID dropout: in training, an item's learned embedding is zeroed with probability ``item_id_dropout``
(per history position and per catalogue item), so the item is seen by its codes alone; never at inference."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from test_history_item_embeddings import batch_with_catalogue_history
from test_item_retrieval_head import head_config, head_model

from mindrec.training.arguments import ModelArguments


def test_each_item_keeps_its_embedding_whole_or_loses_all_of_it():
    model = head_model(item_id_dropout=0.5).train()
    embeddings = model.model.item_embeddings.weight
    torch.manual_seed(1)
    dropped = model.model.learned_item_vectors()  # [num_items, hidden]
    kept = (dropped == embeddings).all(-1)
    zeroed = (dropped == 0).all(-1)
    assert bool((kept | zeroed).all())  # not rescaled: a kept row is the embedding itself
    assert 0 < int(zeroed.sum()) < embeddings.shape[0]  # seed 1 drops some of the 6 items, not all
    indices = torch.tensor([[0, 1, 2, 3, 4, 5, 0, 1]])
    torch.manual_seed(2)
    by_position = model.model.learned_item_vectors(indices)[0]  # [8, hidden]
    drawn = (by_position == 0).all(-1)
    assert bool(drawn.any()) and not bool(drawn.all())
    torch.testing.assert_close(by_position[~drawn], embeddings[indices[0][~drawn]], atol=0, rtol=0)


def test_catalogue_vectors_lose_the_dropped_items_learned_part_only():
    model = head_model(item_id_dropout=0.5).train()
    torch.manual_seed(1)
    dropped = model.model.learned_item_vectors()
    torch.manual_seed(1)
    catalogue = model.model.catalogue_item_vectors()
    codes_only = catalogue - dropped
    with torch.no_grad():
        model.model.item_embeddings.weight.zero_()
    torch.testing.assert_close(codes_only, model.model.catalogue_item_vectors(), atol=1e-6, rtol=0)


def test_inference_and_a_zero_rate_never_drop():
    model = head_model(item_id_dropout=0.9).eval()
    torch.testing.assert_close(model.model.learned_item_vectors(), model.model.item_embeddings.weight, atol=0, rtol=0)
    batch, _, _ = batch_with_catalogue_history(model)
    torch.manual_seed(0)
    first = model(**batch).item_logits
    torch.manual_seed(1)
    torch.testing.assert_close(model(**batch).item_logits, first, atol=0, rtol=0)
    # In training, a zero rate leaves every learned vector whole, whatever the random state.
    zero = head_model(item_id_dropout=0.0).train()
    torch.manual_seed(2)
    torch.testing.assert_close(zero.model.learned_item_vectors(), zero.model.item_embeddings.weight, atol=0, rtol=0)


def test_training_with_dropout_changes_the_loss_and_keeps_gradients_flowing():
    plain = head_model().train()
    dropped = head_model(item_id_dropout=0.5).train()
    dropped.load_state_dict(plain.state_dict())
    batch, _, _ = batch_with_catalogue_history(plain)
    torch.manual_seed(3)
    plain_loss = plain(**batch).loss
    torch.manual_seed(3)
    out = dropped(**batch)
    assert not torch.allclose(out.loss, plain_loss)
    out.loss.backward()
    grad = dropped.model.item_embeddings.weight.grad
    assert grad is not None and bool(torch.isfinite(grad).all()) and grad.abs().sum() > 0


def test_item_id_dropout_is_validated():
    for value in (1.0, -0.1):
        with pytest.raises(StrictDataclassClassValidationError, match=r"item_id_dropout.*\[0, 1\)"):
            head_config(item_id_dropout=value)
    with pytest.raises(StrictDataclassClassValidationError, match="needs `history_item_embeddings=True`"):
        head_config(history_item_embeddings=False, item_retrieval_head=False, item_id_dropout=0.1)
    with pytest.raises(ValueError, match="item_id_dropout > 0 needs history_item_embeddings=True"):
        ModelArguments(item_id_dropout=0.1)
    with pytest.raises(ValueError, match=r"item_id_dropout"):
        ModelArguments(history_item_embeddings=True, item_id_dropout=1.0)
