#!/usr/bin/env python
"""Prepare a dataset: load a source format, split leave-one-out, save the folder, print statistics.

Example:
    python scripts/prepare_data.py --input ../shared/data/amazon_beauty_2014 \
        --max-history 10 --max-users 5000 --output prepared/beauty_5k --stats-json prepared/beauty_5k.json
"""

from __future__ import annotations

import argparse
import logging
import time

from mindrec.data import FORMATS, detect_format, load_dataset_from_path
from mindrec.data.prepared import PREPARED_KIND
from mindrec.io_utils import atomic_write_json, check_replaceable, check_separate

OPTION_FORMATS = {"kcore": "amazon-raw", "meta_path": "amazon-raw", "index_path": "lcrec-json"}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--input", required=True, help="dataset folder, one of its files, or a folder/<name> prefix"
    )
    parser.add_argument("--format", default="auto", choices=FORMATS, help="source format (default: detect)")
    parser.add_argument(
        "--max-history", type=positive_int, default=None, help="keep the last N history items"
    )
    parser.add_argument("--max-users", type=positive_int, default=None, help="keep the first N users")
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
    parser.add_argument(
        "--output", required=True, help="output folder (written atomically; must lie outside the input)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --output when it is a previous prepare_data output (never any other folder or file)",
    )
    parser.add_argument("--stats-json", default=None, help="also write the statistics to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    try:  # refused before the (possibly long) load, so that nothing is read or written in vain
        check_separate(args.output, [args.input])
        if args.stats_json:
            check_separate(args.stats_json, [args.input])
        check_replaceable(args.output, PREPARED_KIND, args.overwrite)
    except (ValueError, FileExistsError) as error:
        raise SystemExit(f"error: {error}") from None
    source_format = detect_format(args.input) if args.format == "auto" else args.format
    # Only pass format-specific options that were given, and only to the format that knows them.
    options = {}
    for flag, key, value in (
        ("--kcore", "kcore", args.kcore),
        ("--meta", "meta_path", args.meta),
        ("--index", "index_path", args.index),
    ):
        if value is None:
            continue
        if OPTION_FORMATS[key] != source_format:
            raise SystemExit(f"error: {flag} applies to --format {OPTION_FORMATS[key]}, not {source_format}")
        options[key] = value
    data = load_dataset_from_path(
        args.input,
        format=source_format,
        max_history=args.max_history,
        max_users=args.max_users,
        keep_unused_items=not args.drop_unused_items,
        **options,
    )
    try:
        data.save_to_disk(args.output, overwrite=args.overwrite)
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
