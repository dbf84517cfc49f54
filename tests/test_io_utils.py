"""Safe writes: whole-or-nothing, readable modes, and nothing replaced that mindrec did not write."""

import json
import os
import stat

import pytest

from mindrec.io_utils import (
    MANIFEST_FILE,
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_separate,
    verify_manifest,
)


def default_mode(base=0o666):
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def test_atomic_write_text_replaces_whole_file_with_default_mode(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == default_mode()
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]
    atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01" and stat.S_IMODE(path.stat().st_mode) == default_mode()


def test_atomic_write_refuses_to_replace_a_folder(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_text("x")
    with pytest.raises(IsADirectoryError, match="is a folder; refusing to replace it with a file"):
        atomic_write_text(tmp_path / "d", "text")
    assert (tmp_path / "d" / "keep").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_atomic_write_json_keeps_old_file_when_serialisation_fails(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_json(path, {"x": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"x": object()})
    assert path.read_text() == '{\n  "x": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_atomic_directory_is_all_or_nothing_and_writes_a_manifest(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target, "thing") as tmp:
        (tmp / "f").write_text("v1")
    assert (target / "f").read_text() == "v1"
    assert stat.S_IMODE(target.stat().st_mode) == default_mode(0o777)
    manifest = verify_manifest(target, kind="thing")
    assert manifest["kind"] == "thing" and list(manifest["files"]) == ["f"]
    with pytest.raises(RuntimeError), atomic_directory(target, "thing", overwrite=True) as tmp:
        (tmp / "f").write_text("v2")
        raise RuntimeError("crash while writing")
    assert (target / "f").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with atomic_directory(target, "thing", overwrite=True) as tmp:
        (tmp / "g").write_text("v2")
    assert sorted(p.name for p in target.iterdir()) == ["g", MANIFEST_FILE]


def test_atomic_directory_never_replaces_what_mindrec_did_not_write(tmp_path):
    # A folder of someone else's files, a plain file, a previous output of another kind, a previous output
    # with a foreign file added, and a previous output without overwrite: all refused, all left as they were.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    plain = tmp_path / "plain"
    plain.write_text("a file")
    other = tmp_path / "other"
    with atomic_directory(other, "model") as tmp:
        (tmp / "w").write_text("weights")
    mixed = tmp_path / "mixed"
    with atomic_directory(mixed, "thing") as tmp:
        (tmp / "f").write_text("v1")
    (mixed / "user.txt").write_text("added later")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    cases = [
        (foreign, True, r"not a previous thing output of mindrec \(no mindrec manifest"),
        (plain, True, "exists and is not a folder"),
        (other, True, r"not a previous thing output of mindrec \(a 'model' manifest"),
        (mixed, True, r"holds files mindrec did not write there: \['user.txt'\]"),
        (mixed, False, "refusing to overwrite it without being asked"),
    ]
    for path, overwrite, message in cases:
        with pytest.raises(FileExistsError, match=message), atomic_directory(path, "thing", overwrite=overwrite):
            raise AssertionError("the body must not run")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "mixed", "other", "plain"]


def test_verify_manifest_names_changed_and_missing_files(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target, "thing") as tmp:
        (tmp / "a").write_text("1")
        (tmp / "b").write_text("2")
    (target / "a").write_text("tampered")
    with pytest.raises(ValueError, match=r"\['a'\] differ\(s\) from the content saved"):
        verify_manifest(target)
    (target / "b").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing: \['b'\]"):
        verify_manifest(target)
    (target / MANIFEST_FILE).write_text(json.dumps({"kind": "thing"}))
    with pytest.raises(ValueError, match="is not a mindrec manifest"):
        verify_manifest(target)


def test_check_separate_refuses_outputs_overlapping_an_input(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sequences.txt").write_text("1 2 3\n")
    for output in (data, data / "prepared", tmp_path, data / "sequences.txt"):
        with pytest.raises(ValueError, match="must lie outside the input"):
            check_separate(output, [data])
    with pytest.raises(ValueError, match="must lie outside the input"):
        check_separate(tmp_path, [data / "sequences.txt"])
    check_separate(tmp_path / "prepared", [data])
    check_separate(tmp_path / "prepared", [data / "sequences.txt"])
