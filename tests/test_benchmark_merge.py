"""Merging the result files of a protocol run in parts: one table, each plan's own settings, every command."""

import json

import pytest

from mindrec.benchmark.cli import benchmark_main, merge_main
from mindrec.benchmark.merge import merge_result_sets
from mindrec.benchmark.readme import results_section
from mindrec.benchmark.report import summarize_runs


def run_part(tmp_path, name, *arguments):
    output = tmp_path / name
    benchmark_main(["--protocol", "synthetic-small", "--output", str(output), *arguments], repo_root=tmp_path)
    return json.loads((output / "synthetic-small.json").read_text())


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    pytest.importorskip("matplotlib", reason="result plots need the optional 'bench' extra")
    tmp_path = tmp_path_factory.mktemp("parts")
    return [
        run_part(tmp_path, "a", "--models", "popularity", "--seeds", "1"),
        run_part(tmp_path, "b", "--models", "popularity", "--seeds", "0"),
        run_part(tmp_path, "c", "--models", "tiger", "--seeds", "0", "--max-steps", "2",
                 "--set", "tiger.training.learning_rate=0.001"),
    ]


def test_merged_runs_are_in_protocol_order_with_one_summary(parts):
    merged = merge_result_sets(parts)
    assert [(run["model"], run["seed"]) for run in merged["runs"]] == [("popularity", 0), ("popularity", 1), ("tiger", 0)]
    assert merged["summary"] == summarize_runs(merged["runs"])
    assert merged["seeds"] == [0, 1] and merged["models"] == ["popularity", "tiger"]
    assert merged["commands"] == [part["command"] for part in parts] and merged["command"] is None
    assert merged["wall_seconds"] == max(part["wall_seconds"] for part in parts)
    # The tiger plan carries the settings of the part that trained it; the others keep the first part's.
    plans = merged["protocol_config"]["plans"]
    assert plans["tiger"]["training"]["learning_rate"] == 0.001 and plans["tiger"]["training"]["max_steps"] == 2
    assert plans["mindrec"] == parts[0]["protocol_config"]["plans"]["mindrec"]
    # Only the tiger part built item codes (popularity needs none); its table is kept, once.
    assert len(parts[2]["code_tables"]) == 1 and merged["code_tables"] == parts[2]["code_tables"]
    same_codes = {**parts[2], "runs": [{**run, "seed": 9} for run in parts[2]["runs"]], "seeds": [9]}
    assert merge_result_sets([parts[2], same_codes])["code_tables"] == parts[2]["code_tables"]
    # The parts' commits: one when they agree (None outside a git checkout), else each, in part order.
    assert merged["git_commit"] == parts[0]["git_commit"]
    commits = [{**part, "git_commit": commit} for part, commit in zip(parts, ["abc", "abc+dirty", None], strict=True)]
    assert merge_result_sets(commits)["git_commit"] == "abc; abc+dirty; unknown"
    section = results_section(merged, None)
    assert "```bash\n" + "\n".join(merged["commands"]) + "\n```" in section


def test_merge_refuses_overlapping_or_foreign_parts(parts):
    with pytest.raises(ValueError, match="row 'popularity' seed 1 is in parts 0 and 1"):
        merge_result_sets([parts[0], parts[0]])
    other = {**parts[1], "protocol": "beauty-full"}
    with pytest.raises(ValueError, match="different protocol"):
        merge_result_sets([parts[0], other])
    fewer_users = {**parts[1], "data": {**parts[1]["data"], "users": parts[1]["data"]["users"] - 1}}
    with pytest.raises(ValueError, match="different data"):
        merge_result_sets([parts[0], fewer_users])
    # The same data read from another folder (another machine) merges.
    moved = {**parts[1], "data": {**parts[1]["data"], "path": "elsewhere/" + str(parts[1]["data"]["path"])}}
    assert [run["seed"] for run in merge_result_sets([parts[0], moved])["runs"]] == [0, 1]
    with pytest.raises(ValueError, match="no result sets"):
        merge_result_sets([])


def test_merge_cli_writes_the_merged_files(parts, tmp_path, capsys):
    paths = []
    for index, part in enumerate(parts):
        path = tmp_path / f"part{index}.json"
        path.write_text(json.dumps(part))
        paths.append(str(path))
    merged = merge_main([*paths, "--output", str(tmp_path / "merged")])
    assert json.loads((tmp_path / "merged" / "synthetic-small.json").read_text()) == merged
    assert sorted(p.name for p in (tmp_path / "merged").iterdir()) == [
        "synthetic-small-curves.png", "synthetic-small.json", "synthetic-small.md", "synthetic-small.png"
    ]
    assert capsys.readouterr().out.startswith("| Model |")
    with pytest.raises(SystemExit, match="merge_results: .*does not exist"):
        merge_main([str(tmp_path / "missing.json"), "--output", str(tmp_path / "x")])
