"""Shared builders for the Hub tests (no tests here): a hand-made 8-item code table, model folders written the
way training writes ``final/`` (``save_trained_model``) for the small and the LLM (LoRA) settings, and
evaluation JSON files in the layout of ``scripts/evaluate.py --metrics-json``. Nothing touches the network.

The code table has the tiny model's layout (2 category levels of 3 and 4 values, 3 SID digits of 8 values),
so ``tiny_model(**tokenizer.model_config_kwargs())`` matches it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tiny import tiny_model
from training_support import make_tiny_llada

from mindrec.io_utils import MANIFEST_FILE
from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer
from mindrec.training.llm_setting import add_item_tokens, build_llm_tokenizer
from mindrec.training.model_io import save_trained_model
from mindrec.training.peft_setup import apply_lora

ITEM_IDS = ["B001", "B002", "B003", "B004", "B005", "B006", "B007", "B008"]
CODE_TABLE = {
    "format_version": 1,
    "num_category_levels": 2,
    "num_sid_digits": 3,
    "code_slot_sizes": [3, 4, 8, 8, 8],
    "item_ids": ITEM_IDS,
    "codes": [
        [0, 0, 0, 0, 0],
        [0, 0, 1, 2, 3],
        [0, 1, 2, 0, 1],
        [1, 0, 3, 3, 3],
        [1, 2, 4, 5, 6],
        [2, 0, 7, 7, 7],
        [2, 3, 1, 1, 1],
        [2, 3, 5, 2, 0],
    ],
    "category_tree": {
        "name": "Beauty",
        "children": [
            {"name": "Skin Care", "children": [{"name": "Face"}, {"name": "Body"}]},
            {"name": "Hair Care", "children": [{"name": "Shampoo"}, {"name": "other"}, {"name": "Styling"}]},
            {"name": "Makeup", "children": [{"name": n} for n in ("Eyes", "Lips", "Face", "Nails")]},
        ],
    },
    "method": {
        "category": {"num_levels": 2, "drop_root": True},
        "embedding": {"name": "tfidf-svd", "dim": 16},
        "quantizer": {"name": "rq-kmeans", "codebook_size": 8},
        "collision": "reassign",
        "seed": 0,
    },
    "stats": {
        "num_items": 8,
        "category_nodes_per_level": [3, 9],
        "collision_rate_before": 0.25,
        "sid_collision_rate_before": 0.5,
        "items_moved": 1,
        "codebook_usage": [0.875, 0.625, 0.75],
        "entropy_bits": [2.75, 2.25, 2.5],
        "distinct_codes": 8,
        "collision_rate": 0.0,
    },
}
GENERATION = {"num_beams": 4, "num_return_items": 3}
# A run record as training writes it to mindrec_run.json (a few options of each group).
RUN_RECORD = {
    "data": {"data": "/data/amazon_beauty_2014", "max_history": 10, "max_users": 5000},
    "codes": {"quantizer": "rq-kmeans", "collision": "reassign"},
    "model": {"model_type": "mindrec", "model_setting": "small", "history_encoding": "tokens"},
    "training": {"learning_rate": 0.001, "num_epochs": 3, "ocn": True},
}
MODEL_METRICS = {"hr@1": 0.125, "hr@10": 0.5, "ndcg@1": 0.125, "ndcg@10": 0.2875, "mrr": 0.21,
                 "validity": 1.0, "users_per_second": 812.25}  # fmt: skip
POPULARITY_METRICS = {"hr@1": 0.0, "hr@10": 0.25, "ndcg@1": 0.0, "ndcg@10": 0.1, "mrr": 0.05,
                      "validity": 1.0, "users_per_second": 90000.0}  # fmt: skip
# Non-code files a saved small model folder shares (the remote-code .py files come on top).
MODEL_DATA_FILES = ["config.json", "generation_config.json", "item_codes.json", "mindrec_run.json",
                    "model.safetensors", "tokenizer_config.json"]  # fmt: skip


def make_tokenizer() -> MindRecTokenizer:
    return MindRecTokenizer.from_code_table(CODE_TABLE)


def save_model_folder(
    path: Path, seed: int = 0, generation: dict | None = None, run: dict | None = RUN_RECORD
) -> Path:
    """A tiny small-setting MindRec model saved as training saves ``final/`` (``run=None``: no run record)."""
    tokenizer = make_tokenizer()
    model = tiny_model(seed=seed, **tokenizer.model_config_kwargs())
    generation_config = RecommendationGenerationConfig(**(GENERATION if generation is None else generation))
    save_trained_model(path, model, tokenizer, generation_config, run or {})
    if run is None:  # a folder without a run record is one mindrec did not save: no manifest either
        (path / "mindrec_run.json").unlink()
        (path / MANIFEST_FILE).unlink()
    return path


def save_adapter_folder(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """``(backbone_dir, adapter_dir)``: a converted tiny LLaDA backbone, and a LoRA run over it saved as
    training saves ``final/`` in the LLM setting (adapter with non-zero weights, tokenizer with its
    ``text_tokenizer/``, generation config, ``mindrec_run.json`` naming the backbone)."""
    backbone_dir, text_dir = make_tiny_llada(folder / "llada")
    backbone = MindRecForRecommendation.from_pretrained(backbone_dir)
    tokenizer = build_llm_tokenizer(CODE_TABLE, backbone.config, str(text_dir), max_history=10)
    add_item_tokens(backbone, tokenizer)
    torch.manual_seed(seed)  # LoRA A is initialised from the global generator
    peft_model = apply_lora(backbone).eval()
    generator = torch.Generator().manual_seed(seed)
    with (
        torch.no_grad()
    ):  # LoRA B starts at zero: give every trainable tensor values so that the adapter matters
        for param in peft_model.parameters():
            if param.requires_grad:
                param.add_(torch.randn(param.shape, generator=generator) * 0.5)
    run = {
        **RUN_RECORD,
        "model": {"model_type": "mindrec", "model_setting": "llm", "backbone_path": str(backbone_dir),
                  "backbone_dtype": "float32", "lora_r": 8},
    }  # fmt: skip
    adapter_dir = folder / "final"
    save_trained_model(adapter_dir, peft_model, tokenizer, RecommendationGenerationConfig(**GENERATION), run)
    return backbone_dir, adapter_dir


def write_eval_json(path: Path, model_metrics: dict | None = None, **replace) -> Path:
    """An evaluation JSON as ``scripts/evaluate.py --metrics-json`` writes it (keys replaced by ``replace``)."""
    report = {
        "split": "test",
        "model": "runs/beauty/final",
        "metrics": {"MindRec": model_metrics or MODEL_METRICS, "popularity": POPULARITY_METRICS},
    }
    report.update(replace)
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def relative_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
