#!/usr/bin/env python
"""Prepare a dataset: load a source format, split leave-one-out, save the folder, print statistics.

Example:
    python scripts/prepare_data.py --data ../shared/data/amazon_beauty_2014 \
        --max-history 10 --max-users 5000 --output-dir prepared/beauty_5k --stats-json prepared/beauty_5k.json
    python scripts/prepare_data.py --data events.csv --items items.csv --timestamp-column ts --output-dir prepared/mine

Every option is accepted as --a_b and --a-b; --input and --output are the older names of --data and --output_dir.
"""

from __future__ import annotations

import argparse
import time

from mindrec.cli_args import ArgumentParser, canonical, int_at_least
from mindrec.logging_setup import add_log_level_argument, setup_logging

# Format names (mindrec.data.FORMATS; checked in tests/test_cli.py) written out so that --help imports nothing.
FORMATS = ("auto", "amazon-beauty", "recbole", "lcrec-json", "amazon-raw", "movielens", "interactions")
OPTION_FORMATS = {
    "kcore": "amazon-raw",
    "meta_path": "amazon-raw",
    "index_path": "lcrec-json",
    "items": "interactions",
    "user_column": "interactions",
    "item_column": "interactions",
    "timestamp_column": "interactions",
    "category_separator": "interactions",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="scripts/prepare_data.py", description=__doc__)
    parser.add_argument(
        *canonical("data path"),
        required=True,
        help="dataset folder, one of its files, a folder/<name> prefix, your own csv/tsv/parquet table, "
        "or a Hub dataset name (with --format interactions)",
    )
    parser.add_argument("--format", default="auto", choices=FORMATS, help="source format (default: detect)")
    parser.add_argument(
        "--max-history", type=int_at_least(1), default=None, help="keep the last N history items"
    )
    parser.add_argument("--max-users", type=int_at_least(1), default=None, help="keep the first N users")
    parser.add_argument(
        "--drop-unused-items",
        action="store_true",
        help="drop items no kept user interacted with (default: keep the full catalogue)",
    )
    parser.add_argument("--kcore", type=int, default=None, help="amazon-raw: k-core threshold (default 5)")
    parser.add_argument(
        "--meta", default=None, help="amazon-raw: metadata file (default: the folder's meta_* file)"
    )
    parser.add_argument(
        "--index", default=None, help="lcrec-json: SID index file (default: <name>.index.json)"
    )
    parser.add_argument("--items", default=None, help="interactions: the item table (title, brand, categories ...)")
    parser.add_argument("--user_column", default=None, help="interactions: user id column (default user_id)")
    parser.add_argument("--item_column", default=None, help="interactions: item id column (default item_id)")
    parser.add_argument(
        "--timestamp_column", default=None, help="interactions: time column (default timestamp; '' = row order)"
    )
    parser.add_argument(
        "--category_separator", default=None, help="interactions: level separator of string categories (default >)"
    )
    parser.add_argument(
        *canonical("output folder"),
        required=True,
        help="output folder (written atomically; must lie outside the input)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --output_dir when it is a previous prepare_data output (never any other folder or file)",
    )
    parser.add_argument("--stats-json", default=None, help="also write the statistics to this JSON file")
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    setup_logging(args.log_level)
    from mindrec.data import detect_format, load_dataset_from_path
    from mindrec.data.prepared import PREPARED_KIND
    from mindrec.io_utils import atomic_write_json, check_replaceable, check_separate

    start = time.perf_counter()
    try:  # refused before the (possibly long) load, so that nothing is read or written in vain
        check_separate(args.output_dir, [args.data])
        if args.stats_json:
            check_separate(args.stats_json, [args.data])
        check_replaceable(args.output_dir, PREPARED_KIND, args.overwrite)
    except (ValueError, FileExistsError) as error:
        raise SystemExit(f"error: {error}") from None
    source_format = detect_format(args.data) if args.format == "auto" else args.format
    # Only pass format-specific options that were given, and only to the format that knows them.
    options = {}
    for flag, key, value in (
        ("--kcore", "kcore", args.kcore),
        ("--meta", "meta_path", args.meta),
        ("--index", "index_path", args.index),
        ("--items", "items", args.items),
        ("--user_column", "user_column", args.user_column),
        ("--item_column", "item_column", args.item_column),
        ("--timestamp_column", "timestamp_column", args.timestamp_column),
        ("--category_separator", "category_separator", args.category_separator),
    ):
        if value is None:
            continue
        if OPTION_FORMATS[key] != source_format:
            raise SystemExit(f"error: {flag} applies to --format {OPTION_FORMATS[key]}, not {source_format}")
        options[key] = value if key != "timestamp_column" else value or None
    data = load_dataset_from_path(
        args.data,
        format=source_format,
        max_history=args.max_history,
        max_users=args.max_users,
        keep_unused_items=not args.drop_unused_items,
        **options,
    )
    try:
        data.save_to_disk(args.output_dir, overwrite=args.overwrite)
    except FileExistsError as error:  # appeared while the data was loading
        raise SystemExit(f"error: {error}") from None
    stats = {"name": data.name, **data.statistics(), "seconds": round(time.perf_counter() - start, 3)}
    for key, value in stats.items():
        print(f"{key:>16}: {value}")
    if args.stats_json:
        atomic_write_json(args.stats_json, stats)
    return stats


if __name__ == "__main__":
    main()
