"""Throw-away: a model folder decoded on a split with the options its generation config holds (as the benchmark decodes
test: the counts as of the split's targets, counted with its transition_gap_decay). One JSON line.

    PROTOCOL=beauty-full python docs/experiments/decoding-grid/test_read.py MODEL_DIR SPLIT [OPTION=VALUE ...]

OPTION=VALUE pairs override the generation config's decoding options (e.g. rare_item_generative_weight=30).
"""

import json
import pathlib
import sys

from mindrec.baselines import decoding_counts
from mindrec.data import item_brand_ids
from mindrec.training.model_setup import install_item_brands, install_item_counts

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import decode_split, probe_inputs  # noqa: E402

model_dir, split_name = sys.argv[1], sys.argv[2]
data, counts, trained = probe_inputs(model_dir)
config = trained.generation_config
config.update(**{name: float(value) for name, value in (pair.split("=") for pair in sys.argv[3:])})
install_item_counts(trained.model, **decoding_counts(data.splits, data.num_items, split_name, config.transition_gap_decay))
install_item_brands(trained.model, item_brand_ids(data.items))  # a folder saved before the model kept brands
result = decode_split(trained, config, data, split_name, counts)
print(json.dumps({"model_dir": model_dir, "split": split_name, "rare_item_generative_weight": config.rare_item_generative_weight,
                  "transition_adjustment": config.transition_adjustment, "brand_adjustment": config.brand_adjustment,
                  **{name: round(value, 4) for name, value in result.metrics.items() if name in ("hr@1", "hr@10", "ndcg@10")}}))
