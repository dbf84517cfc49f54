"""Saved models: what is loaded is what was saved, and broken models fail loudly rather than score zeros."""

from __future__ import annotations

import json
import shutil
import struct

import pytest
import torch
from hub_support import save_model_folder
from test_output_safety import REPO, run_script
from training_support import tiny_arguments

from mindrec.hub.model_folder import inspect_model_folder
from mindrec.io_utils import MANIFEST_FILE
from mindrec.modeling import MindRecForRecommendation
from mindrec.pipeline import build_run, run_record
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer
from mindrec.training.model_io import load_trained_model, save_trained_model
from mindrec.training.trainer import make_accelerator

EVALUATE = REPO / "scripts" / "evaluate.py"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_model_folder(tmp_path_factory.mktemp("integrity") / "final")


@pytest.fixture
def folder(saved, tmp_path):
    copy = tmp_path / "final"
    shutil.copytree(saved, copy)
    return copy


def nan_weights(folder):
    """Random-looking bytes in model.safetensors with its header intact (every float becomes NaN)."""
    path = folder / "model.safetensors"
    data = bytearray(path.read_bytes())
    start = 8 + struct.unpack("<Q", data[:8])[0]
    data[start:] = b"\xff" * (len(data) - start)
    path.write_bytes(bytes(data))


def shuffle_codes(folder):
    """Swap two items' codes: the same layout, a valid table, the wrong items."""
    path = folder / "item_codes.json"
    table = json.loads(path.read_text())
    table["codes"][0], table["codes"][3] = table["codes"][3], table["codes"][0]
    path.write_text(json.dumps(table))


def test_the_saved_folder_loads_and_records_its_code_table(saved):
    trained = load_trained_model(saved)
    assert json.loads((saved / MANIFEST_FILE).read_text())["kind"] == "model"
    assert len(trained.model.config.catalogue_sha256) == 64
    assert json.loads((saved / "tokenizer_config.json").read_text())["code_table_sha256"] == (
        trained.tokenizer.init_kwargs["code_table_sha256"]
    )
    # Loaded with its own layers: no Hub kernels swapped in (transformers >= 5.25 would when `kernels` is installed).
    assert trained.model.use_kernels is False


def test_corrupted_weights_are_refused_by_the_manifest_then_as_non_finite(folder):
    nan_weights(folder)
    with pytest.raises(ValueError, match=r"\['model.safetensors'\] differ\(s\) from the content saved"):
        load_trained_model(folder)
    with pytest.raises(ValueError, match=r"\['model.safetensors'\] differ\(s\)"):
        inspect_model_folder(folder)
    (folder / MANIFEST_FILE).unlink()  # a folder without a manifest: the weights themselves give it away
    with pytest.raises(ValueError, match=r"has non-finite \(NaN or infinite\) weights in \d+ tensor\(s\)"):
        load_trained_model(folder)


def test_a_shuffled_code_table_is_refused_by_every_loader(folder):
    shuffle_codes(folder)
    with pytest.raises(ValueError, match=r"\['item_codes.json'\] differ\(s\) from the content saved"):
        load_trained_model(folder)
    (folder / MANIFEST_FILE).unlink()
    message = r"is not the code table this tokenizer was saved with .* in tokenizer_config.json"
    with pytest.raises(ValueError, match=message):
        load_trained_model(folder)
    with pytest.raises(ValueError, match=message):
        MindRecTokenizer.from_pretrained(folder)
    # Without the tokenizer's record, the model's own config.json still knows its code table.
    config = json.loads((folder / "tokenizer_config.json").read_text())
    del config["code_table_sha256"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = MindRecTokenizer.from_pretrained(folder)
    model = MindRecForRecommendation.from_pretrained(folder).eval()
    with pytest.raises(ValueError, match=r"not the code table this model was saved with .*config.catalogue_sha256"):
        model.generate(**tokenizer([["B001", "B002"]]), catalogue=tokenizer.item_codes)


def test_non_finite_weights_are_never_saved(saved, tmp_path):
    trained = load_trained_model(saved)
    with torch.no_grad():
        next(trained.model.parameters())[0] = float("nan")
    with pytest.raises(ValueError, match=r"non-finite \(NaN or infinite\) weights in 1 tensor\(s\)"):
        save_trained_model(tmp_path / "best", trained.model, trained.tokenizer, trained.generation_config, {})
    assert list(tmp_path.iterdir()) == []


def test_evaluate_exits_non_zero_when_lists_are_incomplete(tmp_path):
    # K = the whole catalogue with the history excluded: no user can get K items, so validity < 1.
    arguments = tiny_arguments(tmp_path, max_steps=1)
    _, model, tokenizer, generation_config, _, _ = build_run(*arguments, make_accelerator("no"))
    save_trained_model(tmp_path / "best", model, tokenizer, generation_config, run_record(*arguments))
    metrics = tmp_path / "test.json"
    result = run_script(
        EVALUATE, "--model", str(tmp_path / "best"), "--num_return_items", "60", "--num-beams", "60",
        "--eval_ks", "1", "--exclude_history", "true", "--strategy", "parallel_denoising",
        "--metrics-json", str(metrics), "--show_progress", "false",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "error: MindRec: validity" in result.stderr and "got fewer than K=60 valid items" in result.stderr
    assert json.loads(metrics.read_text())["metrics"]["MindRec"]["validity"] < 1  # still written, for a look
