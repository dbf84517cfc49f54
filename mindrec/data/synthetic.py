"""A synthetic catalogue with planted, learnable structure, for tests and the quick-start job.

What is planted (all drawn from one ``numpy`` generator, so a seed fixes everything):

* **Category tree**: a root, then ``branching = (4, 3, 3)`` levels. A ``shallow_fraction`` of the
  items sits directly on a level-2 node (path depth 2 below the root) to exercise padding.
  One level-1 name holds ", " and "&" like "Arts, Crafts & Sewing".
* **Text that carries category signal**: every tree node has its own small vocabulary; an item's
  title and description mix words of its leaf, level-2 and level-1 nodes with two item-specific
  words, and its brand comes from a per-level-2 brand list. A bag-of-words embedding of the text
  therefore clusters by category while still telling items apart.
* **Popularity**: log-normal item weights, so a popularity baseline is non-trivial.
* **Users**: each has a favourite level-2 subtree. The first item comes from it; each next item
  follows one of the last item's ``num_transitions`` fixed "next" items (same level-2 node, or
  another one under the same level-1 node) with probability ``transition_prob``, and otherwise is a
  popularity-weighted draw from the favourite subtree. The last item of a history therefore predicts
  the next one well, which a model can learn from histories of 10 items or fewer.

Items are listed in a random order, so an item index carries no category information.
"""

from __future__ import annotations

import logging

import numpy as np

from .build import InteractionData
from .catalogue import ItemCatalogue, ItemRecord
from .prepared import PreparedData
from .splits import UserSequence

logger = logging.getLogger(__name__)

_SYLLABLES = (
    "ka lo mi ne ru sa ti vo be da fe gi ho ja ku le ma no pe qui ra se to vu wa xe yo zu "
    "bar cel dor fen gal hin jor kel lum mor nar pol quin ros sol tam vel wyn zor"
).split()
_ROOT = "Synthetic Store"
_NODE_WORDS = 6  # vocabulary size of every tree node
_BRANDS_PER_GROUP = 3  # brands per level-2 node


class _Words:
    """Distinct pseudo-words built from syllables."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self, count: int) -> list[str]:
        words = []
        while len(words) < count:
            length = int(self.rng.integers(2, 4))
            word = "".join(_SYLLABLES[i] for i in self.rng.integers(0, len(_SYLLABLES), size=length))
            if word not in self.used:
                self.used.add(word)
                words.append(word)
        return words


def _weighted_choice(rng: np.random.Generator, candidates: np.ndarray, weights: np.ndarray) -> int:
    cumulative = np.cumsum(weights)
    position = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return int(candidates[min(position, len(candidates) - 1)])


def _pick(rng: np.random.Generator, vocabulary: list[str], count: int) -> list[str]:
    return [vocabulary[i] for i in rng.choice(len(vocabulary), size=count, replace=False)]


def make_synthetic_dataset(
    num_users: int = 2000,
    num_items: int = 1000,
    seed: int = 0,
    branching: tuple[int, int, int] = (4, 3, 3),
    min_length: int = 5,
    max_length: int = 20,
    transition_prob: float = 0.6,
    num_transitions: int = 3,
    shallow_fraction: float = 0.1,
    max_history: int | None = None,
    max_users: int | None = None,
    name: str = "synthetic",
) -> PreparedData:
    """Generate a dataset as described in the module docstring and split it leave-one-out.

    ``max_history`` / ``max_users`` are applied as in :func:`~mindrec.data.load_dataset_from_path`.
    """
    if len(branching) != 3 or min(branching) < 1:
        raise ValueError(f"branching must be three positive sizes, got {branching}")
    if not 3 <= min_length <= max_length:
        raise ValueError(f"need 3 <= min_length <= max_length, got {min_length}, {max_length}")
    if not 0.0 <= transition_prob <= 1.0 or not 0.0 <= shallow_fraction < 1.0:
        raise ValueError(
            f"transition_prob must be in [0, 1] and shallow_fraction in [0, 1), got {transition_prob}, {shallow_fraction}"
        )
    if num_users < 1 or not 1 <= num_transitions < num_items:
        raise ValueError(
            f"need num_users >= 1 and 1 <= num_transitions < num_items, got {num_users}, {num_transitions}, {num_items}"
        )

    rng = np.random.default_rng(seed)
    words = _Words(rng)
    n_top, n_mid, n_leaf = branching

    # 1. Category tree: names and vocabularies. Groups are level-2 nodes, indexed top * n_mid + mid.
    top_names = [w.title() for w in words(n_top)]
    a, b = (w.title() for w in words(2))
    top_names[0] = f"{top_names[0]}, {a} & {b}"
    top_vocab = [words(_NODE_WORDS) for _ in range(n_top)]
    n_groups = n_top * n_mid
    group_names = [" ".join(w.title() for w in words(2)) for _ in range(n_groups)]
    group_vocab = [words(_NODE_WORDS) for _ in range(n_groups)]
    group_brands = [[w.title() for w in words(_BRANDS_PER_GROUP)] for _ in range(n_groups)]
    leaf_names = [[w.title() for w in words(1)][0] for _ in range(n_groups * n_leaf)]
    leaf_vocab = [words(_NODE_WORDS) for _ in range(n_groups * n_leaf)]

    # 2. Items: placement (leaf or, for shallow items, the level-2 node itself), popularity, text.
    item_group = rng.integers(0, n_groups, size=num_items)
    item_leaf = item_group * n_leaf + rng.integers(0, n_leaf, size=num_items)
    shallow = rng.random(num_items) < shallow_fraction
    popularity = rng.lognormal(mean=0.0, sigma=1.0, size=num_items)
    order = rng.permutation(num_items)  # row order of the item table: independent of categories
    records = []
    for item in range(num_items):
        group, leaf = int(item_group[item]), int(item_leaf[item])
        top = group // n_mid
        local = group_vocab[group] if shallow[item] else leaf_vocab[leaf]
        own = words(2)
        brand = group_brands[group][int(rng.integers(0, _BRANDS_PER_GROUP))]
        title = " ".join([brand, own[0].title(), *_pick(rng, local, 2), *_pick(rng, group_vocab[group], 1)])
        description = (
            f"A {' '.join(_pick(rng, top_vocab[top], 2))} {' '.join(_pick(rng, group_vocab[group], 2))} "
            f"{' '.join(_pick(rng, local, 2))} with {own[1]} {own[0]}."
        )
        path = [_ROOT, top_names[top], group_names[group]]
        if not shallow[item]:
            path.append(leaf_names[leaf])
        records.append((title, brand, tuple(path), description))
    index_of = np.empty(num_items, dtype=np.int64)
    index_of[order] = np.arange(num_items)
    catalogue = ItemCatalogue()
    for position, item in enumerate(order):
        title, brand, path, description = records[item]
        catalogue.add(ItemRecord(f"I{position:05d}", title, brand, path, description), source="synthetic")

    # 3. Transitions: each item's fixed "next" items, mostly in its own level-2 node.
    members = [np.flatnonzero(item_group == g) for g in range(n_groups)]
    top_members = [np.flatnonzero(item_group // n_mid == t) for t in range(n_top)]
    transition_weights = 0.6 ** np.arange(num_transitions)
    transition_weights /= transition_weights.sum()
    transitions = np.empty((num_items, num_transitions), dtype=np.int64)
    for item in range(num_items):
        same_group = members[item_group[item]]
        same_top = top_members[item_group[item] // n_mid]
        pool = same_group if len(same_group) > num_transitions else same_top
        if len(pool) <= num_transitions:
            pool = np.arange(num_items)
        chosen: list[int] = []
        while len(chosen) < num_transitions:
            # One in three draws looks in a neighbouring level-2 node of the same level-1 node.
            source = same_top if rng.random() < 1 / 3 and len(same_top) > num_transitions else pool
            candidate = _weighted_choice(rng, source, popularity[source])
            if candidate != item and candidate not in chosen:
                chosen.append(candidate)
        transitions[item] = chosen

    # 4. Users.
    populated = [g for g in range(n_groups) if len(members[g])]
    sequences = []
    for user in range(num_users):
        favourite = members[populated[int(rng.integers(0, len(populated)))]]
        favourite_weights = popularity[favourite]
        length = int(rng.integers(min_length, max_length + 1))
        items = [_weighted_choice(rng, favourite, favourite_weights)]
        while len(items) < length:
            if rng.random() < transition_prob:
                items.append(_weighted_choice(rng, transitions[items[-1]], transition_weights))
            else:
                items.append(_weighted_choice(rng, favourite, favourite_weights))
        sequences.append(UserSequence(f"U{user:05d}", [int(index_of[i]) for i in items]))

    data = InteractionData(name=name, catalogue=catalogue, sequences=sequences)
    return data.to_prepared(max_history=max_history, max_users=max_users)
