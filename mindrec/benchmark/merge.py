"""Merge result sets of one protocol that ran as separate parts (seeds or models split across processes or
machines) into one result set with one table.

    python scripts/merge_results.py part-a/beauty-full.json part-b/beauty-full.json --output docs/results

Each plan keeps the settings of the part that trained it (a part's ``--set`` overrides reach only the plans
it ran), and every part's command is kept, so the merged page says exactly what ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .report import summarize_runs


def _plan_of_rows(protocol_config: Mapping[str, Any]) -> dict[str, str]:
    return {row: name for name, plan in protocol_config["plans"].items() for row in plan["rows"]}


def _data_identity(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "path"}


def merge_result_sets(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One result set from ``parts`` of the same protocol and data.

    Runs are ordered as the protocol lists its rows, then by seed. ``protocol_config`` is the first part's,
    with each plan's settings taken from the part that ran it. ``commands`` lists every part's command;
    ``wall_seconds`` is the longest part's (parts are meant to run side by side).

    Raises:
        ValueError: no parts, parts of different protocols or data, or one row and seed in two parts.
    """
    if not parts:
        raise ValueError("no result sets to merge")
    first = parts[0]
    for part in parts[1:]:
        if part["protocol"] != first["protocol"]:
            raise ValueError(f"cannot merge result sets with different protocol: {first['protocol']!r} vs {part['protocol']!r}")
        # The same data may sit in another folder on another machine: compare all but its path.
        if _data_identity(part["data"]) != _data_identity(first["data"]):
            raise ValueError(f"cannot merge result sets with different data: {first['data']!r} vs {part['data']!r}")
    seen: dict[tuple[str, int], int] = {}
    for index, part in enumerate(parts):
        for run in part["runs"]:
            key = (run["model"], run["seed"])
            if key in seen:
                raise ValueError(f"row {key[0]!r} seed {key[1]} is in parts {seen[key]} and {index}")
            seen[key] = index

    plan_of = _plan_of_rows(first["protocol_config"])
    plans = dict(first["protocol_config"]["plans"])
    for part in parts:
        for row in part["models"]:
            plans[plan_of[row]] = part["protocol_config"]["plans"][plan_of[row]]
    row_order = {row: position for position, row in enumerate(plan_of)}
    runs = sorted(
        (run for part in parts for run in part["runs"]), key=lambda run: (row_order[run["model"]], run["seed"])
    )
    seeds = sorted({seed for part in parts for seed in part["seeds"]})
    models = sorted({row for part in parts for row in part["models"]}, key=row_order.__getitem__)
    return {
        **first,
        "protocol_config": {**first["protocol_config"], "plans": plans},
        # Parts of one seed build the same code table; each is listed once.
        "code_tables": [
            table
            for index, part in enumerate(parts)
            for table in part["code_tables"]
            if not any(table in earlier["code_tables"] for earlier in parts[:index])
        ],
        "seeds": seeds,
        "models": models,
        "skipped": {key: value for part in parts for key, value in part.get("skipped", {}).items()},
        "date": max(part["date"] for part in parts),
        # Parts run at different commits (or one with uncommitted changes) name each, in part order, not none.
        "git_commit": "; ".join(dict.fromkeys(part["git_commit"] or "unknown" for part in parts))
        if any(part["git_commit"] for part in parts)
        else None,
        "command": None,
        "commands": [part["command"] for part in parts],
        "wall_seconds": max(part["wall_seconds"] for part in parts),
        "seed_seconds": {},
        "runs": runs,
        "summary": summarize_runs(runs),
    }


__all__ = ["merge_result_sets"]
