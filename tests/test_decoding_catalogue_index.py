"""CatalogueIndex: exact counts for any fill order, fingerprints, exclusions, lookup and errors."""

import pytest
import torch
from reference_decoding import consistent_items, random_catalogue

from mindrec.modeling import catalogue_index as catalogue_module
from mindrec.modeling.catalogue_index import CatalogueIndex


def random_partial_codes(generator, codes, sizes, num_rows):
    """Rows of random partial codes: half start from a catalogue item, half are arbitrary values."""
    rows = []
    for row in range(num_rows):
        if row % 2:
            code = codes[int(torch.randint(0, codes.shape[0], (1,), generator=generator))].tolist()
        else:
            code = [int(torch.randint(0, size, (1,), generator=generator)) for size in sizes]
        keep = torch.rand(len(sizes), generator=generator) < 0.5
        rows.append([value if kept else -1 for value, kept in zip(code, keep.tolist(), strict=True)])
    return torch.tensor(rows)


@pytest.mark.parametrize("seed", range(8))
def test_expand_counts_match_a_scan_of_the_catalogue_for_any_fixed_slots(seed, monkeypatch):
    # A tiny chunk size exercises the chunked enumeration of (state, item) pairs.
    monkeypatch.setattr(catalogue_module, "MAX_PAIRS_PER_CHUNK", 1 + seed)
    generator = torch.Generator().manual_seed(seed)
    sizes, levels, codes = random_catalogue(generator, max_items=40)
    index = CatalogueIndex(codes, sizes, levels)
    if seed % 2:
        index._radix = None  # the torch.unique(dim=0) path of layouts too large for one int64 key
    canvas = random_partial_codes(generator, codes, sizes, num_rows=24)
    canvas[0] = -1  # the precomputed "nothing fixed" state
    num_users = 3
    row_to_user = torch.randint(0, num_users, (canvas.shape[0],), generator=generator)
    excluded_lists = [[], [0, 1, 1], torch.randperm(codes.shape[0], generator=generator)[:5].tolist()]
    excluded = index.exclusion_table(excluded_lists, num_users)
    expansion = index.expand(canvas, row_to_user, excluded)
    counts = expansion.counts
    length, max_size = len(sizes), max(sizes)
    every_child = torch.arange(length * max_size).expand(canvas.shape[0], -1)
    fingerprints = expansion.fingerprints(every_child).view(-1, length, max_size)
    catalogue = [tuple(code) for code in codes.tolist()]
    seen = {}
    for row, code in enumerate(canvas.tolist()):
        blocked = set(excluded_lists[int(row_to_user[row])])
        for slot, size in enumerate(sizes):
            assert counts[row, slot, size:].eq(0).all()
            for value in range(size):
                if code[slot] >= 0 and code[slot] != value:
                    reachable = frozenset()  # a fixed slot cannot take another value
                else:
                    child = tuple(code[:slot] + [value] + code[slot + 1 :])
                    reachable = consistent_items(catalogue, child, blocked)
                assert int(counts[row, slot, value]) == len(reachable), (row, slot, value)
                key = (int(counts[row, slot, value]), int(fingerprints[row, slot, value]))
                if reachable:
                    assert seen.setdefault(key, reachable) == reachable, "one fingerprint, one item set"
    allowed = index.allowed_values(canvas, row_to_user, excluded)
    assert torch.equal(allowed, counts > 0)
    # A subset of slots answers exactly as the same slots of the full expansion.
    slots = torch.tensor([length - 1, 0])
    subset = index.expand(canvas, row_to_user, excluded, slots)
    assert torch.equal(subset.counts, counts[:, slots])
    positions = torch.arange(2 * max_size).expand(canvas.shape[0], -1)
    assert torch.equal(subset.fingerprints(positions), fingerprints[:, slots].flatten(1))


def test_fingerprints_tell_different_item_sets_apart():
    codes = torch.tensor([[0, 0, 0], [0, 1, 1], [1, 1, 0]])
    index = CatalogueIndex(codes, [2, 2, 2])
    root = index.expand(torch.tensor([[-1, -1, -1]]), torch.tensor([0]))
    # positions are slot * 2 + value: (slot 1 = 1) and (slot 0 = 0) both reach 2 items, not the same ones
    counts, keys = root.counts.flatten(), root.fingerprints(torch.tensor([[3, 0, 5]]))[0]
    assert counts[3] == counts[0] == 2 and keys[0] != keys[1]
    # (slot 2 = 1) and (slot 0 = 0, slot 1 = 1) reach the same single item (0, 1, 1)
    child = index.expand(torch.tensor([[0, -1, -1]]), torch.tensor([0]), slots=torch.tensor([1]))
    assert child.fingerprints(torch.tensor([[1]]))[0, 0] == keys[2] == index.item_keys[1]


def test_lookup_maps_complete_codes_to_items_and_anything_else_to_minus_one():
    codes = torch.tensor([[0, 2, 1], [1, 0, 0], [1, 2, 3]])
    index = CatalogueIndex(codes, [2, 3, 4])
    queries = torch.tensor([[[1, 2, 3], [0, 2, 1]], [[0, 0, 0], [1, -1, 0]], [[1, 0, 0], [1, 0, 4]]])
    assert index.lookup(queries).tolist() == [[2, 0], [-1, -1], [1, -1]]


def test_exclusion_table_sorts_dedupes_and_pads():
    index = CatalogueIndex(torch.tensor([[0], [1], [2], [3]]), [4])
    table = index.exclusion_table([[3, 1, 3], [], torch.tensor([2])], 3)
    assert table.tolist() == [[1, 3], [-1, -1], [2, -1]]
    assert index.num_available(table).tolist() == [2, 4, 3]
    assert index.exclusion_table(None, 2).shape == (2, 0)


def test_index_on_its_own_device_is_returned_as_is():
    index = CatalogueIndex(torch.tensor([[0, 1]]), [1, 2])
    assert index.to("cpu") is index and index.to(torch.device("cpu")).device == torch.device("cpu")


@pytest.mark.parametrize(
    "codes, sizes, levels, message",
    [
        (torch.tensor([0, 1]), None, 0, r"non-empty \[num_items, code_length\] table, got shape \(2,\)"),
        (torch.zeros(0, 3, dtype=torch.long), None, 0, r"got shape \(0, 3\)"),
        (torch.tensor([[0.0, 1.0]]), None, 0, "must hold integers, got dtype torch.float32"),
        (torch.tensor([[0, 1]]), [2], 0, r"one positive size per slot \(2 slots"),
        (torch.tensor([[0, 1]]), [2, 0], 0, "one positive size per slot"),
        (torch.tensor([[0, 1], [1, 2]]), [2, 2], 0, r"Item 1 has value 2 at slot 1, outside \[0, 2\)"),
        (torch.tensor([[0, -1]]), [2, 2], 0, r"Item 0 has value -1 at slot 1"),
        (torch.tensor([[0, 1]]), [2, 2], 3, r"`num_category_levels` must be in \[0, 2\], got 3"),
        (torch.tensor([[0, 1], [1, 0], [0, 1]]), [2, 2], 0, r"Items 0 and 2 share the code \[0, 1\]"),
    ],
)
def test_bad_code_tables_are_rejected(codes, sizes, levels, message):
    with pytest.raises(ValueError, match=message):
        CatalogueIndex(codes, sizes, levels)


def test_bad_exclusions_are_rejected():
    index = CatalogueIndex(torch.tensor([[0], [1]]), [2])
    with pytest.raises(ValueError, match="has 1 lists but the batch has 2 users"):
        index.exclusion_table([[0]], 2)
    with pytest.raises(ValueError, match=r"`excluded_items\[1\]` holds 2, not an item index in \[0, 2\)"):
        index.exclusion_table([[0], [2]], 2)
    with pytest.raises(ValueError, match=r"`excluded_items\[0\]` holds '1'"):
        index.exclusion_table([["1"]], 1)


def test_excluded_item_mask_marks_listed_items_of_the_range_only():
    from mindrec.modeling.catalogue_index import excluded_item_mask

    excluded = torch.tensor([[3, 5, -1], [0, 9, 4], [-1, -1, -1]])
    assert excluded_item_mask(excluded, 0, 6).tolist() == [
        [False, False, False, True, False, True],
        [True, False, False, False, True, False],
        [False] * 6,
    ]
    # A chunk [4, 7): item 5 is column 1, item 4 column 0; 0, 3 and 9 lie outside it.
    assert excluded_item_mask(excluded, 4, 7).tolist() == [[False, True, False], [True, False, False], [False] * 3]
