"""How the data pipeline scales with the number of interactions: time and peak memory of each stage on synthetic
MovieLens-style data (``ratings.dat`` + ``movies.dat``), printed as a table.

Stages, each timed in one child process per size (peak memory is the process's maximum resident set after the stage):
reading the files into user sequences (``load_movielens``), the leave-one-out splits (``to_prepared``), and the
transition counts the decoding credits read as of the test targets (``decoding_counts``, with the shipped configs'
``transition_gap_decay``).

    python scripts/benchmark_data_scale.py --ratings 1000000 3000000 10000000

The synthetic data: Zipf-like movie popularity, each user's movies drawn without replacement (log-normal counts, at
least 20 as in MovieLens), rated in draw order with increasing timestamps; 6,040 users per million ratings (as
MovieLens-1M), 3,706 movies times the square root of the millions (at least 500, at most MovieLens-10M's 10,677).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance", "Thriller", "Sci-Fi", "Animation")


def write_movielens(folder: Path, num_ratings: int, seed: int) -> tuple[int, int]:
    """Write a synthetic ``ratings.dat`` / ``movies.dat`` pair; returns (users, movies)."""
    rng = np.random.default_rng(seed)
    num_users = max(100, round(6040 * num_ratings / 1e6))
    num_items = int(min(10_677, max(500, 3706 * (num_ratings / 1e6) ** 0.5)))
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.9
    popularity /= popularity.sum()
    lengths = rng.lognormal(np.log(num_ratings / num_users) - 0.6, 1.0, num_users)
    lengths = np.clip(lengths * num_ratings / lengths.sum(), 20, num_items // 2).astype(int)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "movies.dat", "w", encoding="utf-8") as movies:
        for item in range(num_items):
            genres = "|".join(sorted(set(rng.choice(GENRES, int(rng.integers(1, 4))))))
            movies.write(f"{item + 1}::Movie {item + 1} ({1950 + item % 70})::{genres}\n")
    with open(folder / "ratings.dat", "w", encoding="utf-8") as ratings:
        for user in range(num_users):
            items = rng.choice(num_items, size=lengths[user], replace=False, p=popularity) + 1
            times = 956_703_932 + np.cumsum(rng.integers(0, 5000, size=lengths[user]))
            stars = rng.integers(1, 6, size=lengths[user])
            ratings.write("".join(f"{user + 1}::{i}::{r}::{t}\n" for i, r, t in zip(items, stars, times, strict=True)))
    return num_users, num_items


def measure_stages(folder: str, max_history: int, gap_decay: float) -> dict:
    """Run the stages in this process; each stage's seconds and the peak resident set after it (GB)."""
    from mindrec.baselines.popularity import decoding_counts
    from mindrec.data.loaders.movielens import load_movielens

    def peak_gb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kilobytes on Linux

    stages = {"start": {"seconds": 0.0, "peak_gb": peak_gb()}}
    start = time.perf_counter()
    data = load_movielens(folder)
    stages["read"] = {"seconds": time.perf_counter() - start, "peak_gb": peak_gb()}
    start = time.perf_counter()
    prepared = data.to_prepared(max_history=max_history)
    stages["splits"] = {"seconds": time.perf_counter() - start, "peak_gb": peak_gb()}
    del data
    start = time.perf_counter()
    counts = decoding_counts(prepared.splits, prepared.num_items, "test", gap_decay)
    stages["transitions"] = {"seconds": time.perf_counter() - start, "peak_gb": peak_gb()}
    return {"stages": stages, "train_rows": len(prepared.splits["train"]), "pairs": counts["transition_counts"]._nnz()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--max-history", type=int, default=20, help="the shipped configs' max_history")
    parser.add_argument("--gap-decay", type=float, default=0.5, help="the shipped configs' transition_gap_decay")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default=None, help="where the synthetic files go (a temporary folder if unset)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: measure one folder
    args = parser.parse_args()
    if args.child is not None:
        sys.stdout.write(json.dumps(measure_stages(args.child, args.max_history, args.gap_decay)) + "\n")
        return

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.work_dir or scratch)
        header = "| ratings | users | movies | train rows | read s / GB | splits s / GB | transitions s / GB | pairs |"
        lines = [header, "|" + "---:|" * 8]
        for num_ratings in args.ratings:
            folder = root / f"ml-synthetic-{num_ratings}"
            users, movies = write_movielens(folder, num_ratings, args.seed)
            command = [sys.executable, __file__, "--child", str(folder), "--max-history", str(args.max_history),
                       "--gap-decay", str(args.gap_decay)]  # fmt: skip
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            cells = [f"{result['stages'][name]['seconds']:.1f} / {result['stages'][name]['peak_gb']:.2f}"
                     for name in ("read", "splits", "transitions")]  # fmt: skip
            lines.append(f"| {num_ratings:,} | {users:,} | {movies:,} | {result['train_rows']:,} | "
                         f"{' | '.join(cells)} | {result['pairs']:,} |")  # fmt: skip
            sys.stdout.write(lines[-1] + "\n")
            sys.stdout.flush()
        sys.stdout.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
