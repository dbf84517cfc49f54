"""The usage snippets of generated cards really work: each is cut from the rendered README.md, its repo ids
replaced by the dry-run folders, and run where mindrec cannot be imported; the recommendations equal the
parent process's."""

from __future__ import annotations

import json
import re

import torch
from hub_support import save_adapter_folder, save_model_folder
from peft import PeftModel
from remote_loading import run_without_mindrec
from transformers import AutoModel

from mindrec.hub import push_to_hub
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer
from mindrec.training.llm_setting import add_item_tokens


def card_snippet(folder, replacements):
    """The ``python`` block of the card's "How to use" section, with repo ids replaced by local paths."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## How to use\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)
    for repo_id, path in replacements.items():
        quoted = json.dumps(repo_id)
        assert quoted in code, (repo_id, code)
        code = code.replace(quoted, repr(str(path)))
    return code


def test_card_snippets_run_without_mindrec_and_match_the_parent(tmp_path):
    model_dir = save_model_folder(tmp_path / "final", seed=5)
    backbone_dir, adapter_dir = save_adapter_folder(tmp_path / "lora", seed=7)
    full = push_to_hub(model_dir, "me/mindrec-toy", dry_run_dir=tmp_path / "up_full")
    adapter = push_to_hub(
        adapter_dir, "me/mindrec-lora", base_model="me/base", dry_run_dir=tmp_path / "up_lora"
    )
    merged = push_to_hub(
        adapter_dir, "me/mindrec-merged", merge_adapter=True, dry_run_dir=tmp_path / "up_merged"
    )
    snippets = {
        "full": card_snippet(full, {"me/mindrec-toy": full}),
        "adapter": card_snippet(adapter, {"me/mindrec-lora": adapter, "me/base": backbone_dir}),
        "merged": card_snippet(merged, {"me/mindrec-merged": merged}),
    }
    (tmp_path / "snippets.json").write_text(json.dumps(snippets), encoding="utf-8")

    run_without_mindrec(
        f"""
        import json, torch
        snippets = json.load(open({str(tmp_path / "snippets.json")!r}))
        results = {{}}
        for name, code in snippets.items():
            scope = {{}}
            exec(code, scope)
            assert type(scope["model"]).__module__.split(".")[0] in ("transformers_modules", "peft"), name
            assert type(scope["tokenizer"]).__module__.startswith("transformers_modules"), name
            output = scope["output"]
            results[name] = {{"items": output.item_indices, "scores": output.scores, "ids": scope["recommended"]}}
        torch.save(results, {str(tmp_path / "child.pt")!r})
        """,
        tmp_path,
    )
    child = torch.load(tmp_path / "child.pt")

    # The parent computes the same recommendations with mindrec's own classes.
    history = ["B001", "B002"]  # the snippets' example history
    for name, folder in {"full": full, "adapter": adapter, "merged": merged}.items():
        tokenizer = MindRecTokenizer.from_pretrained(folder)
        if name == "adapter":
            base = add_item_tokens(AutoModel.from_pretrained(backbone_dir), tokenizer)
            model = PeftModel.from_pretrained(base, folder).eval()
        else:
            model = AutoModel.from_pretrained(folder).eval()
        expected = model.generate(
            **tokenizer([history]), catalogue=tokenizer.item_codes, num_beams=4, num_return_items=3
        )
        assert child[name]["items"].shape == (1, 3), name
        assert torch.equal(child[name]["items"], expected.item_indices), name
        torch.testing.assert_close(child[name]["scores"], expected.scores, atol=0, rtol=0)
        assert child[name]["ids"] == [
            tokenizer.item_id_of(i) for i in expected.item_indices[0].tolist() if i >= 0
        ]
