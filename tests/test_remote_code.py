"""A saved model loads with trust_remote_code where mindrec cannot be imported, with identical logits."""

import ast
import json

import torch
from remote_loading import run_without_mindrec
from tiny import random_batch, tiny_model
from transformers import AutoConfig, AutoModel

import mindrec.modeling  # noqa: F401  (registers the Auto classes)

ALLOWED = {"torch", "transformers", "huggingface_hub", "typing", "dataclasses", "collections", "math", "json", "os", "re",
           "logging", "itertools", "functools", "copy", "warnings", "__future__", "html", "random", "hashlib"}


def imported_modules(path):
    """Every module a file imports (relative ones keep their leading dots)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")


def test_auto_classes_resolve_locally(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)).__name__ == "MindRecConfig"
    loaded = AutoModel.from_pretrained(tmp_path)
    assert type(loaded).__name__ == "MindRecForRecommendation"


def test_saved_folder_is_self_contained_and_pickle_free(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "model.safetensors", "configuration_mindrec.py", "modeling_mindrec.py"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pkl", ".pth"))]
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map == {
        "AutoConfig": "configuration_mindrec.MindRecConfig",
        "AutoModel": "modeling_mindrec.MindRecForRecommendation",
    }
    for path in tmp_path.glob("*.py"):
        for module in imported_modules(path):
            assert module.startswith(".") and not module.startswith("..") or module.split(".")[0] in ALLOWED, (
                f"{path.name} imports {module}"
            )


def test_remote_code_load_without_mindrec_gives_identical_logits(tmp_path):
    model = tiny_model(seed=3)
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    batch = random_batch(model.config)
    torch.save(batch, tmp_path / "batch.pt")
    with torch.no_grad():
        expected = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    run_without_mindrec(
        f"""
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(folder)!r}, trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        batch = torch.load({str(tmp_path / 'batch.pt')!r})
        with torch.no_grad():
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        torch.save(logits, {str(tmp_path / 'logits.pt')!r})
        """,
        tmp_path,
    )
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), expected, atol=0, rtol=0)
