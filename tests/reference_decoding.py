"""Plain, slow reference decoders: one user and one hypothesis at a time, Python loops, validity by
scanning the catalogue list. The batched decoders in ``mindrec.modeling`` must match them exactly.

A hypothesis is a ``(score, code)`` pair: ``score`` a 0-d fp32 tensor (sums are done in fp32, in the
same order as the batched code), ``code`` a tuple of slot values with ``-1`` for masked slots. Two
hypotheses are the same when they leave the same set of catalogue items reachable.
"""

from __future__ import annotations

import torch

NEG_INF = float("-inf")


def consistent_items(
    catalogue: list[tuple[int, ...]], code: tuple[int, ...], excluded: set[int]
) -> frozenset:
    """Items (indices into ``catalogue``) not excluded that agree with every fixed slot of ``code``."""
    return frozenset(
        item
        for item, item_code in enumerate(catalogue)
        if item not in excluded and all(value < 0 or value == item_code[s] for s, value in enumerate(code))
    )


def log_probs_of(scorer, code: tuple[int, ...], user: int, temperature: float) -> torch.Tensor:
    """One scorer call on a single row: ``[L, V]`` fp32 log-probs."""
    log_probs = scorer(torch.tensor([code]), torch.tensor([user]))[0].float()
    if temperature != 1.0:
        log_probs = torch.log_softmax(log_probs / temperature, dim=-1)
    return log_probs


def with_value(code: tuple[int, ...], slot: int, value: int) -> tuple[int, ...]:
    return code[:slot] + (value,) + code[slot + 1 :]


def reference_beam_search(
    scorer, catalogue, sizes, user, excluded, fill_schedule, num_beams, temperature=1.0
):
    """Beam search over ``fill_schedule`` (per step, the set of slots that may be filled).

    At each step every child (slot, value) of every hypothesis that keeps an item reachable is scored;
    children leaving the same items reachable are merged (best score kept); the best ``num_beams``
    are kept. Returns ``[(score, code)]`` best first.
    """
    beams = [(torch.tensor(0.0), (-1,) * len(sizes))]
    for fillable in fill_schedule:
        best: dict[frozenset, tuple[torch.Tensor, tuple[int, ...]]] = {}
        for score, code in beams:
            log_probs = log_probs_of(scorer, code, user, temperature)
            for slot in sorted(fillable):
                if code[slot] >= 0:
                    continue
                for value in range(sizes[slot]):
                    child = with_value(code, slot, value)
                    reachable = consistent_items(catalogue, child, excluded)
                    child_score = score + log_probs[slot, value]
                    if not reachable or child_score.item() == NEG_INF:
                        continue
                    if reachable not in best or child_score.item() > best[reachable][0].item():
                        best[reachable] = (child_score, child)
        beams = sorted(best.values(), key=lambda hypothesis: -hypothesis[0].item())[:num_beams]
    return beams


def reference_low_confidence(
    scorer, catalogue, sizes, user, excluded, num_hypotheses, temperature=1.0, tokens_per_step=1
):
    """Greedy low-confidence decoding forked into ``num_hypotheses`` at the first commitment.

    Fork slot: the most confident slot among those with at least ``num_hypotheses`` valid values (the
    most confident overall if none); confidence of a slot = its best valid value's log-prob. Every
    later commitment: the best (masked slot, valid value) by log-prob, validity re-checked each time.
    """
    length = len(sizes)
    empty = (-1,) * length
    first = log_probs_of(scorer, empty, user, temperature)

    def valid_values(code, slot):
        return [
            v for v in range(sizes[slot]) if consistent_items(catalogue, with_value(code, slot, v), excluded)
        ]

    def commit(code, score, log_probs):
        best = None
        for slot in range(length):
            if code[slot] >= 0:
                continue
            for value in valid_values(code, slot):
                if best is None or log_probs[slot, value].item() > best[0].item():
                    best = (log_probs[slot, value], slot, value)
        if best is None or best[0].item() == NEG_INF:
            return None
        return with_value(code, best[1], best[2]), score + best[0]

    confidence, wide = [], []
    for slot in range(length):
        values = valid_values(empty, slot)
        confidence.append(max((first[slot, v].item() for v in values), default=NEG_INF))
        wide.append(len(values) >= num_hypotheses)
    candidates = [s for s in range(length) if wide[s]] or list(range(length))
    seed_slot = max(candidates, key=lambda s: (confidence[s], -s))
    seeds = sorted(valid_values(empty, seed_slot), key=lambda v: -first[seed_slot, v].item())[:num_hypotheses]

    results = []
    for value in seeds:
        code, score = with_value(empty, seed_slot, value), torch.tensor(0.0) + first[seed_slot, value]
        if score.item() == NEG_INF:
            continue
        state = (code, score)
        for _ in range(tokens_per_step - 1):
            if state is None or -1 not in state[0]:
                break
            state = commit(*state, first)
        while state is not None and -1 in state[0]:
            log_probs = log_probs_of(scorer, state[0], user, temperature)
            for _ in range(tokens_per_step):
                if state is None or -1 not in state[0]:
                    break
                state = commit(*state, log_probs)
        if state is not None:
            results.append((state[1], state[0]))
    return results


def fill_schedule(strategy: str, sizes, num_category_levels: int) -> list[set[int]]:
    length = len(sizes)
    if strategy == "diffusion_beam_search":
        sid = set(range(num_category_levels, length))
        return [{level} for level in range(num_category_levels)] + [sid] * (length - num_category_levels)
    if strategy == "parallel_denoising":
        return [set(range(length))] * length
    if strategy == "left_to_right":
        return [{slot} for slot in range(length)]
    raise ValueError(strategy)


def reference_recommend(
    scorer,
    catalogue,
    sizes,
    num_category_levels,
    user,
    excluded,
    strategy,
    num_beams,
    num_return_items,
    temperature=1.0,
    tokens_per_step=1,
):
    """Top-K ``[(item, score float, code)]`` of one user: decode, and decode again with the items found
    so far excluded while fewer than K distinct items were found and a pass still finds new ones."""
    excluded = set(excluded)
    available = len(catalogue) - len(excluded)
    found: dict[int, tuple[torch.Tensor, tuple[int, ...]]] = {}
    while len(found) < min(num_return_items, available):
        blocked = excluded | set(found)
        if strategy == "low_confidence":
            hypotheses = reference_low_confidence(
                scorer, catalogue, sizes, user, blocked, num_beams, temperature, tokens_per_step
            )
        else:
            schedule = fill_schedule(strategy, sizes, num_category_levels)
            hypotheses = reference_beam_search(
                scorer, catalogue, sizes, user, blocked, schedule, num_beams, temperature
            )
        new = 0
        for score, code in hypotheses:
            item = catalogue.index(code)
            if item not in found or score.item() > found[item][0].item():
                new += item not in found
                found[item] = (score, code)
        if new == 0:
            break
    ranked = sorted(found.items(), key=lambda entry: -entry[1][0].item())[:num_return_items]
    return [(item, score.item(), code) for item, (score, code) in ranked]


# --------------------------------------------------------------------------------------------------
# Tiny scorers and catalogues the decoders are tested on


def slot_value_mask(sizes) -> torch.BoolTensor:
    """``[L, V]`` True where value ``v`` exists at slot ``s``."""
    return torch.arange(max(sizes))[None, :] < torch.tensor(sizes)[:, None]


class RandomScorer:
    """A tiny random network over the one-hot canvas plus a per-user context vector.

    Computed in float64 and rounded to fp32, so a row's log-probs do not depend on which other rows
    share the call (batched and one-row-at-a-time decoding then see identical numbers). Records every
    call's ``(canvas, row_to_user)`` in ``calls``.
    """

    def __init__(self, sizes, num_category_levels, num_users, seed, hidden=8, sharpness=3.0):
        generator = torch.Generator().manual_seed(seed)
        length, max_size = len(sizes), max(sizes)
        self.code_slot_sizes = list(sizes)
        self.num_category_levels = num_category_levels
        self.embed = torch.randn(length, max_size + 1, hidden, generator=generator, dtype=torch.float64)
        self.context = torch.randn(num_users, hidden, generator=generator, dtype=torch.float64)
        self.out = sharpness * torch.randn(hidden, length, max_size, generator=generator, dtype=torch.float64)
        self.valid = slot_value_mask(sizes)
        self.calls = []

    def __call__(self, canvas, row_to_user):
        self.calls.append((canvas.clone(), row_to_user.clone()))
        length, max_size = self.valid.shape
        index = torch.where(canvas < 0, max_size, canvas)  # the mask is one more "value"
        hidden = self.embed[torch.arange(length), index].sum(dim=1) + self.context[row_to_user]
        logits = torch.einsum("nh,hlv->nlv", torch.tanh(hidden), self.out)
        logits = logits.masked_fill(~self.valid, NEG_INF)
        return torch.log_softmax(logits, dim=-1).float()


class TableScorer:
    """Hand-built logits: ``logits_fn(code tuple, user) -> [L][V] nested list`` (missing values padded).

    Returns per-slot log-softmax as fp32; records every call's canvases in ``calls``.
    """

    def __init__(self, sizes, num_category_levels, logits_fn):
        self.code_slot_sizes = list(sizes)
        self.num_category_levels = num_category_levels
        self.logits_fn = logits_fn
        self.valid = slot_value_mask(sizes)
        self.calls = []

    def log_probs(self, code, user):
        rows = self.logits_fn(tuple(code), user)
        logits = torch.full(self.valid.shape, NEG_INF, dtype=torch.float64)
        for slot, row in enumerate(rows):
            logits[slot, : len(row)] = torch.tensor(row, dtype=torch.float64)
        logits = logits.masked_fill(~self.valid, NEG_INF)
        return torch.log_softmax(logits, dim=-1).float()

    def __call__(self, canvas, row_to_user):
        self.calls.append([tuple(row) for row in canvas.tolist()])
        return torch.stack(
            [
                self.log_probs(row, int(user))
                for row, user in zip(canvas.tolist(), row_to_user.tolist(), strict=True)
            ]
        )


class OneUserScorer:
    """The view of ``scorer`` for one of its users, as if that user were decoded alone (user 0)."""

    def __init__(self, scorer, user):
        self.scorer, self.user = scorer, user
        self.code_slot_sizes = scorer.code_slot_sizes
        self.num_category_levels = scorer.num_category_levels

    def __call__(self, canvas, row_to_user):
        return self.scorer(canvas, torch.full_like(row_to_user, self.user))


def random_catalogue(generator: torch.Generator, max_items=24):
    """Random code layout and one-to-one code table: ``(sizes, num_category_levels, codes [I, L])``.

    Slot values are drawn at random: the index and decoders must not rely on a tree or on any slot
    order, so the tests do not give them one.
    """

    def draw(low, high):
        return int(torch.randint(low, high + 1, (1,), generator=generator))

    length = draw(2, 5)
    levels = draw(0, min(2, length - 1))
    sizes = [draw(2, 4) for _ in range(levels)] + [draw(2, 6) for _ in range(length - levels)]
    codes = set()
    for _ in range(draw(3, max_items)):
        codes.add(tuple(draw(0, size - 1) for size in sizes))
    codes = torch.tensor(sorted(codes))
    return sizes, levels, codes
