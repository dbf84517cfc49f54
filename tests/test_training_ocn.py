"""Training noise: the mask-rate floor through the trainer's path, and OCN's nested views."""

import pytest
import torch
from tiny import random_batch, tiny_model
from training_support import tiny_arguments

from mindrec.pipeline import build_run
from mindrec.training.ocn import nested_views, ocn_batch, slot_confidence
from mindrec.training.trainer import Trainer, make_accelerator


def test_nested_views_mask_the_least_confident_slots_first():
    confidence = torch.tensor([[0.9, 0.2, 0.5, 0.7], [0.3, 0.3, 0.8, 0.1]])
    views = nested_views(confidence)
    assert views.shape == (2, 4, 4)
    # user 0: order by confidence 1 (0.2), 2 (0.5), 3 (0.7), 0 (0.9)
    assert views[0].int().tolist() == [[0, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 1], [1, 1, 1, 1]]
    # user 1: slot 3 (0.1), then the tie 0/1 broken by slot order, then slot 2
    assert views[1].int().tolist() == [[0, 0, 0, 1], [1, 0, 0, 1], [1, 1, 0, 1], [1, 1, 1, 1]]
    assert bool((views[:, 1:] >= views[:, :-1]).all())  # nested
    assert views.sum(-1).tolist() == [[1, 2, 3, 4]] * 2
    with pytest.raises(ValueError, match=r"must be \[batch, code_length\]"):
        nested_views(torch.zeros(4))


def test_slot_confidence_reads_a_fully_masked_canvas_in_eval_mode(monkeypatch):
    model = tiny_model().train()
    config = model.config
    batch = random_batch(config, batch=2)
    batch["input_ids"][:, -1] = config.code_slot_offsets[-1]  # a filled slot must be re-masked
    seen = {}
    # Hand-built per-slot log-probabilities: slot s of row b puts probability probs[b, s] on value 0.
    probs = torch.tensor([[0.9, 0.4, 0.6, 0.3, 0.8], [0.5, 0.95, 0.2, 0.7, 0.35]])

    def fake_log_probs(hidden, temperature=1.0):
        seen["training"] = model.training
        rest = (1 - probs) / 2
        values = torch.stack([probs, rest, rest], dim=-1)
        return values.log()

    original_backbone = model.model.forward

    def spy_backbone(input_ids=None, **kwargs):
        seen["canvas"] = input_ids[:, -config.code_length :].clone()
        return original_backbone(input_ids=input_ids, **kwargs)

    monkeypatch.setattr(model, "canvas_log_probs", fake_log_probs)
    monkeypatch.setattr(model.model, "forward", spy_backbone)
    confidence = slot_confidence(model, batch)
    torch.testing.assert_close(
        confidence, torch.tensor([[0.9, 0.4, 0.6, 0.35, 0.8], [0.5, 0.95, 0.4, 0.7, 0.35]])
    )
    assert seen["training"] is False and model.training is True  # eval for the pass, restored after
    assert bool((seen["canvas"] == config.mask_token_id).all())
    views = nested_views(confidence)
    assert views[0, 0].nonzero().flatten().tolist() == [3]  # 0.35 is user 0's least confident slot
    assert views[1, 1].nonzero().flatten().tolist() == [2, 4]


def test_ocn_loss_is_the_mean_over_views_of_each_views_mean_cross_entropy():
    model = tiny_model()
    config = model.config
    batch = random_batch(config, batch=2)
    expanded = ocn_batch(model, batch)
    length = config.code_length
    assert expanded["input_ids"].shape == (2 * length, batch["input_ids"].shape[1])
    assert torch.equal(expanded["input_ids"][length], batch["input_ids"][1])
    assert expanded["loss_weights"].tolist() == pytest.approx([length / t for t in range(1, length + 1)] * 2)
    loss = model(**expanded).loss

    # By hand: every (user, view) forward, mean CE over that view's masked slots, then the plain mean.
    terms = []
    for row in range(2 * length):
        single = {
            key: value[row : row + 1] for key, value in expanded.items() if key not in ("loss_weights",)
        }
        output = model(**single, loss_weights=torch.ones(1))
        masked = single["noise_mask"].sum()
        terms.append(output.loss * length / masked)  # the model divides by code_length
    torch.testing.assert_close(loss, torch.stack(terms).mean())


def test_mask_rate_never_drops_below_eps_in_training(tmp_path, monkeypatch):
    eps = 0.6
    arguments = tiny_arguments(tmp_path, mask_eps=eps, max_steps=12, train_batch_size=64, eval_steps=100)
    data_args, code_args, model_args, train_args, eval_args = arguments
    accelerator = make_accelerator("no")
    data, model, _, _, task, signature = build_run(*arguments, accelerator)
    assert model.noise_schedule.eps == eps and model.config.mask_eps == eps
    draws = []
    original = model.noise_schedule.add_noise

    def spy(*args, **kwargs):
        output = original(*args, **kwargs)
        draws.append((output.mask_prob.clone(), output.noise_mask.float().mean(1)))
        return output

    monkeypatch.setattr(model.noise_schedule, "add_noise", spy)
    Trainer(
        model,
        task,
        data.splits["train"],
        None,
        train_args,
        eval_args,
        signature,
        lambda *a: None,
        accelerator,
    ).train()
    rates = torch.cat([p for p, _ in draws])
    fractions = torch.cat([f for _, f in draws])
    rows, per_epoch = len(data.splits["train"]), -(-len(data.splits["train"]) // 64)
    assert len(draws) == 12 and rates.numel() == sum(
        min(64, rows - 64 * (step % per_epoch)) for step in range(12)
    )
    assert float(rates.min()) >= eps and float(rates.max()) <= 1.0
    # E[masked fraction] = E[p] = (1 + eps) / 2 = 0.8; ~750 rows of 4 slots put the mean within +-0.03.
    assert abs(float(fractions.mean()) - (1 + eps) / 2) < 0.03
