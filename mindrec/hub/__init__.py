"""Sharing trained models on the Hugging Face Hub: model cards and ``push_to_hub``.

* :func:`push_to_hub` uploads a saved model (or LoRA adapter) folder with its tokenizer, code table,
  generation config and a generated model card; ``dry_run_dir`` writes the exact folder instead.
* :func:`prepare_upload_folder` writes that folder; :func:`render_model_card` renders the card alone.
"""

from .eval_results import EvalReport, read_eval_json, to_eval_results
from .model_card import CARD_TAGS, DEFAULT_TEMPLATE_PATH, build_card_data, render_model_card, usage_snippet
from .model_folder import ModelFolder, inspect_model_folder
from .push import plan_upload, prepare_upload_folder, push_to_hub

__all__ = [
    "CARD_TAGS",
    "DEFAULT_TEMPLATE_PATH",
    "EvalReport",
    "ModelFolder",
    "build_card_data",
    "inspect_model_folder",
    "plan_upload",
    "prepare_upload_folder",
    "push_to_hub",
    "read_eval_json",
    "render_model_card",
    "to_eval_results",
    "usage_snippet",
]
