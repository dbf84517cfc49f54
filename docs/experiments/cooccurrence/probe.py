"""Throw-away: does the transition credit gain from more of the training sequences than the direct successor?

The fused decoder credits log(1 + c(h -> i)) for the user's history items h (decay**k for the k-th from the end),
c = how often i directly followed h. This probe replaces c by

    c(h -> i) + REVERSE * c(i -> h) + SKIP * c2(h -> i) + SKIP3 * c3(h -> i)

where c(i -> h) is the reverse direction (i preceded h: a cold item that other users bought just before the user's
last item) and c2(h -> i) counts i two places after h (c3: three). Every other option is the checkpoint's (its generation config,
with the package's conditioning p applied to the mixed counts). One JSON line per (REVERSE, SKIP) pair. With GAP=1,
SKIP is the package's ``transition_gap_decay`` instead (every later item of a row, d places apart, at SKIP**(d-1)).

    python docs/experiments/cooccurrence/probe.py CHECKPOINT SPLIT REVERSE:SKIP[:SKIP3] [...]
"""

import json
import os
import pathlib
import sys

from mindrec.baselines import decoding_counts
from mindrec.baselines.popularity import OBSERVED_BEFORE
from mindrec.training.model_setup import install_item_counts

sys.path[:0] = [str(pathlib.Path(__file__).parent), str(pathlib.Path(__file__).parents[1])]
from probe_setup import decode_split, probe_inputs, save_target_ranks  # noqa: E402
from skip import skip_counts  # noqa: E402

checkpoint, split_name = sys.argv[1], sys.argv[2]
data, counts, trained = probe_inputs(checkpoint)
observed = decoding_counts(data.splits, data.num_items, split_name)
install_item_counts(trained.model, **observed)
direct = observed["transition_counts"].coalesce().float()
first, *others = (skip_counts(data.splits[name], data.num_items) for name in OBSERVED_BEFORE[split_name])
skips = sum(others, start=first).coalesce()
first, *others = (skip_counts(data.splits[name], data.num_items, 3) for name in OBSERVED_BEFORE[split_name])
skips3 = sum(others, start=first).coalesce()
reverse = direct.t().coalesce()
for spec in sys.argv[3:]:
    reverse_weight, skip_weight, skip3_weight = ([float(value) for value in spec.split(":")] + [0.0])[:3]
    if os.environ.get("GAP"):  # SKIP is the package's transition_gap_decay
        mixed = decoding_counts(data.splits, data.num_items, split_name, skip_weight)["transition_counts"]
    else:
        mixed = (direct + reverse_weight * reverse + skip_weight * skips + skip3_weight * skips3).coalesce()
    trained.model.set_item_transitions(mixed)
    result = decode_split(trained, trained.generation_config, data, split_name, counts)
    if os.environ.get("RANKS_OUT"):  # each user's target rank (99 = not listed), as hr1/option_probe.py saves it
        save_target_ranks(result, f"{os.environ['RANKS_OUT']}-{spec}.npy")
    print(
        json.dumps(
            {
                "checkpoint": checkpoint,
                "split": split_name,
                "reverse": reverse_weight,
                "skip": skip_weight,
                "skip3": skip3_weight,
                "gap": os.environ.get("GAP"),
                **{name: round(value, 4) for name, value in result.metrics.items()},
            }
        ),
        flush=True,
    )
