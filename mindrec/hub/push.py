"""Share a trained MindRec folder on the Hugging Face Hub, or write exactly what would be shared.

The uploaded folder = model weights (safetensors) or a PEFT adapter, ``config.json`` /
``adapter_config.json``, ``generation_config.json``, the tokenizer and its code table ``item_codes.json``,
the remote-code ``.py`` files, the run record ``mindrec_run.json`` when present, and a ``README.md`` model
card. Every input is validated before anything is written or uploaded.

LoRA runs (a folder with ``adapter_config.json``) are shared either as the adapter alone, with
``adapter_config.json``'s ``base_model_name_or_path`` set to the base model's Hub id (``base_model``), or
merged into their base (``merge_adapter=True``; the backbone is the one ``mindrec_run.json`` records, loaded
as evaluation loads it).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from huggingface_hub import CommitInfo, HfApi
from huggingface_hub.utils import validate_repo_id

from mindrec.io_utils import atomic_directory, atomic_write_json, atomic_write_text, check_separate

from .eval_results import EvalReport, read_eval_json
from .model_card import DEFAULT_TEMPLATE_PATH, evaluation_dataset, render_model_card
from .model_folder import ADAPTER_CONFIG_FILE, ModelFolder, inspect_model_folder

if TYPE_CHECKING:
    from transformers import PreTrainedModel

logger = logging.getLogger(__name__)

UPLOAD_KIND = "upload"  # the kind recorded in an upload folder's manifest


@dataclass(frozen=True)
class UploadPlan:
    """Everything :func:`prepare_upload_folder` needs, validated before anything is written.

    Attributes:
        folder: the inspected source folder.
        repo_id: target Hub repository.
        eval_report: evaluation results for the card, if any.
        base_model: Hub id recorded as the card's ``base_model`` (and, for an adapter, in its config).
        merge_backbone: the backbone an adapter is merged into (None: no merge).
    """

    folder: ModelFolder
    repo_id: str
    eval_report: EvalReport | None
    base_model: str | None
    merge_backbone: str | None


def _is_local_path(name: str) -> bool:
    return os.path.isabs(name) or name.startswith(".") or os.path.exists(name)


def _merge_backbone(folder: ModelFolder) -> str:
    """The backbone an adapter folder goes on, as its run record (``mindrec_run.json``) names it."""
    model_options = (folder.training_config or {}).get("model")
    backbone = model_options.get("backbone_path") if isinstance(model_options, dict) else None
    if not backbone:
        raise ValueError(
            f"merge_adapter=True: {folder.path} has no mindrec_run.json naming model.backbone_path, the converted "
            "backbone the adapter was trained on; merge it where the training run's files are"
        )
    return str(backbone)


def _resolve_base_model(
    folder: ModelFolder, base_model: str | None, merge_adapter: bool
) -> tuple[str | None, str | None]:
    """``(base_model Hub id for the card / adapter config, backbone to merge into or None)``."""
    if folder.kind == "model":
        if merge_adapter:
            raise ValueError(
                f"merge_adapter=True needs a PEFT adapter folder, but {folder.path} has no {ADAPTER_CONFIG_FILE}"
            )
        if base_model is None and folder.is_llm_setting:
            logger.warning(
                "LLM-setting model without base_model: the card will not name the LLaDA checkpoint"
            )
        return base_model, None
    if merge_adapter:
        return base_model, _merge_backbone(folder)
    hub_base = base_model or (folder.adapter_config or {}).get("base_model_name_or_path")
    if not hub_base:
        raise ValueError(
            f"{folder.path / ADAPTER_CONFIG_FILE} has no base_model_name_or_path: pass base_model (the base's Hub "
            "id) or merge_adapter=True"
        )
    if _is_local_path(hub_base):
        raise ValueError(
            f"{folder.path / ADAPTER_CONFIG_FILE}: base_model_name_or_path is the local folder {hub_base!r}, which "
            "nobody who downloads the adapter has; pass base_model=<Hub id of that base model> (--base-model) "
            "or merge_adapter=True (--merge-adapter)"
        )
    validate_repo_id(hub_base)
    return hub_base, None


def plan_upload(
    model_dir: str | os.PathLike,
    *,
    repo_id: str,
    eval_json: str | os.PathLike | None = None,
    merge_adapter: bool = False,
    base_model: str | None = None,
    datasets: Sequence[str] | None = None,
) -> UploadPlan:
    """Validate every input of an upload (nothing is written).

    Raises:
        FileNotFoundError / ValueError: see :func:`inspect_model_folder` and :func:`read_eval_json`; also a
            malformed ``repo_id``, an adapter whose base is only a local folder (without ``base_model`` or
            ``merge_adapter``), a merge without a recorded backbone, and results without a dataset name.
    """
    validate_repo_id(repo_id)
    folder = inspect_model_folder(model_dir)
    eval_report = read_eval_json(eval_json) if eval_json is not None else None
    if eval_report is not None:
        evaluation_dataset(folder, eval_report, datasets)  # raises when the results' dataset has no name
    hub_base, merge_backbone = _resolve_base_model(folder, base_model, merge_adapter)
    return UploadPlan(folder, repo_id, eval_report, hub_base, merge_backbone)


def _merge_adapter(plan: UploadPlan) -> PreTrainedModel:
    """The adapter merged into its backbone, loaded the way evaluation loads it
    (:func:`mindrec.training.model_io.load_trained_model`: backbone, item-token rows, adapter, merge)."""
    from mindrec.training.model_io import load_trained_model

    logger.info("merging the adapter of %s into %s", plan.folder.path, plan.merge_backbone)
    try:
        return load_trained_model(plan.folder.path).model
    except OSError as error:
        raise FileNotFoundError(
            f"cannot load the backbone {plan.merge_backbone!r} (model.backbone_path in {plan.folder.path}/"
            f"mindrec_run.json) to merge the adapter into: {error}"
        ) from error


def _place(source: Path, target: Path, link: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:  # a staging folder for an upload: hard links avoid copying multi-GB weights
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copy2(source, target)


def _write_folder(
    plan: UploadPlan,
    target: Path,
    merged_model: PreTrainedModel | None,
    link: bool,
    template_path: Path,
    **card_options,
) -> None:
    """Fill ``target`` (an empty folder) with the files to upload and the model card."""
    folder = plan.folder
    files = folder.files
    if merged_model is not None:
        merged_model.save_pretrained(target)
        adapter_files = {ADAPTER_CONFIG_FILE, "adapter_model.safetensors"}
        files = tuple(name for name in files if name not in adapter_files)
    for name in files:
        if (target / name).exists():
            (target / name).unlink()  # the training run's files win over the merged save's defaults
        _place(folder.path / name, target / name, link)
    if folder.kind == "adapter" and merged_model is None:
        # Rewritten, never edited in place: a hard link would change the source folder too.
        (target / ADAPTER_CONFIG_FILE).unlink()
        atomic_write_json(
            target / ADAPTER_CONFIG_FILE,
            {**folder.adapter_config, "base_model_name_or_path": plan.base_model},
        )
    staged = inspect_model_folder(target)  # the card describes what is uploaded; re-checks for pickles too
    card = render_model_card(
        staged,
        repo_id=plan.repo_id,
        eval_report=plan.eval_report,
        base_model=plan.base_model,
        template_path=template_path,
        **card_options,
    )
    atomic_write_text(target / "README.md", str(card))


def prepare_upload_folder(
    model_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    repo_id: str,
    eval_json: str | os.PathLike | None = None,
    merge_adapter: bool = False,
    base_model: str | None = None,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
    template_path: str | os.PathLike = DEFAULT_TEMPLATE_PATH,
) -> Path:
    """Write, atomically, the exact folder that :func:`push_to_hub` would upload, and return its path.

    Args:
        model_dir: a saved model or PEFT adapter folder with its tokenizer and ``item_codes.json``.
        output_dir: the folder to write (replaced as a whole; it must lie outside ``model_dir``).
        repo_id: the target Hub repository (``owner/name``), named in the card's usage snippet.
        eval_json: an evaluation JSON (``scripts/evaluate.py --metrics-json``) for the card's results.
        merge_adapter: merge a LoRA adapter into its base and share the merged model.
        base_model: Hub id of the base model (an adapter's base; the LLaDA checkpoint in the LLM setting).
        datasets: Hub dataset ids for the card; the first also names the evaluation dataset (default: the
            dataset the run recorded).
        license: license id for the card's metadata.
        template_path: the Jinja model-card template.

    Raises:
        FileNotFoundError / ValueError: on any invalid input, before anything is written (see :func:`plan_upload`).
    """
    return _prepare(
        model_dir, output_dir, link=False, repo_id=repo_id, eval_json=eval_json, merge_adapter=merge_adapter,
        base_model=base_model, datasets=datasets, license=license, template_path=template_path,
    )  # fmt: skip


def _prepare(
    model_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    link: bool,
    repo_id: str,
    eval_json: str | os.PathLike | None,
    merge_adapter: bool,
    base_model: str | None,
    datasets: Sequence[str] | None,
    license: str | None,
    template_path: str | os.PathLike = DEFAULT_TEMPLATE_PATH,
) -> Path:
    """:func:`prepare_upload_folder`; ``link`` hard-links the source files (a throw-away staging folder)."""
    output_dir = Path(output_dir)
    template_path = Path(template_path)
    if not template_path.is_file():
        raise FileNotFoundError(f"model card template {template_path} does not exist")
    plan = plan_upload(
        model_dir, repo_id=repo_id, eval_json=eval_json, merge_adapter=merge_adapter, base_model=base_model,
        datasets=datasets,
    )  # fmt: skip
    check_separate(output_dir, [plan.folder.path])
    merged = _merge_adapter(plan) if plan.merge_backbone is not None else None
    # A previous upload folder (its manifest says so, nothing foreign inside) is replaced as a whole.
    with atomic_directory(output_dir, UPLOAD_KIND, overwrite=True) as target:
        _write_folder(plan, target, merged, link, template_path, datasets=datasets, license=license)
    logger.info("wrote the upload folder %s: %s", output_dir, sorted(p.name for p in output_dir.iterdir()))
    return output_dir


def push_to_hub(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    dry_run_dir: str | os.PathLike | None = None,
    merge_adapter: bool = False,
    token: str | None = None,
    eval_json: str | os.PathLike | None = None,
    base_model: str | None = None,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
    commit_message: str | None = None,
) -> CommitInfo | Path:
    """Upload a trained MindRec folder (see :func:`prepare_upload_folder` for what is uploaded).

    With ``dry_run_dir`` the folder is written there and nothing is uploaded (returns its path); otherwise
    it is built in a temporary folder, the repository is created if needed (``create_repo(..., exist_ok=True)``,
    and the ``revision`` branch when given) and the folder is uploaded in one commit (returns its
    ``CommitInfo``).

    Args:
        private: create the repository as private (an existing repository keeps its visibility).
        revision: branch to commit to (created when missing).
        create_pr: open a pull request instead of committing to the branch.
        token: Hub token (default: the logged-in user's).
        commit_message: default ``"Upload <name> (MindRec model|adapter)"``.
        other arguments: see :func:`prepare_upload_folder`.
    """
    options = dict(
        repo_id=repo_id, eval_json=eval_json, merge_adapter=merge_adapter, base_model=base_model,
        datasets=datasets, license=license,
    )  # fmt: skip
    if dry_run_dir is not None:
        folder = prepare_upload_folder(model_dir, dry_run_dir, **options)
        logger.info("dry run: nothing uploaded; %s holds what would be uploaded to %s", folder, repo_id)
        return folder
    with tempfile.TemporaryDirectory(prefix="mindrec-upload-") as staging:
        folder = _prepare(model_dir, Path(staging) / "upload", link=True, **options)
        kind = "adapter" if (folder / ADAPTER_CONFIG_FILE).is_file() else "model"
        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        commit = api.upload_folder(
            folder_path=folder,
            repo_id=repo_id,
            revision=revision,
            create_pr=create_pr,
            commit_message=commit_message or f"Upload {repo_id.split('/')[-1]} (MindRec {kind})",
        )
    logger.info("uploaded %s to %s: %s", model_dir, repo_id, commit.commit_url)
    return commit


__all__ = ["UploadPlan", "plan_upload", "prepare_upload_folder", "push_to_hub"]
