"""Nothing lost: the writers never replace what mindrec did not write (CLIs through subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_support import load_script
from test_data_prepare_script import beauty_folder  # noqa: F401 - a fixture

from mindrec.io_utils import MANIFEST_FILE

REPO = Path(__file__).resolve().parents[1]
PREPARE = REPO / "scripts" / "prepare_data.py"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (what must survive a refused command)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=120, env=env, cwd=REPO
    )


@pytest.fixture
def raw(beauty_folder):  # noqa: F811 - the imported fixture, requested by name
    """A tiny Beauty-format dataset folder (``tmp_path/tiny``): ``sequences.txt`` + ``items.jsonl``."""
    return beauty_folder


@pytest.fixture(scope="module")
def prepare_main():
    """``scripts/prepare_data.py``'s ``main`` in this process (the cheap cases; one of each runs as a CLI)."""
    return load_script("prepare_data").main


def test_prepare_data_refuses_an_output_overlapping_its_input(raw, tmp_path, prepare_main):
    before = snapshot(tmp_path)
    # As a user would: --input X --output X (this destroyed sequences.txt / items.jsonl, exit 0).
    result = run_script(PREPARE, "--input", str(raw), "--output", str(raw), "--overwrite")
    assert result.returncode == 1 and "must lie outside the input" in result.stderr, result.stderr
    for output in (raw / "prepared", tmp_path, raw / "sequences.txt"):
        with pytest.raises(SystemExit, match="must lie outside the input"):
            prepare_main(["--input", str(raw), "--output", str(output), "--overwrite"])
    with pytest.raises(SystemExit, match="must lie outside the input"):
        prepare_main(["--input", str(raw), "--output", str(tmp_path / "o"), "--stats-json", str(raw / "s.json")])
    assert snapshot(tmp_path) == before  # the raw data is intact, nothing was added


def test_prepare_data_never_replaces_what_it_did_not_write(raw, tmp_path, prepare_main):
    # An unrelated folder, and a plain file: refused even with --overwrite, and left as they were.
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (unrelated / "thesis.tex").write_text("years of work")
    plain = tmp_path / "plain"
    plain.write_text("a file, not a folder")
    before = snapshot(tmp_path)
    result = run_script(PREPARE, "--input", str(raw), "--output", str(unrelated), "--overwrite")
    assert result.returncode == 1 and "is not a previous prepared-data output" in result.stderr, result.stderr
    with pytest.raises(SystemExit, match="exists and is not a folder"):
        prepare_main(["--input", str(raw), "--output", str(plain), "--overwrite"])
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "tiny", "unrelated"]  # no temporary folders


def test_prepare_data_replaces_its_own_output_only_when_asked(raw, tmp_path, prepare_main):
    out = tmp_path / "out"
    prepare_main(["--input", str(raw), "--output", str(out)])
    assert (out / MANIFEST_FILE).is_file() and (out / "prepared.json").is_file()
    written = snapshot(out)

    again = run_script(PREPARE, "--input", str(raw), "--output", str(out), "--max-users", "1")
    assert again.returncode != 0 and "without being asked (overwrite=True / --overwrite)" in again.stderr
    assert snapshot(out) == written

    (out / "my_notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match=r"holds files mindrec did not write there: \['my_notes.txt'\]"):
        prepare_main(["--input", str(raw), "--output", str(out), "--max-users", "1", "--overwrite"])
    assert (out / "my_notes.txt").read_text() == "keep me"
    (out / "my_notes.txt").unlink()

    replaced = run_script(PREPARE, "--input", str(raw), "--output", str(out), "--max-users", "1", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads((out / "prepared.json").read_text())["statistics"]["users"] == 1
    assert "Replacing the previous prepared-data output" in replaced.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny"]
