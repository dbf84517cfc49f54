"""Catalogue index: which slot values keep at least one catalogue item reachable, for any fill order.

The decoders fill an item code's slots in data-dependent orders (coarse-to-fine categories, then
the most confident semantic-ID digit first, or any slot at all). A trie only answers "which values
may the *next* slot take"; per-slot token sets let invalid combinations through; filtering after the
search wastes the beam. This index answers, batched over rows, "for every masked slot ``s`` and value
``v``: how many catalogue items (not excluded for the row's user) agree with the slots already fixed
and have value ``v`` at ``s``" -- for any set of fixed slots.

How, without an ``[rows, items]`` mask:
* rows that hold the same partial code share one computation (unique canvases, found through one
  int64 key per canvas when the layout allows it);
* a state's consistent items are enumerated from the *posting list* (the items with value ``v`` at
  slot ``s``) of its most selective fixed ``(s, v)`` and filtered on the other fixed slots, so the
  work is the size of the smallest posting list, not of the catalogue; the state with nothing fixed
  is precomputed;
* per-user exclusions (few items per user) are subtracted afterwards, row by row.

Besides counts the index returns a *fingerprint* per child state: the sum of fixed random 40-bit
keys of its consistent items. Two partial codes with the same fingerprint (and count) leave the same
items reachable, so the decoders treat them as one hypothesis (see ``decoding_utils``). Sums of 40-bit
keys are exact in int64 up to 2**23 items.

Remote code: imports only torch and the standard library.
"""

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

# Key width of the item fingerprints: sums stay exact in int64 for catalogues up to 2**(63 - 40) items.
FINGERPRINT_BITS = 40
# Upper bound on (state, item) pairs materialised at once when enumerating consistent items.
MAX_PAIRS_PER_CHUNK = 1 << 22


def catalogue_sha256(item_codes: torch.Tensor | Sequence[Sequence[int]]) -> str:
    """SHA-256 of a code table ``[num_items, code_length]`` in item-index order.

    A model saved by mindrec records it as ``config.catalogue_sha256``; ``generate`` refuses a catalogue
    whose digest differs (a shuffled or foreign code table decodes to the wrong items).
    """
    rows = torch.as_tensor(item_codes).to("cpu", torch.long).tolist()
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode("ascii")).hexdigest()


def excluded_item_mask(excluded: torch.LongTensor, start: int, stop: int) -> torch.BoolTensor:
    """``[B, stop - start]`` True where item ``start + j`` is listed in ``excluded [B, E]`` (``-1`` padding
    and items outside ``[start, stop)`` are ignored: they scatter into a spare column that is dropped)."""
    inside = (excluded >= start) & (excluded < stop)
    columns = torch.where(inside, excluded - start, stop - start)
    mask = torch.zeros(excluded.shape[0], stop - start + 1, dtype=torch.bool, device=excluded.device)
    return mask.scatter_(1, columns, True)[:, :-1]


def _distinct_random_keys(num_items: int, seed: int) -> torch.LongTensor:
    """``[num_items]`` distinct random ``FINGERPRINT_BITS``-bit keys (distinct, so single items never merge)."""
    if num_items > 1 << (63 - FINGERPRINT_BITS):
        raise ValueError(
            f"The catalogue has {num_items} items; state fingerprints are exact up to {1 << (63 - FINGERPRINT_BITS)}."
        )
    generator = torch.Generator().manual_seed(seed)
    keys = torch.randint(0, 1 << FINGERPRINT_BITS, (num_items,), generator=generator)
    while torch.unique(keys).numel() < num_items:  # a clash has probability ~ I**2 / 2**41; redraw
        keys = torch.randint(0, 1 << FINGERPRINT_BITS, (num_items,), generator=generator)
    return keys


class CatalogueIndex:
    """Tensorised catalogue of item codes, built once, answering validity queries for any fill order.

    Args:
        item_codes: ``[num_items, code_length]`` integer code table, row ``i`` = code of item index ``i``;
            codes must be one-to-one with items.
        code_slot_sizes: values per slot (``code_length`` ints); defaults to ``item_codes.max(0) + 1``.
        num_category_levels: D, the number of leading category slots (0 = semantic ID only).
        fingerprint_seed: seed of the random item keys behind the state fingerprints.

    Shapes below: ``N`` rows (users x beams), ``L = code_length``, ``V = max(code_slot_sizes)``,
    ``B`` users, ``E`` excluded items per user (padded with ``-1``).
    """

    def __init__(
        self,
        item_codes: torch.Tensor,
        code_slot_sizes: Sequence[int] | None = None,
        num_category_levels: int = 0,
        fingerprint_seed: int = 0,
    ):
        codes = torch.as_tensor(item_codes)
        if codes.dim() != 2 or codes.shape[0] < 1 or codes.shape[1] < 1:
            raise ValueError(
                f"`item_codes` must be a non-empty [num_items, code_length] table, got shape {tuple(codes.shape)}."
            )
        if codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool:
            raise ValueError(f"`item_codes` must hold integers, got dtype {codes.dtype}.")
        codes = codes.long()
        num_items, length = codes.shape
        if code_slot_sizes is None:
            code_slot_sizes = (codes.max(dim=0).values + 1).tolist()
        sizes = [int(size) for size in code_slot_sizes]
        if len(sizes) != length or any(size < 1 for size in sizes):
            raise ValueError(
                f"`code_slot_sizes` {sizes} must hold one positive size per slot ({length} slots in `item_codes`)."
            )
        if not 0 <= int(num_category_levels) <= length:
            raise ValueError(f"`num_category_levels` must be in [0, {length}], got {num_category_levels}.")
        size_tensor = torch.tensor(sizes, device=codes.device)
        bad = (codes < 0) | (codes >= size_tensor)
        if bool(bad.any()):
            item, slot = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"Item {item} has value {int(codes[item, slot])} at slot {slot}, outside [0, {sizes[slot]})."
            )
        self.code_slot_sizes = sizes
        self.num_category_levels = int(num_category_levels)
        self.num_items = num_items
        self.code_length = length
        self.max_slot_size = max_size = max(sizes)
        self.fingerprint_seed = fingerprint_seed
        self.item_codes = codes
        # Partial codes as one int64 (mixed radix, digit = value + 1 so that -1 -> 0) when it fits:
        # a 1-D unique is much faster than torch.unique(dim=0).
        self._radix = None
        if math.prod(size + 1 for size in sizes) < 1 << 62:
            place = [math.prod(size + 1 for size in sizes[slot + 1 :]) for slot in range(length)]
            self._radix = torch.tensor(place, dtype=torch.long, device=codes.device)

        # Posting lists: item indices grouped by flat key ``s * V + v`` (CSR: order, counts, offsets).
        slot_base = torch.arange(length, device=codes.device) * max_size  # [L]
        flat_keys = (slot_base + codes).T.reshape(-1)  # [L * I], slot-major
        self.posting_items = torch.argsort(flat_keys, stable=True) % num_items  # [L * I]
        self.posting_counts = torch.bincount(flat_keys, minlength=length * max_size)  # [L * V]
        self.posting_offsets = self.posting_counts.cumsum(0) - self.posting_counts  # [L * V]

        self.item_keys = _distinct_random_keys(num_items, fingerprint_seed).to(codes.device)  # [I]
        # The state with nothing fixed (every row's first step) is precomputed.
        self.root_counts = self.posting_counts.to(torch.int32).view(length, max_size)  # [L, V]
        self.root_keys = (
            torch.zeros(length * max_size, dtype=torch.long, device=codes.device)
            .scatter_add_(0, flat_keys, self.item_keys.repeat(length))
            .view(length, max_size)
        )  # [L, V]

        self._check_one_to_one()
        self._sha256: str | None = None

    @property
    def sha256(self) -> str:
        """:func:`catalogue_sha256` of this index's code table (computed once)."""
        if self._sha256 is None:
            self._sha256 = catalogue_sha256(self.item_codes)
        return self._sha256

    # ----------------------------------------------------------------------------------------------
    # Construction helpers
    def _check_one_to_one(self) -> None:
        """Raise if two items share a code: a code must name exactly one item (DESIGN §2, collisions)."""
        _, inverse, counts = torch.unique(self.item_codes, dim=0, return_inverse=True, return_counts=True)
        if int(counts.max()) > 1:
            group = int(counts.argmax())
            items = (inverse == group).nonzero().flatten()[:2].tolist()
            raise ValueError(
                f"Items {items[0]} and {items[1]} share the code {self.item_codes[items[0]].tolist()}: "
                "a code table must be one-to-one with items (resolve collisions when building the codes)."
            )

    def _unique_rows(self, canvas: torch.LongTensor) -> tuple[torch.LongTensor, torch.LongTensor]:
        """Distinct rows of ``canvas [N, L]`` (values >= -1) and each row's position among them, ``[N]``."""
        if self._radix is None:
            return torch.unique(canvas, dim=0, return_inverse=True)
        keys = ((canvas + 1) * self._radix).sum(dim=1)  # [N]
        distinct, inverse = torch.unique(keys, return_inverse=True)
        rows = torch.arange(canvas.shape[0], device=canvas.device)
        first = torch.full_like(distinct, canvas.shape[0]).scatter_reduce_(0, inverse, rows, "amin")
        return canvas[first], inverse

    @property
    def device(self) -> torch.device:
        return self.item_codes.device

    def to(self, device: torch.device | str) -> "CatalogueIndex":
        """This index with every tensor on ``device`` (self when already there)."""
        device = torch.device(device)
        if device == self.device:
            return self
        moved = object.__new__(CatalogueIndex)
        for name, value in self.__dict__.items():
            setattr(moved, name, value.to(device) if isinstance(value, torch.Tensor) else value)
        return moved

    # ----------------------------------------------------------------------------------------------
    # Exclusions
    def exclusion_table(
        self,
        excluded_items: Sequence[Sequence[int]] | None,
        num_users: int,
        device: torch.device | None = None,
    ) -> torch.LongTensor:
        """Per-user excluded item indices as a padded table ``[num_users, E]`` (sorted, distinct, ``-1`` pad).

        Raises a ValueError naming the user position and the item when an entry is not a valid item index.
        """
        device = self.device if device is None else device
        if excluded_items is None:
            return torch.empty(num_users, 0, dtype=torch.long, device=device)
        if len(excluded_items) != num_users:
            raise ValueError(
                f"`excluded_items` has {len(excluded_items)} lists but the batch has {num_users} users."
            )
        rows = []
        for user, items in enumerate(excluded_items):
            items = (
                torch.as_tensor(items).flatten().tolist() if isinstance(items, torch.Tensor) else list(items)
            )
            for item in items:
                if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < self.num_items:
                    raise ValueError(
                        f"`excluded_items[{user}]` holds {item!r}, not an item index in [0, {self.num_items})."
                    )
            rows.append(sorted(set(items)))
        width = max((len(row) for row in rows), default=0)
        table = torch.full((num_users, width), -1, dtype=torch.long)
        for user, row in enumerate(rows):
            table[user, : len(row)] = torch.tensor(row, dtype=torch.long)
        return table.to(device)

    def num_available(self, excluded: torch.LongTensor) -> torch.LongTensor:
        """Items left per user after exclusions, ``[B]``, for an exclusion table ``[B, E]``."""
        return self.num_items - (excluded >= 0).sum(dim=1)

    # ----------------------------------------------------------------------------------------------
    # Queries
    def _consistent_pairs(
        self, states: torch.LongTensor, enumerate_state: torch.BoolTensor
    ) -> Iterator[tuple[torch.LongTensor, torch.LongTensor]]:
        """Yield ``(state_index [P], item [P])`` chunks: every catalogue item consistent with each state.

        ``states [U, L]`` are distinct partial codes (``-1`` = free); only states with
        ``enumerate_state [U]`` set are enumerated, and each must fix at least one slot.
        """
        length, max_size = self.code_length, self.max_slot_size
        fixed = states >= 0
        values = states.clamp(min=0)
        slot_base = torch.arange(length, device=states.device) * max_size
        posting_len = self.posting_counts[slot_base + values]  # [U, L]
        posting_len = posting_len.masked_fill(~fixed, self.num_items + 1)
        # The most selective fixed (slot, value) of each state: only its posting list is scanned.
        best_slot = posting_len.argmin(dim=1)
        flat_key = best_slot * max_size + values.gather(1, best_slot[:, None]).squeeze(1)
        counts = torch.where(enumerate_state, self.posting_counts[flat_key], 0)
        starts = self.posting_offsets[flat_key]
        ends = counts.cumsum(0)
        num_states, lo = states.shape[0], 0
        while lo < num_states:
            before = int(ends[lo - 1]) if lo > 0 else 0
            limit = torch.tensor([before + MAX_PAIRS_PER_CHUNK], device=ends.device)
            hi = int(torch.searchsorted(ends, limit, right=True))
            hi = min(max(hi, lo + 1), num_states)
            chunk_counts = counts[lo:hi]
            state = torch.repeat_interleave(torch.arange(lo, hi, device=states.device), chunk_counts)
            if state.numel():
                within = torch.arange(state.numel(), device=states.device) - torch.repeat_interleave(
                    chunk_counts.cumsum(0) - chunk_counts, chunk_counts
                )
                item = self.posting_items[starts[state] + within]
                target = states[state]
                ok = ((target < 0) | (self.item_codes[item] == target)).all(dim=1)
                yield state[ok], item[ok]
            lo = hi

    def expand(
        self,
        canvas: torch.LongTensor,
        row_to_user: torch.LongTensor,
        excluded: torch.LongTensor | None = None,
        slots: torch.LongTensor | None = None,
    ) -> "CatalogueExpansion":
        """Counts of the child states of every row, for the slots in ``slots``.

        Args:
            canvas: ``[N, L]`` partial codes, ``-1`` = masked.
            row_to_user: ``[N]`` user of each row, indexing ``excluded``.
            excluded: ``[B, E]`` exclusion table from :meth:`exclusion_table` (distinct items per row).
            slots: ``[S]`` slots to answer for (all ``L`` when None): a decoder step that may only fill
                some slots pays only for those.
        Returns:
            a :class:`CatalogueExpansion`; its ``counts [N, S, V]`` int32 hold the number of non-excluded
            items consistent with the row that have value ``v`` at slot ``slots[j]`` (``> 0`` = allowed).
        """
        max_size = self.max_slot_size
        if slots is None:
            slots = torch.arange(self.code_length, device=canvas.device)
        num_slots = slots.shape[0]
        slot_base = torch.arange(num_slots, device=canvas.device) * max_size  # [S]
        states, inverse = self._unique_rows(canvas)
        num_states = states.shape[0]
        counts = torch.zeros(num_states * num_slots * max_size, dtype=torch.int32, device=canvas.device)
        keys = torch.zeros(num_states * num_slots * max_size, dtype=torch.long, device=canvas.device)
        is_root = (states < 0).all(dim=1)
        for state, item in self._consistent_pairs(states, ~is_root):
            flat = (
                (state * num_slots)[:, None] * max_size + slot_base + self.item_codes[item][:, slots]
            ).flatten()
            counts.scatter_add_(0, flat, torch.ones_like(flat, dtype=torch.int32))
            keys.scatter_add_(0, flat, self.item_keys[item].repeat_interleave(num_slots))
        counts = counts.view(num_states, num_slots, max_size)
        counts[is_root] = self.root_counts[slots]
        keys = keys.view(num_states, num_slots, max_size)
        keys[is_root] = self.root_keys[slots]
        counts = counts[inverse]  # [N, S, V]

        hit_row = hit_item = torch.empty(0, dtype=torch.long, device=canvas.device)
        if excluded is not None and excluded.shape[1] > 0 and canvas.shape[0] > 0:
            # Excluded items still consistent with the row are taken out of its counts.
            row_excluded = excluded[row_to_user]  # [N, E]
            excluded_codes = self.item_codes[row_excluded.clamp(min=0)]  # [N, E, L]
            consistent = (row_excluded >= 0) & (
                (canvas[:, None, :] < 0) | (excluded_codes == canvas[:, None, :])
            ).all(dim=-1)
            hit_row, position = consistent.nonzero(as_tuple=True)
            hit_item = row_excluded[hit_row, position]
            flat = (hit_row * num_slots)[:, None] * max_size + slot_base + self.item_codes[hit_item][:, slots]
            counts.view(-1).scatter_add_(
                0, flat.flatten(), torch.full_like(flat.flatten(), -1, dtype=torch.int32)
            )
        return CatalogueExpansion(self, slots, counts, keys, inverse, hit_row, hit_item)

    def allowed_values(
        self,
        canvas: torch.LongTensor,
        row_to_user: torch.LongTensor,
        excluded: torch.LongTensor | None = None,
    ) -> torch.BoolTensor:
        """``[N, L, V]``: value ``v`` at slot ``s`` keeps at least one non-excluded item consistent with the row."""
        return self.expand(canvas, row_to_user, excluded).counts > 0

    def lookup(self, codes: torch.LongTensor) -> torch.LongTensor:
        """Item index of each complete code ``[..., L]`` -> ``[...]``; ``-1`` where no item has that code."""
        flat = codes.reshape(-1, self.code_length)
        items = torch.full((flat.shape[0],), -1, dtype=torch.long, device=codes.device)
        sizes = torch.tensor(self.code_slot_sizes, device=codes.device)
        complete = ((flat >= 0) & (flat < sizes)).all(dim=1)
        if bool(complete.any()):
            states, inverse = self._unique_rows(flat[complete])
            state_item = torch.full((states.shape[0],), -1, dtype=torch.long, device=codes.device)
            enumerate_all = torch.ones(states.shape[0], dtype=torch.bool, device=codes.device)
            for state, item in self._consistent_pairs(states, enumerate_all):
                state_item[state] = item
            items[complete] = state_item[inverse]
        return items.view(codes.shape[:-1])


@dataclass
class CatalogueExpansion:
    """The answer of :meth:`CatalogueIndex.expand` for ``N`` rows and ``S`` slots.

    ``counts [N, S, V]`` is dense (the decoders mask log-probs with it). Fingerprints are only needed
    for the few children a decoder proposes, so they are kept per distinct partial code
    (``state_keys [U, S, V]``, ``row_state [N]``) with the consistent excluded items
    (``excluded_row``, ``excluded_item``, ``[h]`` each) and resolved by :meth:`fingerprints`.
    """

    index: CatalogueIndex
    slots: torch.LongTensor
    counts: torch.IntTensor
    state_keys: torch.LongTensor
    row_state: torch.LongTensor
    excluded_row: torch.LongTensor
    excluded_item: torch.LongTensor

    def fingerprints(self, positions: torch.LongTensor) -> torch.LongTensor:
        """Fingerprints ``[N, M]`` of the children at ``positions [N, M]`` (flat ``j * V + v`` into ``counts[n]``):
        the sum of the keys of the non-excluded items the child leaves reachable."""
        max_size = self.index.max_slot_size
        keys = self.state_keys.flatten(1)[self.row_state[:, None], positions]  # [N, M]
        if self.excluded_row.numel():
            # Subtract the keys of consistent excluded items that also match the child's new value.
            excluded_codes = self.index.item_codes[self.excluded_item][:, self.slots]  # [h, S]
            row_positions = positions[self.excluded_row]  # [h, M]
            match = excluded_codes.gather(1, row_positions // max_size) == row_positions % max_size
            correction = match.long() * self.index.item_keys[self.excluded_item][:, None]
            keys = keys.index_add(0, self.excluded_row, -correction)
        return keys


__all__ = ["CatalogueExpansion", "CatalogueIndex", "excluded_item_mask"]
