"""TIGER-style autoregressive baseline: causal scorer, teacher-forced loss, prefix-constrained beam search."""

import itertools
import json

import pytest
import torch
from tiny import random_batch, tiny_config

from mindrec.baselines.tiger import autoregressive_config, build_autoregressive_model
from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.modeling_mindrec_autoregressive import (
    MindRecAutoregressiveCanvasScorer,
    MindRecForAutoregressiveRecommendation,
)
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer


def tiny_ar(seed: int = 0, **overrides) -> MindRecForAutoregressiveRecommendation:
    torch.manual_seed(seed)
    return MindRecForAutoregressiveRecommendation(tiny_config(is_causal=True, **overrides)).eval()


def slot_values(model, labels):
    """Canvas token ids of ``labels`` -> slot values ``[B, L]``."""
    length = model.config.code_length
    return labels[:, -length:] - torch.tensor(model.config.code_slot_offsets)


def teacher_forced_log_probs(model, input_ids, attention_mask, canvas):
    """Independent path: full-vocabulary logits of the teacher-forced sequence, sliced per slot by hand.

    Returns ``[B, L, max_slot_size]`` with ``-inf`` past each slot's size.
    """
    config = model.config
    length = config.code_length
    tokens = torch.tensor(config.code_slot_offsets) + canvas
    sequence = torch.cat([input_ids[:, :-length], tokens], dim=1)
    with torch.no_grad():
        logits = model(input_ids=sequence, attention_mask=attention_mask).logits.float()
    out = torch.full((canvas.shape[0], length, max(config.code_slot_sizes)), float("-inf"))
    for slot, (offset, size) in enumerate(zip(config.code_slot_offsets, config.code_slot_sizes, strict=True)):
        position = sequence.shape[1] - length - 1 + slot  # the position before the slot
        out[:, slot, :size] = torch.log_softmax(logits[:, position, offset : offset + size], dim=-1)
    return out


# ------------------------------------------------------------------------------------------------ model


def test_requires_a_causal_config():
    with pytest.raises(ValueError, match="is_causal=True"):
        MindRecForAutoregressiveRecommendation(tiny_config())
    assert isinstance(tiny_ar(), MindRecForRecommendation)  # same backbone, head and canvas helpers
    assert tiny_ar().lm_head.weight.data_ptr() != tiny_ar().model.embed_tokens.weight.data_ptr()


def test_loss_is_mean_per_slot_teacher_forced_cross_entropy():
    model = tiny_ar(seed=1)
    batch = random_batch(model.config)
    canvas = slot_values(model, batch["labels"])
    out = model(**batch)
    expected_log_probs = teacher_forced_log_probs(model, batch["input_ids"], batch["attention_mask"], canvas)
    nll = -expected_log_probs.gather(-1, canvas[..., None]).squeeze(-1)  # [B, L]
    torch.testing.assert_close(out.loss, nll.sum(-1).mean() / model.config.code_length)
    finite = torch.isfinite(expected_log_probs)
    torch.testing.assert_close(out.canvas_log_probs[finite], expected_log_probs[finite])
    assert torch.equal(torch.isfinite(out.canvas_log_probs), finite)


def test_forward_rejects_diffusion_options():
    model = tiny_ar()
    batch = random_batch(model.config)
    with pytest.raises(ValueError, match="masked-diffusion options"):
        model(**batch, noise_mask=torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="masked-diffusion options"):
        model(**batch, loss_weights=torch.ones(3))


# ------------------------------------------------------------------------------------------------ scorer


@pytest.mark.parametrize("history_cache", ["exact", "prompt_cache"])
def test_scorer_next_slot_ignores_later_slots_and_matches_teacher_forcing(history_cache):
    model = tiny_ar(seed=2)
    batch = random_batch(model.config)
    target = slot_values(model, batch["labels"])  # [3, 5]
    scorer = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache=history_cache)
    assert isinstance(scorer, MindRecAutoregressiveCanvasScorer)
    assert scorer.code_slot_sizes == [3, 4, 8, 8, 8] and scorer.num_category_levels == 2
    reference = teacher_forced_log_probs(model, batch["input_ids"], batch["attention_mask"], target)
    rows = torch.tensor([2, 0, 1, 2])
    for next_slot in range(5):
        canvas = target[rows].clone()
        canvas[:, next_slot:] = -1  # a left-to-right state: slots < next_slot filled
        scored = scorer(canvas, rows)
        assert scored.dtype == torch.float32 and scored.shape == (4, 5, 8)
        torch.testing.assert_close(scored[:, : next_slot + 1], reference[rows, : next_slot + 1])
        # Filling later slots (with anything) must not move the slots up to the next one: causality.
        later = canvas.clone()
        later[:, next_slot + 1 :] = torch.tensor([0, 3, 7, 1, 5])[next_slot + 1 :]
        assert torch.equal(scorer(later, rows)[:, : next_slot + 1], scored[:, : next_slot + 1])


def test_scorer_is_left_padding_invariant_and_cache_is_exact():
    model = tiny_ar(seed=3)
    batch = random_batch(model.config, pad=(0, 3, 5))
    canvas = slot_values(model, batch["labels"])
    rows = torch.arange(3)
    exact = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="exact")
    cached = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="prompt_cache")
    full = exact(canvas, rows)
    finite = torch.isfinite(full)
    torch.testing.assert_close(cached(canvas, rows)[finite], full[finite])
    # Row 2 without its 5 padding positions scores the same.
    alone = model.build_canvas_scorer(batch["input_ids"][2:, 5:], batch["attention_mask"][2:, 5:])
    torch.testing.assert_close(alone(canvas[2:], torch.tensor([0]))[finite[2:]], full[2:][finite[2:]])


def test_scorer_rejects_bad_inputs():
    model = tiny_ar()
    batch = random_batch(model.config)
    with pytest.raises(ValueError, match="must be \\[MASK\\] tokens"):
        model.build_canvas_scorer(batch["labels"].clamp(min=0), batch["attention_mask"])
    with pytest.raises(ValueError, match="history_cache"):
        model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"], history_cache="kv")
    scorer = model.build_canvas_scorer(batch["input_ids"], batch["attention_mask"])
    with pytest.raises(ValueError, match=r"must be \[rows, 5\]"):
        scorer(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, dtype=torch.long))


# ------------------------------------------------------------------------------------------------ search


def brute_force_top_k(model, input_ids, attention_mask, catalogue, k, excluded=()):
    """Score every catalogue item with the teacher-forced path; the ``k`` best (item, score), best first."""
    scored = []
    for item, code in enumerate(catalogue.tolist()):
        if item in excluded:
            continue
        log_probs = teacher_forced_log_probs(model, input_ids, attention_mask, torch.tensor([code]))[0]
        scored.append((float(sum(log_probs[slot, value] for slot, value in enumerate(code))), item))
    scored.sort(key=lambda pair: -pair[0])
    return [item for _, item in scored[:k]], [score for score, _ in scored[:k]]


def test_constrained_beam_search_equals_brute_force_on_two_slot_codes():
    model = tiny_ar(seed=4, num_category_levels=0, num_sid_digits=2, code_slot_sizes=[3, 4])
    every_code = torch.tensor(list(itertools.product(range(3), range(4))))
    catalogue = every_code[[0, 2, 3, 5, 6, 7, 9, 10, 11]]  # 9 of the 12 codes: the constraint matters
    batch = random_batch(model.config)
    # 3 slot-0 values, so 5 beams keep every prefix: the beam search is exhaustive.
    out = model.generate(
        batch["input_ids"], batch["attention_mask"], catalogue=catalogue, num_beams=5, num_return_items=5,
        excluded_items=[[], [1, 4], [8]],
    )
    for row, excluded in enumerate([(), (1, 4), (8,)]):
        items, scores = brute_force_top_k(
            model, batch["input_ids"][row : row + 1], batch["attention_mask"][row : row + 1], catalogue, 5, excluded
        )
        assert out.item_indices[row].tolist() == items
        torch.testing.assert_close(out.scores[row], torch.tensor(scores))
        assert torch.equal(out.codes[row], catalogue[out.item_indices[row]])


def test_generate_rejects_out_of_order_strategies():
    model = tiny_ar()
    batch = random_batch(model.config)
    codes = torch.tensor(list(itertools.product(range(3), range(4), range(2), range(2), range(2))))
    for strategy in ("diffusion_beam_search", "parallel_denoising", "low_confidence"):
        with pytest.raises(ValueError, match="decodes only with decoding_strategy='left_to_right'"):
            model.generate(batch["input_ids"], batch["attention_mask"], catalogue=codes, decoding_strategy=strategy)
    assert model.generation_config.decoding_strategy == "left_to_right"


# ------------------------------------------------------------------------------------------------ training


def successor_tokenizer(num_items: int = 12) -> MindRecTokenizer:
    """12 items with 2-slot codes (3 x 4 values), item ``i`` -> code ``(i // 4, i % 4)`` shuffled."""
    codes = list(itertools.product(range(3), range(4)))
    order = torch.randperm(num_items, generator=torch.Generator().manual_seed(0)).tolist()
    table = {
        "format_version": 1,
        "num_category_levels": 0,
        "num_sid_digits": 2,
        "code_slot_sizes": [3, 4],
        "item_ids": [f"item{i}" for i in range(num_items)],
        "codes": [list(codes[order[i]]) for i in range(num_items)],
    }
    return MindRecTokenizer.from_code_table(table, max_history=4)


def test_trains_on_a_successor_rule_and_decodes_valid_distinct_items(tmp_path):
    tokenizer = successor_tokenizer()
    model = build_autoregressive_model(
        tokenizer, seed=0, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    )
    assert model.config.is_causal and model.config.code_slot_sizes == [3, 4]
    # The next item is always last + 1 (mod 12); histories of 1 .. 4 items.
    histories = [[(start + i) % 12 for i in range(length)] for start in range(12) for length in range(1, 5)]
    targets = [(history[-1] + 1) % 12 for history in histories]
    batch = tokenizer(histories, targets)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(40):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    assert losses[-1] < 0.1 * losses[0]

    tests = [[3, 4, 5], [10, 11], [7]]
    encoded = tokenizer(tests)
    out = model.generate(
        encoded["input_ids"], encoded["attention_mask"], catalogue=tokenizer.item_codes, num_beams=4,
        num_return_items=4,
    )
    assert out.item_indices[:, 0].tolist() == [6, 0, 8]
    for row in range(3):
        items = out.item_indices[row].tolist()
        assert len(set(items)) == 4 and all(0 <= item < 12 for item in items)
        assert torch.equal(out.codes[row], tokenizer.item_codes[out.item_indices[row]])
        assert bool((out.scores[row][:-1] >= out.scores[row][1:]).all())

    # Round trip: the saved model reloads with its left-to-right generation config and the same outputs.
    model.save_pretrained(tmp_path)
    loaded = MindRecForAutoregressiveRecommendation.from_pretrained(tmp_path).eval()
    assert loaded.generation_config.decoding_strategy == "left_to_right"
    again = loaded.generate(
        encoded["input_ids"], encoded["attention_mask"], catalogue=tokenizer.item_codes, num_beams=4,
        num_return_items=4,
    )
    assert torch.equal(again.item_indices, out.item_indices)


def test_autoregressive_config_takes_the_tokenizer_layout():
    tokenizer = successor_tokenizer()
    config = autoregressive_config(tokenizer, hidden_size=16, num_attention_heads=2, intermediate_size=32)
    tokenizer.check_compatible(config)
    assert config.is_causal and config.hidden_size == 16
    with pytest.raises(ValueError, match=r"\['code_slot_sizes'\] come from the tokenizer"):
        autoregressive_config(tokenizer, code_slot_sizes=[3, 4])
    with pytest.raises(ValueError, match="needs is_causal=True"):
        autoregressive_config(tokenizer, is_causal=False)


@pytest.mark.slow
def test_remote_code_load_without_mindrec(tmp_path):
    """The saved AR model is self-contained remote code (its file plus the MindRec files it imports)."""
    from remote_loading import run_without_mindrec

    # What modeling/__init__.py does for the AR model; repeated here so the test stands alone.
    MindRecForAutoregressiveRecommendation.register_for_auto_class("AutoModelForCausalLM")
    model = tiny_ar(seed=5)
    model.save_pretrained(tmp_path / "model")
    auto_map = json.loads((tmp_path / "model" / "config.json").read_text())["auto_map"]
    assert auto_map["AutoModelForCausalLM"] == "modeling_mindrec_autoregressive.MindRecForAutoregressiveRecommendation"
    batch = random_batch(model.config)
    torch.save(batch, tmp_path / "batch.pt")
    with torch.no_grad():
        expected = model(**batch).loss.item()
    result = run_without_mindrec(
        """
        import torch
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained("model", trust_remote_code=True).eval()
        batch = torch.load("batch.pt")
        with torch.no_grad():
            loss = model(**batch).loss.item()
        print(type(model).__name__, model.generation_config.decoding_strategy, repr(loss))
        """,
        tmp_path,
    )
    assert result.stdout.split() == ["MindRecForAutoregressiveRecommendation", "left_to_right", repr(expected)]
