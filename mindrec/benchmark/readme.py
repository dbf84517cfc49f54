"""Generate the README's results section from the benchmark result files (never typed by hand).

README.md holds two markers; everything between them is replaced::

    <!-- results:start -->
    ... generated ...
    <!-- results:end -->
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..io_utils import atomic_write_text
from .protocols import PROTOCOLS
from .report import format_results_table

START_MARKER = "<!-- results:start -->"
END_MARKER = "<!-- results:end -->"
# The README shows full Beauty first: it is the protocol with enough data to rank methods.
README_PROTOCOL_ORDER = ("beauty-full", "beauty-mindrec")


def _result_sets(results_dir: str | os.PathLike, include_smoke_tests: bool) -> list[tuple[dict[str, Any], Path]]:
    """Every result set of ``results_dir`` with its path, each file read once; smoke-test results only with
    ``include_smoke_tests`` or when nothing else is there.

    Raises:
        FileNotFoundError: the folder does not exist or holds no result set.
        ValueError: a ``.json`` there is not a result set (names the file).
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"no benchmark results folder at {results_dir}")
    every = [(load_result_set(path), path) for path in sorted(results_dir.glob("*.json"))]
    measured = [item for item in every if not _is_smoke_test(item[0]["protocol"])]
    kept = every if include_smoke_tests or not measured else measured
    if not kept:
        raise FileNotFoundError(f"{results_dir} holds no benchmark result (*.json); run scripts/benchmark.py first")
    return kept


def _newest(sets: list[tuple[dict[str, Any], Path]]) -> tuple[dict[str, Any], Path]:
    return max(sets, key=lambda item: (item[0]["date"], item[1].name))


def latest_result_file(results_dir: str | os.PathLike, include_smoke_tests: bool = False) -> Path:
    """The ``*.json`` result set in ``results_dir`` with the most recent ``date`` field.

    Results of smoke-test protocols (``synthetic-small``) are passed over unless ``include_smoke_tests`` is
    set or nothing else is there: a pipeline check should not replace a measurement in the README.

    Raises:
        FileNotFoundError / ValueError: as :func:`_result_sets`.
    """
    return _newest(_result_sets(results_dir, include_smoke_tests))[1]


def readme_result_files(results_dir: str | os.PathLike, include_smoke_tests: bool = False) -> list[Path]:
    """Every result set of ``results_dir`` for the README: :data:`README_PROTOCOL_ORDER` first, then the rest
    newest first; smoke tests only when the newest kept result is one (``include_smoke_tests``, or nothing
    else is there).

    Raises:
        FileNotFoundError / ValueError: as :func:`latest_result_file`.
    """
    sets = _result_sets(results_dir, include_smoke_tests)
    if not _is_smoke_test(_newest(sets)[0]["protocol"]):
        sets = [(result_set, path) for result_set, path in sets if not _is_smoke_test(result_set["protocol"])]

    def rank(item: tuple[dict[str, Any], Path]) -> int:
        protocol = item[0]["protocol"]
        return README_PROTOCOL_ORDER.index(protocol) if protocol in README_PROTOCOL_ORDER else len(README_PROTOCOL_ORDER)

    newest_first = sorted(sets, key=lambda item: item[0]["date"], reverse=True)
    return [path for _, path in sorted(newest_first, key=rank)]  # stable: newest first within a rank


def _is_smoke_test(protocol: str) -> bool:
    """Whether ``protocol`` names a smoke-test protocol (unknown names count as measurements)."""
    return protocol in PROTOCOLS and PROTOCOLS[protocol].smoke_test


def load_result_set(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``<protocol>.json`` result set and check the keys the README section needs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"benchmark result file {path} does not exist")
    try:
        result_set = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(result_set, dict):
        raise ValueError(f"{path}: not a benchmark result set (a JSON object), got {type(result_set).__name__}")
    missing = [key for key in ("protocol", "date", "seeds", "summary") if key not in result_set]
    if missing:
        raise ValueError(f"{path}: not a benchmark result set, missing the key(s) {missing}")
    return result_set


def results_section(result_set: Mapping[str, Any], plot_path: str | None) -> str:
    """The markdown between the markers: heading with protocol and date, table, plot link, provenance."""
    seeds = result_set["seeds"]
    seed_text = f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(str(seed) for seed in seeds)})"
    lines = [
        f"Protocol `{result_set['protocol']}`, run {result_set['date'][:10]}, {seed_text}; "
        "cells are mean ± sample std over seeds.",
        "",
        format_results_table(result_set["summary"]).rstrip("\n"),
        "",
    ]
    if result_set.get("command"):  # a scaled-down run (--max-steps, --models) says so here
        lines += [f"Command: `{result_set['command']}`.", ""]
    elif result_set.get("commands"):  # parts run side by side, merged by scripts/merge_results.py
        lines += ["Commands (parts run side by side, then merged by `scripts/merge_results.py`):", "", "```bash"]
        lines += [*result_set["commands"], "```", ""]
    if plot_path:
        lines += [f"![NDCG@10 against decoding speed]({plot_path})", ""]
    lines.append(
        "Generated by `scripts/update_readme_results.py` from `docs/results/`; do not edit by hand."
    )
    return "\n".join(lines)


def replace_between_markers(text: str, section: str, source: str = "README.md") -> str:
    """``text`` with everything between :data:`START_MARKER` and :data:`END_MARKER` replaced by ``section``.

    Raises:
        ValueError: a marker is missing, repeated, or the end comes before the start (names ``source``).
    """
    for marker in (START_MARKER, END_MARKER):
        count = text.count(marker)
        if count != 1:
            raise ValueError(f"{source} must hold the marker {marker!r} exactly once, found it {count} times")
    start = text.index(START_MARKER) + len(START_MARKER)
    end = text.index(END_MARKER)
    if end < start:
        raise ValueError(f"{source}: {END_MARKER!r} comes before {START_MARKER!r}")
    return text[:start] + "\n" + section.strip("\n") + "\n" + text[end:]


def update_readme(readme: str | os.PathLike, result_file: str | os.PathLike | list) -> str:
    """Rewrite ``readme``'s results section from ``result_file`` (or several, one part each, in the given
    order) atomically; return the new section.

    The plot link is ``<protocol>.png`` next to the result file, relative to the README's folder, and is
    left out when that PNG does not exist.
    """
    readme = Path(readme)
    if not readme.is_file():
        raise FileNotFoundError(f"README {readme} does not exist")
    files = [Path(path) for path in result_file] if isinstance(result_file, list) else [Path(result_file)]
    parts = []
    for path in files:
        plot = path.with_suffix(".png")
        plot_link = Path(os.path.relpath(plot, readme.parent)).as_posix() if plot.is_file() else None
        parts.append(results_section(load_result_set(path), plot_link))
    section = "\n\n".join(parts)
    text = readme.read_text(encoding="utf-8")
    atomic_write_text(readme, replace_between_markers(text, section, source=str(readme)))
    return section


__all__ = [
    "END_MARKER",
    "START_MARKER",
    "README_PROTOCOL_ORDER",
    "latest_result_file",
    "readme_result_files",
    "load_result_set",
    "replace_between_markers",
    "results_section",
    "update_readme",
]
