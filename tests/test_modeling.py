"""Backbone and task model: padding invariance, attention back-ends, checkpointing, loss, errors."""

import pytest
import torch
import torch.nn.functional as F
from tiny import random_batch, tiny_config, tiny_model

from mindrec.modeling import MindRecForRecommendation


def test_padded_batch_equals_unpadded_single_samples():
    model = tiny_model()
    batch = random_batch(model.config, batch=3, pad=(0, 2, 5))
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    for row in range(3):
        keep = batch["attention_mask"][row].bool()
        single = model(input_ids=batch["input_ids"][row, keep][None]).logits[0]
        torch.testing.assert_close(logits[row, keep], single, atol=1e-5, rtol=0)


def test_sdpa_and_eager_attention_agree():
    batch = random_batch(tiny_config(), batch=3)
    sdpa = tiny_model(attn_implementation="sdpa")
    eager = tiny_model(attn_implementation="eager")
    assert sdpa.config._attn_implementation == "sdpa" and eager.config._attn_implementation == "eager"
    keep = batch["attention_mask"].bool()
    a = sdpa(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    b = eager(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    torch.testing.assert_close(a[keep], b[keep], atol=1e-5, rtol=0)


@pytest.mark.parametrize("dropout", [{}, {"hidden_dropout": 0.3, "attention_dropout": 0.2}])
def test_gradient_checkpointing_gives_identical_loss_and_gradients(dropout):
    """Also with dropout: the recomputed forward replays the same dropout masks."""
    batch = random_batch(tiny_config(), batch=3)
    results = []
    for checkpointing in (False, True):
        model = tiny_model(**dropout).train()
        if checkpointing:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        assert model.model.layers[0].gradient_checkpointing is checkpointing
        torch.manual_seed(5)
        out = model(**batch, generator=torch.Generator().manual_seed(0))
        out.loss.backward()
        results.append((out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.equal(loss_a, loss_b)
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-6, rtol=0)


def test_dropout_acts_in_training_only():
    """Hidden and attention dropout change the training pass (a different draw per seed, the same draw for the
    same seed) and leave evaluation exactly as the same weights without dropout."""
    batch = random_batch(tiny_config(), batch=3)
    inputs = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    plain = tiny_model(attn_implementation="eager").eval()
    for overrides in (dict(hidden_dropout=0.3), dict(attention_dropout=0.3)):
        dropped = MindRecForRecommendation(tiny_config(attn_implementation="eager", **overrides))
        dropped.load_state_dict(plain.state_dict())
        assert torch.equal(dropped.eval()(**inputs).logits, plain(**inputs).logits)
        dropped.train()
        draws = []
        for seed in (0, 0, 1):
            torch.manual_seed(seed)
            draws.append(dropped(**inputs).logits)
        assert torch.equal(draws[0], draws[1])
        assert not torch.allclose(draws[0], draws[2])
        assert not torch.allclose(draws[0], plain(**inputs).logits)


def test_attention_is_bidirectional_unless_causal():
    for causal in (False, True):
        model = tiny_model(is_causal=causal)
        batch = random_batch(model.config, batch=1, pad=(0,))
        ids = batch["input_ids"]
        changed = ids.clone()
        changed[0, -1] = model.config.code_slot_offsets[-1]  # change the last token only
        a, b = model(input_ids=ids).logits, model(input_ids=changed).logits
        earlier_moved = not torch.allclose(a[0, :-1], b[0, :-1], atol=1e-6)
        assert earlier_moved is not causal


def test_loss_matches_hand_computation():
    model = tiny_model()
    config = model.config
    batch = random_batch(config, batch=2)
    noise_mask = torch.tensor([[True, False, True, False, False], [True, True, True, True, True]])
    weights = torch.tensor([2.0, 0.5])
    out = model(**batch, noise_mask=noise_mask, loss_weights=weights)

    length = config.code_length
    noisy = batch["input_ids"].clone()
    noisy[:, -length:] = batch["labels"][:, -length:].masked_fill(noise_mask, config.mask_token_id)
    logits = model(input_ids=noisy, attention_mask=batch["attention_mask"]).logits[:, -length:]
    total = torch.zeros(2)
    for row in range(2):
        for slot in range(length):
            if noise_mask[row, slot]:
                low = config.code_slot_offsets[slot]
                slot_logits = logits[row, slot, low : low + config.code_slot_sizes[slot]]
                target = batch["labels"][row, -length + slot] - low
                total[row] += F.cross_entropy(slot_logits[None], target[None])
    expected = (total / length * weights).mean()
    torch.testing.assert_close(out.loss, expected, atol=1e-6, rtol=0)


def test_random_noising_weighs_rows_by_inverse_mask_rate():
    model = tiny_model(mask_eps=0.3)
    batch = random_batch(model.config, batch=4)
    out = model(**batch, generator=torch.Generator().manual_seed(5))
    # Replay the schedule's draws with the same seed and recompute with explicit weights.
    targets = batch["labels"][:, -model.config.code_length :]
    noise = model.noise_schedule.add_noise(
        targets, torch.ones_like(targets, dtype=torch.bool), generator=torch.Generator().manual_seed(5)
    )
    assert torch.equal(out.noise_mask, noise.noise_mask)
    assert float(noise.mask_prob.min()) >= 0.3
    replay = model(**batch, noise_mask=noise.noise_mask, loss_weights=1.0 / noise.mask_prob)
    torch.testing.assert_close(out.loss, replay.loss, atol=1e-6, rtol=0)


def test_canvas_input_is_ignored_with_labels():
    model = tiny_model()
    batch = random_batch(model.config)
    other = dict(batch, input_ids=batch["input_ids"].clone())
    other["input_ids"][:, -model.config.code_length :] = model.config.code_token_offset
    mask = torch.ones(3, model.config.code_length, dtype=torch.bool)
    assert torch.equal(model(**batch, noise_mask=mask).loss, model(**other, noise_mask=mask).loss)


def test_pooled_history_embeds_sum_of_code_embeddings():
    model = tiny_model(history_encoding="pooled")
    config = model.config
    offsets = torch.tensor(config.code_slot_offsets)
    item_a, item_b = offsets + torch.tensor([0, 1, 2, 3, 4]), offsets + torch.tensor([2, 3, 7, 7, 0])
    pad_row = torch.full((5,), config.pad_token_id)
    canvas = [config.mask_token_id] * 5
    item = config.item_placeholder_token_id
    input_ids = torch.tensor(
        [[config.bos_token_id, item, item, config.sep_token_id, *canvas],
         [config.pad_token_id, config.bos_token_id, item, config.sep_token_id, *canvas]]
    )
    attention_mask = (input_ids != config.pad_token_id).long()
    history = torch.stack([torch.stack([item_a, item_b]), torch.stack([pad_row, item_b])])
    embeds = model.model.embed_inputs(input_ids, history)
    table = model.model.embed_tokens.weight
    torch.testing.assert_close(embeds[0, 1], table[item_a].sum(0))
    torch.testing.assert_close(embeds[0, 2], table[item_b].sum(0))
    torch.testing.assert_close(embeds[1, 2], table[item_b].sum(0))
    torch.testing.assert_close(embeds[1, 3], table[config.sep_token_id])
    out = model(input_ids=input_ids, attention_mask=attention_mask, history_code_ids=history)
    ref = model(inputs_embeds=embeds, attention_mask=attention_mask)
    torch.testing.assert_close(out.logits, ref.logits)


def test_bad_input_errors():
    model = tiny_model()
    config = model.config
    batch = random_batch(config)
    bad_ids = batch["input_ids"].clone()
    bad_ids[0, -1] = config.vocab_size + 3
    with pytest.raises(ValueError, match=r"outside the vocabulary \[0, 38\): \[41\]"):
        model(input_ids=bad_ids)
    with pytest.raises(ValueError, match=r"`labels` shape \(3, 13\) != `input_ids` shape \(3, 14\)"):
        model(input_ids=batch["input_ids"], labels=batch["labels"][:, 1:])
    prompt_label = batch["labels"].clone()
    prompt_label[0, 0] = 9
    with pytest.raises(ValueError, match="only response item tokens are maskable"):
        model(input_ids=batch["input_ids"], labels=prompt_label)
    wrong_slot = batch["labels"].clone()
    wrong_slot[1, -1] = config.code_slot_offsets[0]
    with pytest.raises(ValueError, match=r"`labels` row 1 slot 4 holds token 7, outside that slot's code tokens \[30, 38\)"):
        model(input_ids=batch["input_ids"], labels=wrong_slot)
    with pytest.raises(ValueError, match="at least one slot"):
        model(**batch, noise_mask=torch.zeros(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="only apply with `labels`"):
        model(input_ids=batch["input_ids"], noise_mask=torch.ones(3, 5, dtype=torch.bool))


def test_pooled_history_count_mismatch_is_an_error():
    model = tiny_model(history_encoding="pooled")
    config = model.config
    item = config.item_placeholder_token_id
    input_ids = torch.tensor([[config.bos_token_id, item, item, config.sep_token_id] + [config.mask_token_id] * 5])
    history = (torch.tensor(config.code_slot_offsets))[None, None]  # one item for two placeholders
    with pytest.raises(ValueError, match=r"Row 0 has 2 \[ITEM\] placeholders but 1 history items"):
        model(input_ids=input_ids, history_code_ids=history)
    with pytest.raises(ValueError, match="no `history_code_ids`"):
        model(input_ids=input_ids)


def test_embedding_accessors_and_resize():
    model = tiny_model()
    assert model.get_input_embeddings() is model.model.embed_tokens
    assert model.get_output_embeddings() is model.lm_head
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()  # untied
    model.resize_token_embeddings(50)
    assert model.get_input_embeddings().weight.shape[0] == 50 == model.lm_head.weight.shape[0]
    assert isinstance(model, MindRecForRecommendation)
