"""Save a trained model folder (``best/``, ``final/``) and load it back for evaluation.

A folder holds what is needed to recommend without the training run:

* small MindRec: ``save_pretrained`` of the model (config, weights, remote code), the tokenizer (with
  ``item_codes.json``, the code table), ``generation_config.json`` and ``mindrec_run.json``;
* LLM setting: the LoRA adapter (``adapter_config.json``, ``adapter_model.safetensors``, holding the
  trained item-token rows too), the tokenizer (with ``text_tokenizer/``), ``generation_config.json`` and
  ``mindrec_run.json``, whose ``backbone_path`` names the converted backbone the adapter goes on;
* DeftRec: ``save_pretrained`` of the model and ``mindrec_run.json``.

``mindrec_run.json`` records the run's data/model/code arguments, so that ``scripts/evaluate.py --model
DIR`` re-creates the same splits without repeating them. Folders are written atomically, with a manifest of
the SHA-256 of every file (``mindrec_manifest.json``) that :func:`load_trained_model` verifies; a small
model's ``config.json`` also records ``catalogue_sha256``, the digest of its code table, which ``generate``
checks even where the folder is loaded with ``AutoModel`` (remote code, no mindrec).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from mindrec.io_utils import MANIFEST_FILE, atomic_directory, read_manifest, verify_manifest

logger = logging.getLogger(__name__)

RUN_FILE = "mindrec_run.json"
ADAPTER_CONFIG = "adapter_config.json"
MODEL_KIND = "model"  # the kind recorded in a saved model folder's manifest
# transformers >= 5.25 swaps layers for Hub kernels on load whenever the `kernels` package is installed (and
# fails offline on a GPU). A trained recommender is loaded with the code it was trained and measured with.
LOAD_OPTIONS = {"use_kernels": False}


@dataclass
class TrainedModel:
    """A loaded model folder: the model (eval mode), its tokenizer (None for DeftRec), generation
    config (None for DeftRec) and the run record of ``mindrec_run.json``."""

    model: torch.nn.Module
    tokenizer: Any
    generation_config: Any
    run: dict[str, Any]


def save_trained_model(
    directory: str | os.PathLike, model, tokenizer, generation_config, run: dict[str, Any]
) -> Path:
    """Write ``directory`` atomically (see the module docstring); ``model`` is unwrapped (no DDP).

    A previous model folder at ``directory`` (``best/`` of an earlier validation) is replaced; anything else
    there is refused (FileExistsError, see :func:`mindrec.io_utils.atomic_directory`).
    """
    directory = Path(directory)
    check_finite_weights(model, f"the model to save to {directory}")
    if tokenizer is not None and not isinstance(model, PeftModel):
        from mindrec.modeling.catalogue_index import catalogue_sha256

        model.config.catalogue_sha256 = catalogue_sha256(tokenizer.item_codes)
    with atomic_directory(directory, MODEL_KIND, overwrite=True) as tmp:
        if isinstance(model, PeftModel):
            # The trainable-token rows live in the adapter; the resized embedding is rebuilt on load.
            model.save_pretrained(tmp, save_embedding_layers=False)
        else:
            model.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if generation_config is not None:
            generation_config.save_pretrained(tmp)
        (tmp / RUN_FILE).write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    logger.info("Saved model to %s", directory)
    return directory


def check_finite_weights(model: torch.nn.Module, what: str) -> None:
    """Raise a ValueError naming the first parameters holding NaN or infinite values."""
    bad = [name for name, parameter in model.named_parameters() if not torch.isfinite(parameter).all()]
    if bad:
        raise ValueError(
            f"{what} has non-finite (NaN or infinite) weights in {len(bad)} tensor(s), e.g. {bad[:3]}: the "
            "weights file is corrupted or training diverged"
        )


def verify_model_folder(directory: Path) -> None:
    """Check a model folder's files against its manifest; a folder without one (a plain ``save_pretrained``
    folder from elsewhere) is loaded with a warning."""
    if read_manifest(directory) is None:
        logger.warning("%s has no %s: the integrity of its files is not checked", directory, MANIFEST_FILE)
        return
    verify_manifest(directory, kind=MODEL_KIND)


def read_run(directory: str | os.PathLike) -> dict[str, Any]:
    """The ``mindrec_run.json`` of a model folder (``{}`` for a folder from elsewhere)."""
    path = Path(directory) / RUN_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_trained_model(
    directory: str | os.PathLike, device: str | torch.device | None = None
) -> TrainedModel:
    """Load a folder written by :func:`save_trained_model` (or any MindRec ``save_pretrained`` folder).

    Raises:
        FileNotFoundError: the folder does not exist or holds no model, or a file its manifest lists is missing.
        ValueError: a file differs from the manifest saved with the folder, or the weights are not finite.
    """
    from mindrec.modeling import MindRecForRecommendation
    from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig

    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"Model folder {directory} does not exist.")
    verify_model_folder(directory)
    run = read_run(directory)
    model_type = run.get("model", {}).get("model_type", "mindrec")
    if model_type == "deftrec":
        from mindrec.modeling.modeling_deftrec import DeftRecForRecommendation

        model = DeftRecForRecommendation.from_pretrained(directory, **LOAD_OPTIONS)
        check_finite_weights(model, f"the model in {directory}")
        return TrainedModel(model.to(device or "cpu").eval(), None, None, run)

    from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

    tokenizer = MindRecTokenizer.from_pretrained(directory, local_files_only=True)
    if (directory / ADAPTER_CONFIG).is_file():
        from .llm_setting import DTYPES, add_item_tokens

        model_args = run.get("model", {})
        backbone_path = model_args.get("backbone_path")
        if not backbone_path:
            raise FileNotFoundError(
                f"{directory} holds a LoRA adapter but {RUN_FILE} names no backbone_path."
            )
        base = MindRecForRecommendation.from_pretrained(
            backbone_path, dtype=DTYPES[model_args.get("backbone_dtype", "float32")], **LOAD_OPTIONS
        )
        add_item_tokens(base, tokenizer)
        model = PeftModel.from_pretrained(base, directory).merge_and_unload()
    elif (directory / "config.json").is_file():
        from mindrec.modeling import MindRecConfig, MindRecForAutoregressiveRecommendation

        # A causal config is the autoregressive control: loading it as the diffusion model would
        # silently score canvases the wrong way.
        causal = MindRecConfig.from_pretrained(directory).is_causal
        model_class = MindRecForAutoregressiveRecommendation if causal else MindRecForRecommendation
        model = model_class.from_pretrained(directory, **LOAD_OPTIONS)
    else:
        raise FileNotFoundError(
            f"{directory} holds neither config.json nor {ADAPTER_CONFIG}: it is not a model folder."
        )
    generation_config = RecommendationGenerationConfig()
    if (directory / "generation_config.json").is_file():
        generation_config = RecommendationGenerationConfig.from_pretrained(directory)
    model.generation_config = generation_config
    tokenizer.check_compatible(model.config)
    check_finite_weights(model, f"the model in {directory}")
    return TrainedModel(model.to(device or "cpu").eval(), tokenizer, generation_config, run)


__all__ = [
    "LOAD_OPTIONS",
    "MODEL_KIND",
    "RUN_FILE",
    "TrainedModel",
    "check_finite_weights",
    "load_trained_model",
    "read_run",
    "save_trained_model",
    "verify_model_folder",
]
