"""Shared builders for the user-workflow tests (no tests here).

* :func:`write_beauty_folder`: a tiny ``amazon_beauty_2014`` layout with raw integer ids and titled items
  whose category paths are ``Beauty > Group {id % 3} > Kind {id % 5}``;
* :func:`save_untrained_run`: build a tiny MindRec run on any data source and save its model folder as
  training would (decoding needs no training).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from training_support import tiny_arguments

from mindrec.pipeline import build_run, run_record
from mindrec.training.model_io import save_trained_model
from mindrec.training.trainer import make_accelerator


def write_beauty_folder(folder: Path, num_users: int = 40, num_items: int = 30, seed: int = 0) -> Path:
    """Users ``7, 14, ...`` with 3-8 interactions over items ``101 .. 100 + num_items``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    lines = []
    for user in range(1, num_users + 1):
        items = [rng.randint(101, 100 + num_items) for _ in range(rng.randint(3, 8))]
        lines.append(" ".join(str(value) for value in [user * 7, *items]))
    (folder / "sequences.txt").write_text("\n".join(lines) + "\n")
    items = [
        {"item_id": item, "title": f"Item {item}", "categories": ["Beauty", f"Group {item % 3}", f"Kind {item % 5}"]}
        for item in range(101, 101 + num_items)
    ]
    (folder / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    return folder


def save_untrained_run(output_dir: Path, **overrides):
    """``(model folder, PreparedData)`` of a tiny run (``tiny_arguments`` + ``overrides``) saved to ``output_dir/best``."""
    arguments = tiny_arguments(output_dir, **overrides)
    data, model, tokenizer, generation_config, _, _ = build_run(*arguments, make_accelerator("no"))
    save_trained_model(output_dir / "best", model, tokenizer, generation_config, run_record(*arguments))
    return output_dir / "best", data
