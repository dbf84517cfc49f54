"""The canvas scorer: exact mode equals a full forward; the prompt cache is exact on a fully masked canvas."""

import pytest
import torch
from tiny import random_batch, tiny_model


def full_forward_log_probs(model, batch, canvas, row_to_user):
    config = model.config
    ids = batch["input_ids"][row_to_user].clone()
    offsets = torch.tensor(config.code_slot_offsets)
    ids[:, -config.code_length :] = torch.where(canvas < 0, config.mask_token_id, offsets + canvas.clamp(min=0))
    hidden = model.model(input_ids=ids, attention_mask=batch["attention_mask"][row_to_user]).last_hidden_state
    return model.canvas_log_probs(hidden[:, -config.code_length :])


@pytest.mark.parametrize("history_cache", ["exact", "prompt_cache"])
def test_scorer_shapes_normalisation_and_padding(history_cache):
    model = tiny_model()
    config = model.config
    batch = random_batch(config)
    scorer = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache=history_cache)
    assert scorer.code_slot_sizes == [3, 4, 8, 8, 8] and scorer.num_category_levels == 2
    canvas = torch.full((4, 5), -1)
    canvas[1, 0], canvas[2, 3] = 2, 7
    log_probs = scorer(canvas, torch.tensor([0, 1, 2, 2]))
    assert log_probs.shape == (4, 5, 8) and log_probs.dtype == torch.float32
    for slot, size in enumerate(config.code_slot_sizes):
        assert bool(torch.isinf(log_probs[:, slot, size:]).all())
        torch.testing.assert_close(log_probs[:, slot, :size].exp().sum(-1), torch.ones(4))


def test_exact_mode_equals_a_full_forward_pass():
    model = tiny_model()
    batch = random_batch(model.config)
    scorer = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"])
    canvas = torch.tensor([[-1, -1, -1, -1, -1], [2, -1, 5, -1, -1], [0, 3, 1, 1, 7], [-1, 1, -1, -1, 0]])
    rows = torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(scorer(canvas, rows), full_forward_log_probs(model, batch, canvas, rows), atol=1e-5, rtol=0)


def test_prompt_cache_is_exact_on_a_fully_masked_canvas_and_approximate_after():
    model = tiny_model()
    batch = random_batch(model.config)
    exact = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="exact")
    cached = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="prompt_cache")
    rows = torch.tensor([0, 1, 2])
    masked = torch.full((3, 5), -1)
    torch.testing.assert_close(cached(masked, rows), exact(masked, rows), atol=1e-5, rtol=0)
    filled = masked.clone()
    filled[:, 0] = 1
    assert not torch.allclose(cached(filled, rows), exact(filled, rows), atol=1e-5)


def test_prompt_cache_packs_rows_per_user_without_mixing_them():
    """A call with several rows per user (uneven counts, any order) equals one call per row: the packed
    replay shares each user's prompt keys/values, and rows of one user never attend to each other."""
    model = tiny_model(seed=4)
    batch = random_batch(model.config, pad=(0, 3, 5))
    cached = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="prompt_cache")
    generator = torch.Generator().manual_seed(0)
    rows = torch.tensor([2, 0, 2, 2, 1, 0])
    sizes = torch.tensor(model.config.code_slot_sizes)
    canvas = (torch.rand(6, 5, generator=generator) * sizes).long()
    canvas[torch.rand(6, 5, generator=generator) < 0.5] = -1
    together = cached(canvas, rows)
    one_by_one = torch.cat([cached(canvas[i : i + 1], rows[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(together, one_by_one, atol=1e-5, rtol=0)


def test_backbone_4d_mask_needs_positions():
    model = tiny_model()
    batch = random_batch(model.config)
    mask = batch["attention_mask"].bool()[:, None, None, :].expand(-1, 1, batch["input_ids"].shape[1], -1)
    with pytest.raises(ValueError, match="needs explicit `position_ids`"):
        model.model(input_ids=batch["input_ids"], attention_mask=mask)
    with pytest.raises(ValueError, match=r"`attention_mask` must be \[batch, kv_seq\]"):
        model.model(input_ids=batch["input_ids"], attention_mask=mask[:, 0])
    positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    torch.testing.assert_close(
        model.model(input_ids=batch["input_ids"], attention_mask=mask, position_ids=positions).last_hidden_state,
        model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state,
    )


def test_scorer_input_errors():
    model = tiny_model()
    batch = random_batch(model.config)
    with pytest.raises(ValueError, match="`history_cache` must be one of"):
        model.build_canvas_scorer(batch["input_ids"], history_cache="kv")
    ids = batch["input_ids"].clone()
    ids[0, -1] = model.config.code_token_offset
    with pytest.raises(ValueError, match=r"must be \[MASK\] tokens"):
        model.build_canvas_scorer(ids, batch["attention_mask"])
    mask = batch["attention_mask"].clone()
    mask[1, -1] = 0
    with pytest.raises(ValueError, match="pad on the left"):
        model.build_canvas_scorer(batch["input_ids"], mask)
    scorer = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"])
    with pytest.raises(ValueError, match=r"`canvas` must be \[rows, 5\]"):
        scorer(torch.full((2, 4), -1), torch.tensor([0, 1]))
