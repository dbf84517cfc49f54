"""Throw-away: is a second-order successor rule, (previous, last) -> next, sharper at top-1 than the first-order one?
Counts from the training sequences (test: plus the validation items), history items excluded, ties to the larger item
id.

    python docs/experiments/second-order/rule.py [BEAUTY_SEQUENCES_TXT]
"""

import collections
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/amazon_beauty_2014/sequences.txt"
with open(path) as handle:
    sequences = [[int(token) for token in line.split()[1:]] for line in handle]
for split, held_out in (("validation", 2), ("test", 1)):
    first = collections.defaultdict(collections.Counter)
    second = collections.defaultdict(collections.Counter)
    for sequence in sequences:
        seen = sequence[:-held_out]
        for t in range(1, len(seen)):
            first[seen[t - 1]][seen[t]] += 1
            if t >= 2:
                second[(seen[t - 2], seen[t - 1])][seen[t]] += 1
    with_first = first_hits = with_second = second_hits = first_hits_there = 0
    for sequence in sequences:
        history, target = sequence[:-held_out], sequence[-held_out]
        excluded = set(history)
        successors = [(count, item) for item, count in first[history[-1]].items() if item not in excluded]
        first_pick = max(successors)[1] if successors else None
        if successors:
            with_first += 1
            first_hits += first_pick == target
        if len(history) >= 2:
            pair_successors = [
                (count, item) for item, count in second[(history[-2], history[-1])].items() if item not in excluded
            ]
            if pair_successors:
                with_second += 1
                second_hits += max(pair_successors)[1] == target
                first_hits_there += first_pick == target
    print(
        f"{split}: {len(sequences)} users; first-order rule HR@1 {first_hits / len(sequences):.4f}; "
        f"{with_second} users ({with_second / len(sequences):.3f}) with a seen (previous, last) pair: second-order "
        f"rule {second_hits} hits, first-order rule {first_hits_there} on the same users"
    )
