"""Model cards: metadata round trip (model-index = the evaluation JSON's model row), sections read from the
folder's files, and clear errors for malformed evaluation JSON files."""

from __future__ import annotations

import json

import pytest
from hub_support import MODEL_METRICS, save_adapter_folder, save_model_folder, write_eval_json
from huggingface_hub import ModelCard
from safetensors.torch import load_file

from mindrec.hub import (
    CARD_TAGS,
    inspect_model_folder,
    prepare_upload_folder,
    read_eval_json,
    render_model_card,
)
from mindrec.hub.model_card import count_parameters, human_count, usage_snippet

INDEX_METRICS = {name: MODEL_METRICS[name] for name in ("hr@1", "hr@10", "ndcg@1", "ndcg@10", "mrr")}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_model_folder(tmp_path_factory.mktemp("hub_card") / "final")


def test_card_metadata_parses_back_with_the_eval_results(model_dir, tmp_path):
    eval_json = write_eval_json(tmp_path / "test.json")
    folder = prepare_upload_folder(
        model_dir, tmp_path / "upload", repo_id="me/mindrec-toy", eval_json=eval_json, datasets=["me/beauty"]
    )
    data = ModelCard.load(folder / "README.md").data
    assert data.library_name == "transformers"
    assert data.tags == list(CARD_TAGS)
    assert data.datasets == ["me/beauty"]
    assert data.metrics == list(INDEX_METRICS)  # quality metrics only: not validity nor users/s
    assert data.base_model is None  # small setting, none given
    assert data.model_name == "mindrec-toy"
    assert [(r.metric_type, r.metric_value) for r in data.eval_results] == list(INDEX_METRICS.items())
    assert {(r.task_type, r.dataset_name, r.dataset_type, r.dataset_split) for r in data.eval_results} == {
        ("recommendation", "me/beauty", "me/beauty", "test")
    }
    assert [r.metric_name for r in data.eval_results] == ["HR@1", "HR@10", "NDCG@1", "NDCG@10", "MRR"]


def test_card_sections_come_from_the_folder_files(model_dir, tmp_path):
    report = read_eval_json(write_eval_json(tmp_path / "test.json"))
    card = render_model_card(
        inspect_model_folder(model_dir),
        repo_id="me/mindrec-toy",
        eval_report=report,
        base_model="GSAI-ML/LLaDA-8B-Instruct",
        license="apache-2.0",
    )
    text = card.text
    assert card.data.base_model == "GSAI-ML/LLaDA-8B-Instruct" and card.data.license == "apache-2.0"
    assert card.data.datasets is None  # no Hub dataset id given: the model-index names the run's data folder
    assert {r.dataset_name for r in card.data.eval_results} == {"amazon_beauty_2014"}
    for heading in ("Intended use and limits", "How items are coded", "Decoding defaults", "How to use",
                    "Training", "Results", "Citation"):  # fmt: skip
        assert f"\n## {heading}\n" in text
    # Coding: slots, method, collision handling, codebook statistics (item_codes.json "method" / "stats").
    assert "| 1 | category level 2 | 4 |" in text and "| 4 | semantic-ID digit 3 | 8 |" in text
    assert "* **Category tree depth:** 2 (nodes per level: [3, 9])" in text
    assert "* **Semantic-ID method:** rq-kmeans" in text and "* **Item text embedding:** tfidf-svd" in text
    assert "* **Collision handling:** reassign" in text
    assert "* **Collision rate before resolution (full code):** 0.25" in text
    assert "| 1 | 8 | 0.875 | 2.75 |\n| 2 | 8 | 0.625 | 2.25 |\n| 3 | 8 | 0.75 | 2.5 |" in text
    # Decoding defaults (generation_config.json), the run record flattened (mindrec_run.json), results.
    assert "| `num_beams` | `4` |" in text and "| `num_return_items` | `3` |" in text
    assert "| `training.learning_rate` | `0.001` |" in text and "| `data.max_users` | `5000` |" in text
    assert (
        "Evaluated on the test split of amazon_beauty_2014 (first 5000 users, histories of at most 10 items): "
        "leave-one-out, ranking over the full catalogue, exact-item hits; popularity on the same split for "
        "comparison (from `test.json`)."
    ) in text
    assert "| metric | MindRec | popularity |\n|---|---|---|\n| HR@1 | 0.1250 | 0.0000 |" in text
    assert "| NDCG@10 | 0.2875 | 0.1000 |\n| MRR | 0.2100 | 0.0500 |" in text
    assert "| validity | 1.0000 | 1.0000 |\n| users/s | 812.2 | 90000.0 |" in text
    assert "arXiv:2511.12597" in text and "arXiv:2510.21805" in text and "arXiv:2504.12007" in text
    assert (
        "* **Catalogue:** 8 items, each written as a code of 5 slots (2 category levels + 3 semantic-ID"
        in text
    )
    count = sum(tensor.numel() for tensor in load_file(model_dir / "model.safetensors").values())
    assert count_parameters(inspect_model_folder(model_dir)) == count
    assert f"{human_count(count)} parameters" in text


def test_card_without_results_or_run_record(tmp_path):
    model_dir = save_model_folder(tmp_path / "final", run=None)
    card = render_model_card(inspect_model_folder(model_dir), repo_id="me/x")
    assert card.data.eval_results is None and card.data.metrics is None and card.data.datasets is None
    assert "No evaluation results were provided with this upload." in card.text
    assert "No training configuration was saved with this model." in card.text
    assert "model-index" not in str(card)


def test_usage_snippet_passes_history_exclusions_when_the_checkpoint_excludes_history(tmp_path):
    generation = {"num_beams": 4, "num_return_items": 3, "exclude_history": True}
    snippet = usage_snippet(
        inspect_model_folder(save_model_folder(tmp_path / "final", generation=generation)), "me/x"
    )
    assert 'history = ["B001", "B002"]' in snippet
    assert (
        "output = model.generate(\n    **inputs,\n    catalogue=tokenizer.item_codes,\n"
        "    excluded_items=[[tokenizer.index_of(item) for item in history]],\n)"
    ) in snippet


def test_adapter_card_is_a_peft_card_over_its_base(tmp_path):
    _, adapter_dir = save_adapter_folder(tmp_path)
    folder = prepare_upload_folder(adapter_dir, tmp_path / "upload", repo_id="me/lora", base_model="me/base")
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "peft" and card.data.base_model == "me/base"
    assert card.data.tags == [*CARD_TAGS, "lora", "peft"]
    assert "pretrained language model (`me/base`) with item-code tokens added" in card.text
    assert 'base = AutoModel.from_pretrained("me/base", trust_remote_code=True)' in card.text
    assert "model = PeftModel.from_pretrained(base, repo_id).eval()" in card.text
    # The base model does not read this repository's generation_config.json: its options are passed.
    assert (
        "output = model.generate(\n    **inputs,\n    catalogue=tokenizer.item_codes,\n"
        "    decoding_strategy='diffusion_beam_search',\n    num_beams=4,\n    num_return_items=3,\n"
        "    temperature=1.0,\n    exclude_history=False,\n    history_cache='exact',\n    retrieval_weight=0.0,\n"
        "    popularity_adjustment=0.0,\n"
        "    recency_adjustment=0.0,\n    transition_adjustment=0.0,\n    transition_decay=0.0,\n    transition_conditioning=0.0,\n"
        "    transition_gap_decay=0.0,\n    rare_item_generative_weight=0.0,\n)"
    ) in card.text
    assert "LoRA adapter (r=8, alpha=32, targets: down_proj, gate_proj, k_proj, o_proj, q_proj" in card.text


def test_causal_control_model_is_not_tagged_as_diffusion(tmp_path):
    model_dir = save_model_folder(tmp_path / "final", run=None)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, "is_causal": True}), encoding="utf-8")
    card = render_model_card(inspect_model_folder(model_dir), repo_id="me/tiger")
    assert card.data.tags == [
        "recommendation", "generative-recommendation", "semantic-ids", "custom_code", "autoregressive",
    ]  # fmt: skip
    assert "A TIGER-style autoregressive control model" in card.text
    assert "LLaMA-shaped causal transformer (autoregressive control)" in card.text


def test_eval_results_need_a_dataset_name(tmp_path):
    model_dir = save_model_folder(tmp_path / "final", run=None)
    eval_json = write_eval_json(tmp_path / "test.json")
    with pytest.raises(ValueError, match=r"results of .*test\.json need a dataset name .*pass datasets="):
        prepare_upload_folder(model_dir, tmp_path / "upload", repo_id="me/x", eval_json=eval_json)
    assert not (tmp_path / "upload").exists()
    # A training run's metrics.json carries the run record, which names the data.
    metrics_json = tmp_path / "metrics.json"
    metrics_json.write_text(json.dumps({"test": {"MindRec": MODEL_METRICS}, "run": {"data": {"data": None}}}))
    folder = prepare_upload_folder(model_dir, tmp_path / "upload", repo_id="me/x", eval_json=metrics_json)
    results = ModelCard.load(folder / "README.md").data.eval_results
    assert {(r.dataset_name, r.dataset_split) for r in results} == {("synthetic", "test")}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"split": "test", "metrics": {', r"bad\.json is not valid JSON \(line 1, column 31\)"),
        ("[1, 2]", r"bad\.json must hold a JSON object, got list"),
        ('{"split": "test"}', r"bad\.json: expected a 'metrics' object .* or a 'test' object"),
        ('{"metrics": {"MindRec": {"hr@1": 0.1}}}', r"bad\.json: 'split' must name the evaluated split, got None"),
        ('{"split": "test", "metrics": {}}', r"bad\.json: needs a non-empty object of rows"),
        ('{"split": "test", "metrics": {"MindRec": 0.5}}', r"bad\.json: row 'MindRec' must be a non-empty object"),
        ('{"split": "test", "metrics": {"MindRec": {"hr@10": "0.5"}}}',
         r"bad\.json: row 'MindRec' metric 'hr@10' must be a number, got '0\.5'"),
        ('{"split": "test", "metrics": {"MindRec": {"ndcg@10": NaN}}}',
         r"bad\.json: row 'MindRec' metric 'ndcg@10' is nan, not a finite number"),
        ('{"split": "test", "metrics": {"MindRec": {"hr@10": true}}}',
         r"bad\.json: row 'MindRec' metric 'hr@10' must be a number, got True"),
        ('{"split": "test", "metrics": {"MindRec": {"hr@10": 1.5}}}',
         r"bad\.json: row 'MindRec' metric 'hr@10' = 1\.5 is outside \[0, 1\]"),
        ('{"split": "test", "metrics": {"A": {"mrr": 0.1}, "B": {"mrr": 0.2}}}',
         r"bad\.json: expected exactly one model row next to the baselines \['popularity'\], found rows \['A', 'B'\]"),
        ('{"split": "test", "metrics": {"MindRec": {"validity": 1.0}}}',
         r"bad\.json: row 'MindRec' has no hr@K, ndcg@K, recall@K or mrr metric"),
    ],
)  # fmt: skip
def test_malformed_eval_json_names_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_eval_json(path)


def test_eval_json_rows_are_kept_exactly(tmp_path):
    report = read_eval_json(write_eval_json(tmp_path / "test.json", split="validation"))
    assert (report.model_label, report.split) == ("MindRec", "validation")
    assert report.metrics == MODEL_METRICS and list(report.metrics) == list(MODEL_METRICS)
    assert report.index_metrics == INDEX_METRICS
    assert list(report.baselines) == ["popularity"] and report.baselines["popularity"]["hr@10"] == 0.25
    with pytest.raises(FileNotFoundError, match=r"evaluation JSON .*missing\.json does not exist"):
        read_eval_json(tmp_path / "missing.json")
