"""push_to_hub with HfApi intercepted (no network): exact options and file list, dry runs, LoRA adapters
(alone or merged) and bad input refused before anything is written or uploaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from hub_support import (
    MODEL_DATA_FILES,
    relative_files,
    save_adapter_folder,
    save_model_folder,
    write_eval_json,
)
from huggingface_hub import CommitInfo, HfApi
from peft import PeftModel
from script_support import load_script
from transformers import AutoModel

from mindrec.hub import push_to_hub
from mindrec.hub.model_folder import find_pickle_files
from mindrec.io_utils import MANIFEST_FILE
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer
from mindrec.training.llm_setting import add_item_tokens

push_script = load_script("push_to_hub")


class RecordingApi:
    """Replaces the HfApi methods push_to_hub calls; records them and what the folder held at upload time."""

    def __init__(self, monkeypatch):
        self.calls = []
        self.uploaded_files = None
        monkeypatch.setattr(HfApi, "create_repo", self.create_repo)
        monkeypatch.setattr(HfApi, "create_branch", self.create_branch)
        monkeypatch.setattr(HfApi, "upload_folder", self.upload_folder)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(
            ("upload_folder", kwargs["repo_id"], {k: v for k, v in kwargs.items() if k != "repo_id"})
        )
        self.uploaded_files = relative_files(Path(kwargs["folder_path"]))
        self.card = (Path(kwargs["folder_path"]) / "README.md").read_text(encoding="utf-8")
        return CommitInfo(
            commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/abc",
            commit_message=kwargs["commit_message"],
            commit_description="",
            oid="abc",
        )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = save_model_folder(tmp_path_factory.mktemp("hub_push") / "final")
    # Files a training run leaves around that are not part of a model folder: never uploaded.
    (folder / "trainer_state.json").write_text("{}", encoding="utf-8")
    (folder / "runs").mkdir()
    (folder / "runs" / "events.txt").write_text("log", encoding="utf-8")
    return folder


def expected_model_upload(model_dir):
    code = sorted(p.name for p in model_dir.glob("*.py"))
    assert "modeling_mindrec.py" in code and "tokenization_mindrec.py" in code
    return sorted([*MODEL_DATA_FILES, "README.md", MANIFEST_FILE, *code])


def test_upload_passes_repo_options_and_the_exact_file_list(model_dir, tmp_path, monkeypatch):
    api = RecordingApi(monkeypatch)
    eval_json = write_eval_json(tmp_path / "metrics.json")
    commit = push_to_hub(
        model_dir,
        "me/mindrec-toy",
        private=True,
        revision="v1",
        create_pr=True,
        eval_json=eval_json,
        token="hf_x",
    )
    assert commit.commit_url == "https://huggingface.co/me/mindrec-toy/commit/abc"
    names = [name for name, _, _ in api.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    assert api.calls[0][1:] == ("me/mindrec-toy", {"private": True, "exist_ok": True})
    assert api.calls[1][1:] == ("me/mindrec-toy", {"branch": "v1", "exist_ok": True})
    upload = api.calls[2][2]
    assert api.calls[2][1] == "me/mindrec-toy"
    assert (upload["revision"], upload["create_pr"]) == ("v1", True)
    assert upload["commit_message"] == "Upload mindrec-toy (MindRec model)"
    assert api.uploaded_files == expected_model_upload(model_dir)
    assert 'repo_id = "me/mindrec-toy"' in api.card
    assert not Path(upload["folder_path"]).exists()  # the staging folder is removed


def test_upload_defaults_commit_to_the_main_branch(model_dir, monkeypatch):
    api = RecordingApi(monkeypatch)
    push_to_hub(model_dir, "me/mindrec-toy", commit_message="first")
    assert [(name, options) for name, _, options in api.calls][0] == (
        "create_repo", {"private": False, "exist_ok": True},
    )  # fmt: skip
    assert [name for name, _, _ in api.calls] == ["create_repo", "upload_folder"]
    upload = api.calls[1][2]
    assert (upload["revision"], upload["create_pr"], upload["commit_message"]) == (None, False, "first")


def test_dry_run_writes_exactly_the_upload_and_uploads_nothing(model_dir, tmp_path, monkeypatch):
    api = RecordingApi(monkeypatch)
    push_to_hub(model_dir, "me/mindrec-toy", revision="v1", create_pr=True)
    uploaded = api.uploaded_files
    api.calls.clear()
    out = push_to_hub(model_dir, "me/mindrec-toy", dry_run_dir=tmp_path / "dry")
    assert api.calls == []
    assert relative_files(out) == uploaded == expected_model_upload(model_dir)
    assert find_pickle_files(out) == []
    for name in ("model.safetensors", "item_codes.json", "tokenizer_config.json", "generation_config.json"):
        assert (out / name).read_bytes() == (model_dir / name).read_bytes()
    # A second dry run replaces the previous upload folder as a whole, but never a file mindrec did not write.
    (out / "stale.txt").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"holds files mindrec did not write there: \['stale.txt'\]"):
        push_to_hub(model_dir, "me/mindrec-toy", dry_run_dir=out)
    assert (out / "stale.txt").read_text(encoding="utf-8") == "x"
    (out / "stale.txt").unlink()
    (out / "README.md").write_text("edited", encoding="utf-8")  # a previous output's own file may change
    push_to_hub(model_dir, "me/mindrec-toy", dry_run_dir=out)
    assert relative_files(out) == uploaded
    assert [p.name for p in tmp_path.iterdir()] == ["dry"]  # no temporary folders left behind


LLM_TOKENIZER_FILES = ["item_codes.json", "text_tokenizer/chat_template.jinja", "text_tokenizer/tokenizer.json",
                       "text_tokenizer/tokenizer_config.json", "tokenization_mindrec.py", "tokenizer_config.json"]  # fmt: skip


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    """``(backbone_dir, adapter_dir)`` of a tiny LLM-setting LoRA run."""
    return save_adapter_folder(tmp_path_factory.mktemp("hub_lora"))


def test_adapter_alone_points_at_its_hub_base(lora_run, tmp_path, monkeypatch):
    api = RecordingApi(monkeypatch)
    backbone_dir, adapter_dir = lora_run
    original = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert original["base_model_name_or_path"] == str(backbone_dir)
    with pytest.raises(ValueError, match=r"base_model_name_or_path is the local folder .*pass base_model="):
        push_to_hub(adapter_dir, "me/lora")
    assert api.calls == []
    push_to_hub(adapter_dir, "me/lora", base_model="me/llada-mindrec-base")
    assert api.uploaded_files == sorted(
        ["README.md", "adapter_config.json", "adapter_model.safetensors", "generation_config.json",
         MANIFEST_FILE, "mindrec_run.json", *LLM_TOKENIZER_FILES]
    )  # fmt: skip
    assert "base_model: me/llada-mindrec-base" in api.card  # ours, not the card peft wrote into the folder
    out = push_to_hub(
        adapter_dir, "me/lora", base_model="me/llada-mindrec-base", dry_run_dir=tmp_path / "dry"
    )
    assert json.loads((out / "adapter_config.json").read_text()) == {
        **original,
        "base_model_name_or_path": "me/llada-mindrec-base",
    }
    # The source folder is untouched.
    assert json.loads((adapter_dir / "adapter_config.json").read_text()) == original


def test_merged_adapter_is_a_plain_model_with_the_adapters_outputs(lora_run, tmp_path):
    backbone_dir, adapter_dir = lora_run
    out = push_to_hub(adapter_dir, "me/merged", merge_adapter=True, dry_run_dir=tmp_path / "dry")
    code = sorted(p.name for p in out.glob("*.py"))
    assert "modeling_mindrec.py" in code and "tokenization_mindrec.py" in code
    assert relative_files(out) == sorted(
        ["README.md", "config.json", "generation_config.json", MANIFEST_FILE, "mindrec_run.json",
         "model.safetensors", *LLM_TOKENIZER_FILES, *{*code} - {"tokenization_mindrec.py"}]
    )  # fmt: skip
    assert find_pickle_files(out) == []

    tokenizer = MindRecTokenizer.from_pretrained(adapter_dir)
    inputs = tokenizer([["B001", "B002"], ["B007"]])
    base = add_item_tokens(AutoModel.from_pretrained(backbone_dir), tokenizer)
    with torch.no_grad():
        base_logits = base.eval()(**inputs).logits
    peft_model = PeftModel.from_pretrained(base, adapter_dir).eval()
    merged = AutoModel.from_pretrained(out).eval()
    expected = peft_model.generate(**inputs, catalogue=tokenizer.item_codes, num_beams=4, num_return_items=3)
    got = merged.generate(**inputs, catalogue=tokenizer.item_codes)  # the run's generation_config.json
    assert got.item_indices.shape == (2, 3)
    assert torch.equal(got.item_indices, expected.item_indices)
    torch.testing.assert_close(got.scores, expected.scores, atol=1e-5, rtol=0)
    with torch.no_grad():
        assert not torch.allclose(merged(**inputs).logits, base_logits, atol=1e-3)  # the adapter was merged


def test_merge_needs_the_recorded_backbone(lora_run, tmp_path):
    _, adapter_dir = lora_run
    folder = tmp_path / "final"
    shutil.copytree(adapter_dir, folder)
    (folder / MANIFEST_FILE).unlink()  # the run record is edited by hand below
    run = json.loads((folder / "mindrec_run.json").read_text())
    run["model"]["backbone_path"] = str(tmp_path / "gone")
    (folder / "mindrec_run.json").write_text(json.dumps(run))
    with pytest.raises(
        FileNotFoundError, match=r"cannot load the backbone .*gone.* to merge the adapter into"
    ):
        push_to_hub(folder, "me/x", merge_adapter=True, dry_run_dir=tmp_path / "dry")
    (folder / "mindrec_run.json").unlink()
    with pytest.raises(ValueError, match=r"has no mindrec_run\.json naming model\.backbone_path"):
        push_to_hub(folder, "me/x", merge_adapter=True, dry_run_dir=tmp_path / "dry")
    assert not (tmp_path / "dry").exists()


def test_merge_adapter_needs_an_adapter(model_dir, tmp_path):
    with pytest.raises(ValueError, match=r"merge_adapter=True needs a PEFT adapter folder"):
        push_to_hub(model_dir, "me/x", merge_adapter=True, dry_run_dir=tmp_path / "dry")


def tamper_weights(folder):
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-8:] = b"\xff" * 8  # the header is intact: only the manifest notices
    (folder / "model.safetensors").write_bytes(bytes(data))


def break_code_table(folder):
    (folder / "item_codes.json").unlink()


def add_pickle(folder):
    torch.save({"lr": 1e-3}, folder / "training_args.bin")


def break_eval_json(folder):
    (folder / "metrics.json").write_text('{"metrics": {"hr@10": 0.5', encoding="utf-8")


def break_config(folder):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "code_slot_sizes": [3, 4, 8, 8, 9]}))


def drop_remote_code(folder):
    (folder / "modeling_mindrec.py").unlink()


def drop_auto_map(folder):
    config = json.loads((folder / "tokenizer_config.json").read_text())
    del config["auto_map"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        (tamper_weights, ValueError, r"final: \['model\.safetensors'\] differ\(s\) from the content saved"),
        (break_code_table, FileNotFoundError, r"final has no item_codes\.json: the code table"),
        (add_pickle, ValueError, r"final holds pickle files \['training_args\.bin'\]: only safetensors"),
        (
            break_eval_json,
            ValueError,
            r"evaluation JSON .*metrics\.json is not valid JSON \(line 1, column 26\)",
        ),
        (
            break_config,
            ValueError,
            r"config\.json has code_slot_sizes=\[3, 4, 8, 8, 9\] but item_codes\.json has",
        ),
        (drop_remote_code, FileNotFoundError, r"auto_map\['AutoModel'\] = .* needs modeling_mindrec\.py"),
        (drop_auto_map, ValueError, r"tokenizer_config\.json has no auto_map entry for AutoTokenizer"),
    ],
)
def test_bad_input_is_refused_before_any_write_or_upload(
    model_dir, tmp_path, monkeypatch, damage, error, message
):
    folder = tmp_path / "final"
    shutil.copytree(model_dir, folder)
    write_eval_json(folder / "metrics.json")
    if damage is not tamper_weights:  # the other checks are those of a folder saved without a manifest
        (folder / MANIFEST_FILE).unlink()
    damage(folder)
    api = RecordingApi(monkeypatch)
    with pytest.raises(error, match=message):
        push_to_hub(folder, "me/x", eval_json=folder / "metrics.json")
    with pytest.raises(error, match=message):
        push_to_hub(folder, "me/x", eval_json=folder / "metrics.json", dry_run_dir=tmp_path / "dry")
    assert api.calls == []
    assert not (tmp_path / "dry").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]


def test_invalid_repo_id_and_overlapping_folders_are_refused(model_dir, tmp_path, monkeypatch):
    api = RecordingApi(monkeypatch)
    with pytest.raises(ValueError, match=r"Repo id must"):
        push_to_hub(model_dir, "me/bad name")
    with pytest.raises(ValueError, match=r"must lie outside the input"):
        push_to_hub(model_dir, "me/x", dry_run_dir=model_dir / "upload")
    with pytest.raises(ValueError, match=r"must lie outside the input"):
        push_to_hub(model_dir, "me/x", dry_run_dir=model_dir)
    with pytest.raises(FileNotFoundError, match=r"model folder .*missing does not exist"):
        push_to_hub(tmp_path / "missing", "me/x")
    assert api.calls == [] and (model_dir / "model.safetensors").is_file()


def test_cli_dry_run_and_upload_flags(model_dir, tmp_path, monkeypatch):
    api = RecordingApi(monkeypatch)
    eval_json = write_eval_json(tmp_path / "metrics.json")
    out = push_script.main(
        ["--model-dir", str(model_dir), "--repo-id", "me/cli", "--eval-json", str(eval_json),
         "--dataset", "beauty", "--dry-run", str(tmp_path / "dry")]
    )  # fmt: skip
    assert api.calls == [] and relative_files(out) == expected_model_upload(model_dir)
    assert "datasets:\n- beauty\n" in (out / "README.md").read_text(encoding="utf-8")
    push_script.main(
        [
            "--model-dir",
            str(model_dir),
            "--repo-id",
            "me/cli",
            "--private",
            "--revision",
            "dev",
            "--create-pr",
        ]
    )
    assert api.calls[0] == ("create_repo", "me/cli", {"private": True, "exist_ok": True})
    upload = api.calls[-1][2]
    assert (upload["revision"], upload["create_pr"]) == ("dev", True)
