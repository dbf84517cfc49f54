"""save_pretrained / from_pretrained round trips, and loading as remote code where mindrec is absent."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig

import pytest
import torch
from tokenizer_support import THREE_ITEM_TABLE, make_table, make_text_tokenizer

from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

HISTORIES, TARGETS = [[0, 1, 2, 1], ["cherry"], []], [2, "apple", 1]


def assert_same_tokenizer(loaded: MindRecTokenizer, original: MindRecTokenizer) -> None:
    for template in range(original.num_templates):
        new = loaded(HISTORIES, targets=TARGETS, template_index=template)
        old = original(HISTORIES, targets=TARGETS, template_index=template)
        assert new.keys() == old.keys()
        for key in old:
            assert torch.equal(new[key], old[key]), (key, template)
    assert torch.equal(loaded.item_codes, original.item_codes)
    assert loaded.code_table == original.code_table
    assert loaded.model_config_kwargs() == original.model_config_kwargs()
    assert loaded.get_vocab() == original.get_vocab()
    assert loaded.max_history == original.max_history
    assert loaded.padding_side == "left"


@pytest.mark.parametrize("history_encoding", ["tokens", "pooled"])
def test_item_only_round_trip(tmp_path, history_encoding):
    original = MindRecTokenizer.from_code_table(
        make_table(), history_encoding=history_encoding, max_history=3
    )
    original.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "item_codes.json", "tokenization_mindrec.py", "tokenizer_config.json",
    ]  # fmt: skip
    assert json.loads((tmp_path / "item_codes.json").read_text(encoding="utf-8")) == THREE_ITEM_TABLE
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["auto_map"] == {"AutoTokenizer": ["tokenization_mindrec.MindRecTokenizer", None]}
    assert (config["history_encoding"], config["max_history"], config["code_token_offset"]) == (
        history_encoding, 3, 7,
    )  # fmt: skip
    loaded = MindRecTokenizer.from_pretrained(tmp_path)
    assert_same_tokenizer(loaded, original)
    assert loaded.item_token_id == 5
    # Saving again over the same folder, and overriding an option on load, both work; where the files were
    # loaded from is not written back as configuration.
    loaded.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert not {"is_local", "local_files_only", "name_or_path", "code_table_file"} & config.keys()
    assert MindRecTokenizer.from_pretrained(tmp_path, max_history=1).max_history == 1


def test_loading_validates_the_saved_code_table(tmp_path):
    MindRecTokenizer.from_code_table(make_table()).save_pretrained(tmp_path)
    table = json.loads((tmp_path / "item_codes.json").read_text(encoding="utf-8"))
    table["codes"][2] = table["codes"][0]
    (tmp_path / "item_codes.json").write_text(json.dumps(table), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"item_codes.json: items 'apple' \(row 0\) and 'cherry' \(row 2\) share"
    ):
        MindRecTokenizer.from_pretrained(tmp_path)


def test_llm_round_trip_with_text_tokenizer_subfolder(tmp_path):
    text = make_text_tokenizer()
    original = MindRecTokenizer.from_code_table(
        make_table(), text_tokenizer=text, mask_token_id=2, code_token_offset=310
    )
    original.save_pretrained(tmp_path)
    assert (tmp_path / "text_tokenizer" / "tokenizer.json").is_file()
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["text_tokenizer_subfolder"] == "text_tokenizer"
    assert (config["mask_token"], config["pad_token"], config["code_token_offset"]) == (
        "<|mdm_mask|>",
        "<|eot|>",
        310,
    )
    loaded = MindRecTokenizer.from_pretrained(tmp_path)
    assert loaded.text_tokenizer.chat_template == text.chat_template
    assert loaded.text_tokenizer.get_vocab() == text.get_vocab()
    assert_same_tokenizer(loaded, original)


REMOTE_LOAD_SCRIPT = r"""
import importlib.util, json, sys
sys.path.extend(json.loads(sys.argv[1]))
assert importlib.util.find_spec("mindrec") is None, "mindrec is importable in the clean interpreter"
from transformers import AutoTokenizer
out = {}
for folder in json.loads(sys.argv[2]):
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    templates = [0, 1, 2] if tok.num_templates > 1 else 0
    enc = tok([[0, 1, 2, 1], ["cherry"], []], targets=[2, "apple", 1], template_index=templates)
    out[folder] = {"module": type(tok).__module__, "input_ids": enc["input_ids"].tolist(),
                   "labels": enc["labels"].tolist(), "item_codes": tok.item_codes.tolist()}
out["mindrec_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "mindrec")
print(json.dumps(out))
"""


@pytest.mark.slow
def test_remote_code_loads_where_mindrec_is_not_installed(tmp_path):
    folders = {"item_only": tmp_path / "item_only", "llm": tmp_path / "llm"}
    tokenizers = {
        "item_only": MindRecTokenizer.from_code_table(make_table(), history_encoding="pooled"),
        "llm": MindRecTokenizer.from_code_table(
            make_table(), text_tokenizer=make_text_tokenizer(), mask_token_id=2
        ),
    }
    for name, tok in tokenizers.items():
        tok.save_pretrained(folders[name])
    (tmp_path / "cwd").mkdir()
    # -I -S: no PYTHONPATH, no user site and no .pth files, so the editable mindrec install is invisible;
    # the script puts only the plain site-packages folders back on sys.path.
    site = json.dumps(sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}))
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            REMOTE_LOAD_SCRIPT,
            site,
            json.dumps([str(f) for f in folders.values()]),
        ],
        cwd=tmp_path / "cwd",
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_OFFLINE": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["mindrec_modules"] == []
    for name, tok in tokenizers.items():
        remote = out[str(folders[name])]
        templates = [0, 1, 2] if tok.num_templates > 1 else 0
        expected = tok([[0, 1, 2, 1], ["cherry"], []], targets=[2, "apple", 1], template_index=templates)
        assert remote["module"].startswith("transformers_modules.") and remote["module"].endswith(
            ".tokenization_mindrec"
        )
        assert remote["input_ids"] == expected["input_ids"].tolist()
        assert remote["labels"] == expected["labels"].tolist()
        assert remote["item_codes"] == THREE_ITEM_TABLE["codes"]
