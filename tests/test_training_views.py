"""Prompt isolation and packed training views (issue #12's sample-efficiency levers).

* With ``prompt_attends_canvas=False`` the prompt's states do not depend on the canvas, so the decoding
  prompt cache equals the exact scorer at every step (not only on a fully masked canvas).
* Several noise views of a row run packed in ONE forward pass; the packed loss and log-probs equal the
  views run one by one.
* ``sample_views``: the decoding-path views are nested, fill categories coarse to fine, then digits.
"""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from tiny import random_batch, tiny_config, tiny_model

from mindrec.modeling import MaskedDiffusionSchedule, MindRecConfig
from mindrec.modeling.modeling_mindrec import packed_views_mask
from mindrec.modeling.scheduling_masked_diffusion import coarse_to_fine_fill_rank


def isolated_model(seed: int = 0, **overrides):
    return tiny_model(seed, prompt_attends_canvas=False, **overrides)


def test_isolated_prompt_states_do_not_depend_on_the_canvas():
    model = isolated_model()
    batch = random_batch(model.config)
    length = model.config.code_length
    other = batch["input_ids"].clone()
    other[:, -length:] = torch.tensor(model.config.code_slot_offsets)  # value 0 in every slot
    first = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    second = model.model(input_ids=other, attention_mask=batch["attention_mask"]).last_hidden_state
    unpadded = batch["attention_mask"][:, :-length].bool()
    torch.testing.assert_close(first[:, :-length][unpadded], second[:, :-length][unpadded], atol=1e-6, rtol=0)
    assert not torch.allclose(first[:, -length:], second[:, -length:], atol=1e-4)
    # The default layout mixes the canvas into the prompt (the mutation this test guards against).
    full = tiny_model()
    a = full.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    b = full.model(input_ids=other, attention_mask=batch["attention_mask"]).last_hidden_state
    assert not torch.allclose(a[:, :-length][unpadded], b[:, :-length][unpadded], atol=1e-4)


def test_prompt_cache_equals_the_exact_scorer_at_every_step_when_the_prompt_is_isolated():
    model = isolated_model(seed=3)
    batch = random_batch(model.config, pad=(0, 3, 5))
    exact = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="exact")
    cached = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="prompt_cache")
    canvas = torch.tensor([[-1, -1, -1, -1, -1], [2, -1, 5, -1, -1], [0, 3, 1, 1, 7], [-1, 1, -1, -1, 0], [1, 2, -1, 6, -1]])
    rows = torch.tensor([0, 1, 2, 1, 0])
    torch.testing.assert_close(cached(canvas, rows), exact(canvas, rows), atol=1e-5, rtol=0)


def test_packed_views_mask_layout():
    prompt = torch.tensor([[0, 1, 1], [1, 1, 1]])
    mask = packed_views_mask(prompt, num_views=2, code_length=2)[:, 0]  # [B, 7, 7]
    assert mask.shape == (2, 7, 7)
    # Prompt queries: prompt tokens only (never a canvas, never padding; a padding query sees itself).
    assert mask[0, 1:3].tolist() == [[False, True, True, False, False, False, False]] * 2
    assert mask[0, 0].tolist() == [True, True, True, False, False, False, False]
    # View 0 queries: prompt tokens + view 0; view 1 queries: prompt tokens + view 1.
    assert mask[1, 3].tolist() == [True, True, True, True, True, False, False]
    assert mask[1, 6].tolist() == [True, True, True, False, False, True, True]


@pytest.mark.parametrize("history_encoding", ["tokens", "pooled"])
def test_packed_views_equal_the_views_run_one_by_one(history_encoding):
    model = isolated_model(seed=1, num_random_views=2, num_path_views=5, history_encoding=history_encoding)
    batch = pooled_batch(model.config) if history_encoding == "pooled" else random_batch(model.config)
    views = model.noise_schedule.sample_views(
        3, model.config.code_length, 2, num_random_views=2, num_path_views=5,
        generator=torch.Generator().manual_seed(5),
    )
    assert views.noise_mask.shape == (3, 2 + 5, 5)
    packed = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    one_by_one = []
    for view in range(views.noise_mask.shape[1]):
        single = model(**batch, noise_mask=views.noise_mask[:, view], loss_weights=views.weights[:, view])
        torch.testing.assert_close(packed.canvas_log_probs[:, view], single.canvas_log_probs, atol=1e-5, rtol=0)
        one_by_one.append(single.loss)
    torch.testing.assert_close(packed.loss, torch.stack(one_by_one).mean(), atol=1e-6, rtol=0)
    # Drawing the views from the config with the same generator gives the same loss.
    drawn = model(**batch, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(drawn.loss, packed.loss)


def pooled_batch(config: MindRecConfig):
    """Three left-padded rows [PAD]* [BOS] [ITEM] x items [SEP] canvas with their history codes."""
    length = config.code_length
    offsets = torch.tensor(config.code_slot_offsets)
    items = [1, 3, 2]
    width = 2 + max(items) + length
    input_ids = torch.full((3, width), config.pad_token_id)
    attention_mask = torch.zeros(3, width, dtype=torch.long)
    history = torch.full((3, max(items), length), config.pad_token_id)
    g = torch.Generator().manual_seed(0)
    for row, count in enumerate(items):
        sequence = [config.bos_token_id] + [config.item_placeholder_token_id] * count + [config.sep_token_id]
        sequence += [config.mask_token_id] * length
        input_ids[row, width - len(sequence) :] = torch.tensor(sequence)
        attention_mask[row, width - len(sequence) :] = 1
        codes = (torch.rand(count, length, generator=g) * torch.tensor(config.code_slot_sizes)).long()
        history[row, max(items) - count :] = offsets + codes
    labels = torch.full_like(input_ids, -100)
    labels[:, -length:] = offsets + torch.tensor([[0, 1, 2, 3, 4], [2, 3, 7, 0, 1], [1, 0, 5, 5, 5]])
    return {"input_ids": input_ids, "attention_mask": attention_mask, "history_code_ids": history, "labels": labels}


def test_decoding_path_views_fill_categories_coarse_to_fine_then_digits():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.4)
    views = schedule.sample_views(64, 7, 3, num_random_views=0, num_path_views=7,
                                  generator=torch.Generator().manual_seed(0))
    mask = views.noise_mask  # [64, 7 views, 7 slots]
    assert mask.shape == (64, 7, 7)
    assert bool(mask[:, 0].all())  # the first view is fully masked
    assert mask.sum(-1).tolist() == [[7, 6, 5, 4, 3, 2, 1]] * 64  # nested, one slot filled per view
    assert bool((mask[:, 1:] <= mask[:, :-1]).all())  # each view's mask inside the previous one
    # Categories coarse to fine: view k (k <= 3) has exactly the first k category slots filled.
    for k in range(4):
        assert bool((~mask[:, k, :k]).all()) and bool(mask[:, k, k:].all())
    # The digit order is random per row: more than one order is drawn.
    ranks = coarse_to_fine_fill_rank(64, 7, 3, generator=torch.Generator().manual_seed(0))
    assert ranks[:, :3].tolist() == [[0, 1, 2]] * 64 and len({tuple(r) for r in ranks[:, 3:].tolist()}) > 1
    # Weight L / masked: each view's term is the mean cross-entropy of its masked slots.
    torch.testing.assert_close(views.weights, (7 / torch.tensor([7.0, 6, 5, 4, 3, 2, 1])).expand(64, 7))


def test_random_views_have_their_own_rates_and_mask_at_least_one_slot():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.2)
    views = schedule.sample_views(200, 5, 2, num_random_views=4, generator=torch.Generator().manual_seed(1))
    assert views.noise_mask.shape == (200, 4, 5) and bool(views.noise_mask.any(-1).all())
    assert bool((views.weights >= 1.0).all()) and bool((views.weights <= 1 / 0.2 + 1e-5).all())
    assert views.weights.unique().numel() > 100  # independent rates per row and view


def test_view_options_need_an_isolated_prompt():
    with pytest.raises(StrictDataclassClassValidationError, match="prompt_attends_canvas=False"):
        tiny_config(num_path_views=2)
    with pytest.raises(StrictDataclassClassValidationError, match="prompt_attends_canvas=False"):
        tiny_config(num_random_views=3)
    with pytest.raises(StrictDataclassClassValidationError, match="No training views"):
        tiny_config(prompt_attends_canvas=False, num_random_views=0)
    model = tiny_model()  # default layout: packed views are refused with a clear error
    batch = random_batch(model.config)
    with pytest.raises(ValueError, match="prompt_attends_canvas=False"):
        model(**batch, noise_mask=torch.ones(3, 2, 5, dtype=torch.bool))


def test_noise_mask_and_weight_shape_errors():
    model = isolated_model()
    batch = random_batch(model.config)
    with pytest.raises(ValueError, match="at least one slot"):
        model(**batch, noise_mask=torch.zeros(3, 2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"`loss_weights` must be \[3, 2\]"):
        model(**batch, noise_mask=torch.ones(3, 2, 5, dtype=torch.bool), loss_weights=torch.ones(3))
    with pytest.raises(ValueError, match="`noise_mask` must be"):
        model(**batch, noise_mask=torch.ones(3, 4, dtype=torch.bool))


def test_a_subset_of_path_states_is_drawn_per_row_in_path_order():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.4)
    views = schedule.sample_views(500, 7, 3, num_random_views=0, num_path_views=3,
                                  generator=torch.Generator().manual_seed(2))
    masked = views.noise_mask.sum(-1)  # [500, 3]: 7 - state
    assert masked.shape == (500, 3) and bool((masked[:, :-1] > masked[:, 1:]).all())  # distinct, path order
    counts = torch.bincount((7 - masked).flatten(), minlength=7)
    assert counts.sum() == 1500 and bool((counts > 150).all())  # every state is drawn (uniformly: ~214 each)
    with pytest.raises(ValueError, match="num_path_views"):
        schedule.sample_views(2, 7, 3, num_random_views=0, num_path_views=8)


def test_causal_prompt_sees_only_earlier_history_and_the_cache_stays_exact():
    model = isolated_model(seed=2, causal_prompt=True)
    batch = random_batch(model.config, pad=(0, 3, 5))
    length = model.config.code_length
    hidden = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    # Changing the last history token changes no earlier prompt state (and does change the canvas).
    changed = batch["input_ids"].clone()
    changed[:, -length - 2] = model.config.code_token_offset + 1
    other = model.model(input_ids=changed, attention_mask=batch["attention_mask"]).last_hidden_state
    keep = batch["attention_mask"][:, : -length - 2].bool()
    torch.testing.assert_close(hidden[:, : -length - 2][keep], other[:, : -length - 2][keep], atol=1e-6, rtol=0)
    assert not torch.allclose(hidden[:, -length:], other[:, -length:], atol=1e-4)
    assert torch.isfinite(hidden).all()  # left-padding queries of a causal prompt do not produce NaN
    exact = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="exact")
    cached = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="prompt_cache")
    canvas = torch.tensor([[-1, -1, -1, -1, -1], [2, -1, 5, -1, -1], [0, 3, 1, 1, 7]])
    rows = torch.tensor([0, 1, 2])
    torch.testing.assert_close(cached(canvas, rows), exact(canvas, rows), atol=1e-5, rtol=0)
    packed_model = isolated_model(seed=2, causal_prompt=True, num_random_views=1, num_path_views=2)
    views = torch.ones(3, 3, length, dtype=torch.bool)
    views[:, 1, 0] = False
    packed = packed_model(**batch, noise_mask=views)
    single = packed_model(**batch, noise_mask=views[:, 1])
    torch.testing.assert_close(packed.canvas_log_probs[:, 1], single.canvas_log_probs, atol=1e-5, rtol=0)
    with pytest.raises(StrictDataclassClassValidationError, match="causal_prompt"):
        tiny_config(causal_prompt=True)


def test_next_slot_path_loss_supervises_the_slot_each_state_fills_next():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.4)
    views = schedule.sample_views(32, 7, 3, num_random_views=1, num_path_views=7, path_loss="next",
                                  generator=torch.Generator().manual_seed(4))
    path_loss = views.loss_mask[:, 1:]  # the 7 path states
    assert path_loss.sum(-1).tolist() == [[1] * 7] * 32  # one supervised slot per state
    assert bool((path_loss <= views.noise_mask[:, 1:]).all())  # a masked slot
    # State k supervises the slot state k + 1 fills: categories in order, then the row's digit order.
    filled_next = views.noise_mask[:, 1:-1] & ~views.noise_mask[:, 2:]
    assert torch.equal(path_loss[:, :-1], filled_next)
    assert path_loss[:, :3, :3].diagonal(dim1=1, dim2=2).all()
    assert torch.equal(views.loss_mask[:, 0], views.noise_mask[:, 0])  # random views keep the masked loss
    torch.testing.assert_close(views.weights[:, 1:], torch.full((32, 7), 7.0))
    # The model's loss is then the mean of those slots' cross-entropies (one per state).
    model = isolated_model(seed=6, num_random_views=0, num_path_views=5, path_loss="next")
    batch = random_batch(model.config)
    out = model(**batch, generator=torch.Generator().manual_seed(9))
    again = model.noise_schedule.sample_views(3, 5, 2, 0, 5, "next", generator=torch.Generator().manual_seed(9))
    targets = batch["labels"][:, -5:] - torch.tensor(model.config.code_slot_offsets)
    nll = -out.canvas_log_probs.gather(-1, targets[:, None, :, None].expand(3, 5, 5, 1)).squeeze(-1)
    torch.testing.assert_close(out.loss, nll[again.loss_mask].mean())
    with pytest.raises(ValueError, match="path_loss"):
        schedule.sample_views(2, 7, 3, path_loss="first")
