#!/usr/bin/env python
"""Build ``item_codes.json`` (category slots + semantic IDs, one-to-one with items) from an item table.

Example (offline TF-IDF embedding, residual k-means 4 x 256, 3 category levels)::

    python scripts/build_item_codes.py --items data/items.jsonl --output item_codes.json \
        --num-category-levels 3 --num-sid-digits 4 --codebook-size 256 --stats-json stats.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mindrec.cli_args import ArgumentParser, int_at_least
from mindrec.logging_setup import add_log_level_argument, setup_logging

# Names of mindrec.tokenization.quantizers' QUANTIZERS and COLLISION_STRATEGIES (checked in tests/test_cli.py),
# written out so that --help imports nothing heavy.
QUANTIZER_NAMES = ("opq", "pq", "rq-kmeans", "rq-vae")
COLLISION_NAMES = ("reassign", "extra_digit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="scripts/build_item_codes.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--items",
        required=True,
        help="items.jsonl, a JSON list of items, a folder with items.jsonl, or a prepared-data folder",
    )
    parser.add_argument("--output", required=True, help="where to write item_codes.json")
    parser.add_argument("--num-category-levels", type=int_at_least(0), default=3, help="D, category slots (0 = none)")
    parser.add_argument("--num-sid-digits", type=int_at_least(0), default=4, help="n, semantic-ID digits")
    parser.add_argument("--codebook-size", type=int_at_least(1), default=256, help="V, values per SID digit")
    parser.add_argument(
        "--code_embedding",
        "--embedding",
        default="tfidf-svd",
        help="'tfidf-svd' (offline), 'sentence-transformers' (with --embedding-model) or a .npy matrix path",
    )
    parser.add_argument(
        "--code_embedding_model",
        "--embedding-model",
        default=None,
        help="sentence-transformers model name or local folder (downloaded unless HF_HUB_OFFLINE=1)",
    )
    parser.add_argument("--embedding-dim", type=int_at_least(1), default=256, help="output size of tfidf-svd")
    parser.add_argument("--quantizer", default="rq-kmeans", choices=QUANTIZER_NAMES, help="semantic-ID quantiser")
    parser.add_argument("--collision", default="reassign", choices=COLLISION_NAMES, help="collision strategy")
    parser.add_argument("--seed", type=int, default=0, help="seed of the embedding SVD and the quantiser")
    parser.add_argument("--keep-root", action="store_true", help="do not drop the shared root category")
    parser.add_argument("--stats-json", default=None, help="also write the statistics to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.log_level)
    sources = [Path(args.items), Path(args.items) / "items.jsonl"]
    if any(Path(args.output).resolve() == source.resolve() for source in sources):
        raise SystemExit(f"error: --output {args.output} would overwrite the items file it is built from")
    from mindrec.io_utils import atomic_write_json
    from mindrec.tokenization.build_codes import build_item_codes, load_items_file

    items = load_items_file(args.items)
    table = build_item_codes(
        items,
        num_category_levels=args.num_category_levels,
        num_sid_digits=args.num_sid_digits,
        codebook_size=args.codebook_size,
        embedding=args.code_embedding,
        quantizer=args.quantizer,
        collision=args.collision,
        seed=args.seed,
        drop_root=not args.keep_root,
        embedding_model=args.code_embedding_model,
        embedding_dim=args.embedding_dim,
        show_progress=not args.no_progress,
    )
    table.save(args.output)
    if args.stats_json:
        atomic_write_json(args.stats_json, {"method": table.method, "stats": table.stats})
    print(f"wrote {args.output}: {table}")
    print(json.dumps(table.stats, indent=2))


if __name__ == "__main__":
    main()
