"""Model cards for MindRec folders: YAML metadata (``ModelCardData``) + a Jinja template.

Every fact on the card is read from the files that are uploaded with it: ``config.json`` (or
``adapter_config.json``), ``item_codes.json`` (``method`` and ``stats``), ``generation_config.json``,
``tokenizer_config.json``, the run record ``mindrec_run.json`` (or ``training_args.json``) and, when
given, the evaluation JSON.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData
from safetensors import safe_open

from .eval_results import (
    EvalReport,
    dataset_name_from_run,
    protocol_description,
    results_table,
    to_eval_results,
)
from .model_folder import ModelFolder

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE_PATH = Path(__file__).parent / "templates" / "mindrec_model_card.md"
CARD_TAGS = (
    "recommendation",
    "generative-recommendation",
    "masked-diffusion",
    "semantic-ids",
    "diffusion-beam-search",
    "custom_code",
)
ADAPTER_TAGS = ("lora", "peft")
# The causal (TIGER-style) control model is neither a diffusion model nor decoded by Diffusion Beam Search.
DIFFUSION_TAGS = ("masked-diffusion", "diffusion-beam-search")
CAUSAL_TAGS = ("autoregressive",)

# What each RecommendationGenerationConfig option means, for the decoding table.
DECODING_OPTIONS = {
    "decoding_strategy": "search over catalogue codes (`diffusion_beam_search`: categories coarse to fine, then "
    "the most confident semantic-ID digits first)",
    "num_beams": "hypotheses kept per user",
    "num_return_items": "items returned per user (K)",
    "temperature": "each slot's distribution is softmax(logits / temperature)",
    "tokens_per_step": "`low_confidence` only: slots filled per model call",
    "exclude_history": "never recommend the user's history items (pass them as `excluded_items`)",
    "history_cache": "`exact` re-reads the history at every step; `prompt_cache` reuses its keys/values",
    "retrieval_weight": "`catalogue_scoring` only: weight of the dense retrieval head's item log-probs in the score",
    "popularity_adjustment": "with `retrieval_weight`: the head's logits minus this times log(1 + training count)",
    "recency_adjustment": "with `retrieval_weight`: the head's logits plus this times log(1 + count as users' newest item)",
    "transition_adjustment": "with `retrieval_weight`: the head's logits plus this times log(1 + how often the item "
    "followed the user's last item in training)",
    "transition_decay": "with `transition_adjustment`: the history item k places before the last adds this**k times "
    "its own",
    "transition_conditioning": "with `transition_adjustment`: each count scaled by (mean successor count / the "
    "history item's)**this first (0 = raw counts, 1 = the conditional frequency)",
    "transition_gap_decay": "with `transition_adjustment`: how its counts were taken; an item d places after h in a "
    "training sequence counted this**(d-1) towards h's (0 = direct successors only)",
    "rare_item_generative_weight": "with `retrieval_weight`: an item with n training interactions weighs its generative "
    "score 1 + this / (1 + n) times around the catalogue mean",
}


# ----------------------------------------------------------------------------------------------------------
# Facts read from the folder
# ----------------------------------------------------------------------------------------------------------


def count_parameters(folder: ModelFolder) -> int:
    """Number of weights in the folder's safetensors files (read from their headers, nothing is loaded)."""
    total = 0
    for name in folder.weight_files:
        with safe_open(folder.path / name, framework="pt") as handle:
            total += sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())
    return total


def human_count(count: int) -> str:
    """``4_812_345`` -> ``"4.8M"``, ``8_000_000_000`` -> ``"8.0B"``, ``950`` -> ``"950"``."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= scale:
            return f"{count / scale:.1f}{suffix}"
    return str(count)


def _architecture(folder: ModelFolder, base_model: str | None) -> str:
    count = human_count(count_parameters(folder))
    if folder.kind == "adapter":
        adapter = folder.adapter_config or {}
        targets = adapter.get("target_modules")
        targets = ", ".join(sorted(targets)) if isinstance(targets, list) else targets
        method = {"LORA": "LoRA"}.get(adapter.get("peft_type"), adapter.get("peft_type", "PEFT"))
        return (
            f"{method} adapter (r={adapter.get('r')}, alpha={adapter.get('lora_alpha')}, "
            f"targets: {targets}) over `{base_model}`; {count} adapter parameters"
        )
    config = folder.model_config or {}
    kind = (
        "LLaMA-shaped causal transformer (autoregressive control)"
        if config.get("is_causal")
        else "LLaDA-style bidirectional masked-diffusion transformer"
    )
    heads = config.get("num_attention_heads")
    kv_heads = config.get("num_key_value_heads")
    kv = f" ({kv_heads} key/value heads)" if kv_heads not in (None, heads) else ""
    return (
        f"{kind} (`{config.get('model_type')}`): "
        f"{config.get('num_hidden_layers')} layers, hidden size {config.get('hidden_size')}, {heads} heads{kv}, "
        f"MLP {config.get('intermediate_size')}, vocabulary {config.get('vocab_size')}, {count} parameters; "
        f"history encoding `{config.get('history_encoding')}`"
    )


def _is_causal(folder: ModelFolder) -> bool:
    return bool((folder.model_config or {}).get("is_causal"))


def _summary(folder: ModelFolder, base_model: str | None) -> str:
    table = folder.code_table
    if _is_causal(folder):
        what = (
            "A TIGER-style autoregressive control model: the MindRec backbone with a causal mask writes the next "
            "item's code left to right given the user's history, with a beam search constrained to the catalogue."
        )
    elif table["num_category_levels"]:
        what = (
            "A MindRec generative recommender: a masked-diffusion transformer fills in the next item's code - its "
            "category path, coarse to fine, then its semantic-ID digits, most confident first - given the "
            "user's history, with Diffusion Beam Search constrained to the catalogue."
        )
    else:
        what = (
            "A masked-diffusion generative recommender over semantic IDs (DiffGRM-style): a bidirectional "
            "transformer fills in the next item's semantic-ID digits in any order given the user's history, "
            "with a beam search constrained to the catalogue."
        )
    if folder.is_llm_setting:
        source = f" (`{base_model}`)" if base_model else ""
        what += f" The backbone is a pretrained language model{source} with item-code tokens added to its vocabulary."
    else:
        what += " The model was trained from scratch on item-code tokens only."
    if folder.kind == "adapter":
        what += f" This repository holds a PEFT adapter; it is applied on top of `{base_model}`."
    return what


def _slots(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    depth = table["num_category_levels"]
    return [
        {
            "index": slot,
            "kind": f"category level {slot + 1}" if slot < depth else f"semantic-ID digit {slot - depth + 1}",
            "size": size,
        }
        for slot, size in enumerate(table["code_slot_sizes"])
    ]


def _name(value: Any) -> str:
    """A method entry as text: its ``name`` (or ``type``) when it is a dict, else the value."""
    if isinstance(value, Mapping):
        return str(value.get("name") or value.get("type") or json.dumps(value, sort_keys=True))
    return str(value)


def _coding(table: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], list[dict[str, Any]]]:
    """Summary sentence, facts (label, value) and codebook rows from the code table's method and stats."""
    depth, digits = table["num_category_levels"], table["num_sid_digits"]
    method, stats = table["method"], table["stats"]
    parts = []
    if depth:
        parts.append(
            f"{depth} category-path slot{'s' if depth != 1 else ''} (a path in the catalogue's category "
            "tree, coarse to fine)"
        )
    if digits:
        parts.append(
            f"{digits} semantic-ID digit{'s' if digits != 1 else ''} (a quantised content embedding)"
        )
    summary = (
        "Each item is written as "
        + " followed by ".join(parts)
        + ". Codes are one-to-one with items: no two "
        "items share a code, so every metric below is an exact-item metric."
    )
    facts: list[tuple[str, str]] = []
    if depth:
        nodes = stats.get("category_nodes_per_level")
        facts.append(("Category tree depth", f"{depth}" + (f" (nodes per level: {nodes})" if nodes else "")))
    for label, key in (("Semantic-ID method", "quantizer"), ("Item text embedding", "embedding")):
        if key in method:
            facts.append((label, _name(method[key])))
    if "collision" in method:
        facts.append(("Collision handling", _name(method["collision"])))
    for label, key in (
        ("Collision rate before resolution (full code)", "collision_rate_before"),
        ("Collision rate before resolution (semantic ID alone)", "sid_collision_rate_before"),
        ("Items moved to resolve collisions", "items_moved"),
        ("Distinct codes", "distinct_codes"),
        ("Collision rate (final table)", "collision_rate"),
    ):
        if key in stats:
            facts.append((label, str(stats[key])))
    usage, entropy = stats.get("codebook_usage"), stats.get("entropy_bits")
    rows = []
    if isinstance(usage, list) and len(usage) == digits:
        sizes = table["code_slot_sizes"][depth:]
        for digit in range(digits):
            rows.append(
                {
                    "digit": digit + 1,
                    "size": sizes[digit],
                    "usage": usage[digit],
                    "entropy": entropy[digit] if isinstance(entropy, list) and len(entropy) == digits else "",
                }
            )
    return summary, facts, rows


def _decoding(generation_config: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    saved = generation_config or {}
    options = {key: saved[key] for key in DECODING_OPTIONS if key in saved}
    if not options:
        return [
            {"name": "(defaults)", "value": "-", "meaning": "no generation_config.json: class defaults apply"}
        ]
    return [
        {"name": key, "value": json.dumps(value), "meaning": DECODING_OPTIONS[key]}
        for key, value in options.items()
    ]


def _flatten(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in config.items():
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", json.dumps(value, ensure_ascii=False)


def usage_snippet(folder: ModelFolder, repo_id: str, base_model: str | None = None) -> str:
    """Python code that loads the repository with ``trust_remote_code`` and recommends for one user.

    Runs as is where only ``transformers`` (and ``peft`` for an adapter) are installed; it uses the first
    item ids of the catalogue as the example history.
    """
    history = folder.code_table["item_ids"][:2]
    exclude = bool((folder.generation_config or {}).get("exclude_history"))
    lines = []
    if folder.kind == "adapter":
        lines += ["from peft import PeftModel"]
    lines += [
        "from transformers import AutoModel, AutoTokenizer",
        "",
        f"repo_id = {json.dumps(repo_id)}",
        "tokenizer = AutoTokenizer.from_pretrained(repo_id, trust_remote_code=True)",
    ]
    if folder.kind == "adapter":
        lines += [
            f"base = AutoModel.from_pretrained({json.dumps(base_model)}, trust_remote_code=True)",
            "# The base has no rows for the item-code tokens: add them (the adapter holds their trained values)",
            "# and give it the tokenizer's code layout.",
            "layout = tokenizer.model_config_kwargs()",
            'base.resize_token_embeddings(layout["vocab_size"], mean_resizing=False)',
            "base.config.update(layout)",
            "model = PeftModel.from_pretrained(base, repo_id).eval()",
        ]
    else:
        lines += ["model = AutoModel.from_pretrained(repo_id, trust_remote_code=True).eval()"]
    lines += [
        "",
        "# One user's history, oldest first, as item ids of the catalogue (see tokenizer.item_id_of).",
        f"history = {json.dumps(history, ensure_ascii=False)}",
        "inputs = tokenizer([history])",
    ]
    arguments = ["**inputs", "catalogue=tokenizer.item_codes"]
    if exclude:
        arguments.append("excluded_items=[[tokenizer.index_of(item) for item in history]]")
    if folder.kind == "adapter":
        # The base model reads its own generation_config.json, not this repository's: pass the options.
        saved = folder.generation_config or {}
        arguments += [f"{key}={saved[key]!r}" for key in DECODING_OPTIONS if saved.get(key) is not None]
    call = "output = model.generate(" + ", ".join(arguments) + ")"
    if len(call) > 110:
        call = "output = model.generate(\n" + "".join(f"    {argument},\n" for argument in arguments) + ")"
    lines += [
        call,
        "recommended = [tokenizer.item_id_of(index) for index in output.item_indices[0].tolist() if index >= 0]",
        "print(recommended, output.scores[0].tolist())",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Card
# ----------------------------------------------------------------------------------------------------------


def evaluation_dataset(folder: ModelFolder, eval_report: EvalReport, datasets: Sequence[str] | None) -> str:
    """The dataset the results were measured on: ``datasets[0]``, else the name recorded by the run (the
    evaluation JSON's run record, then the folder's ``mindrec_run.json``).

    Raises:
        ValueError: no name given nor recorded.
    """
    name = datasets[0] if datasets else None
    name = (
        name or dataset_name_from_run(eval_report.run) or dataset_name_from_run(folder.training_config or {})
    )
    if name is None:
        raise ValueError(
            f"the results of {eval_report.source} need a dataset name and neither it nor {folder.path} records "
            "one (mindrec_run.json): pass datasets=[...] (--dataset)"
        )
    return name


def build_card_data(
    folder: ModelFolder,
    *,
    repo_id: str,
    eval_report: EvalReport | None = None,
    base_model: str | None = None,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
) -> ModelCardData:
    """The card's YAML header: library, tags, base model, datasets, metrics and the model-index.

    ``library_name`` is ``transformers`` (the model loads with ``AutoModel`` and remote code, without mindrec)
    and ``peft`` for an adapter. ``base_model`` and ``datasets`` (Hub ids) are recorded when given. The
    model-index names the dataset ``datasets[0]``, else the one in the run record (:func:`evaluation_dataset`).

    Raises:
        ValueError: evaluation results whose dataset cannot be named.
    """
    eval_results = None
    if eval_report is not None:
        eval_results = to_eval_results(
            eval_report, dataset_name=evaluation_dataset(folder, eval_report, datasets)
        )
    tags = list(CARD_TAGS) + (list(ADAPTER_TAGS) if folder.kind == "adapter" else [])
    if _is_causal(folder):
        tags = [tag for tag in tags if tag not in DIFFUSION_TAGS] + list(CAUSAL_TAGS)
    return ModelCardData(
        library_name="peft" if folder.kind == "adapter" else "transformers",
        license=license,
        tags=tags,
        base_model=base_model,
        datasets=list(datasets) if datasets else None,
        metrics=list(eval_report.index_metrics) if eval_report else None,
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results,
    )


def render_model_card(
    folder: ModelFolder,
    *,
    repo_id: str,
    eval_report: EvalReport | None = None,
    base_model: str | None = None,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
    template_path: str | os.PathLike = DEFAULT_TEMPLATE_PATH,
) -> ModelCard:
    """Render the model card of ``folder`` (see :func:`build_card_data` for the metadata).

    Args:
        folder: the inspected folder that is uploaded with the card.
        repo_id: the Hub repository (``owner/name``), used in the usage snippet.
        eval_report: evaluation results for the model-index and the results table.
        base_model: Hub id of the base model (the LLaDA checkpoint, or an adapter's base).
        datasets: Hub dataset ids for the metadata; the first also names the evaluation dataset.
        license: license id for the metadata.
        template_path: a Jinja template (default: ``templates/mindrec_model_card.md``).
    """
    card_data = build_card_data(
        folder,
        repo_id=repo_id,
        eval_report=eval_report,
        base_model=base_model,
        datasets=datasets,
        license=license,
    )
    table = folder.code_table
    coding_summary, coding_facts, codebook_rows = _coding(table)
    results_columns, results_rows, results_description = [], [], ""
    if eval_report is not None:
        results_columns, results_rows = results_table(eval_report)
        run = eval_report.run or folder.training_config or {}
        baselines = (
            f"; {', '.join(eval_report.baselines)} on the same split for comparison"
            if eval_report.baselines
            else ""
        )
        results_description = (
            f"Evaluated on the {eval_report.split} split of {evaluation_dataset(folder, eval_report, datasets)}"
            f"{protocol_description(run)}: leave-one-out, ranking over the full catalogue, exact-item hits"
            f"{baselines} (from `{eval_report.source.name}`)."
        )
    return ModelCard.from_template(
        card_data,
        template_path=str(template_path),
        model_name=card_data.model_name,
        summary=_summary(folder, base_model),
        architecture=_architecture(folder, base_model),
        num_items=len(table["item_ids"]),
        code_length=len(table["code_slot_sizes"]),
        num_category_levels=table["num_category_levels"],
        num_sid_digits=table["num_sid_digits"],
        max_history=folder.tokenizer_config.get("max_history"),
        coding_summary=coding_summary,
        slots=_slots(table),
        coding_facts=coding_facts,
        codebook_rows=codebook_rows,
        code_table_method_and_stats=json.dumps(
            {"method": table["method"], "stats": table["stats"]}, indent=2, ensure_ascii=False
        ),
        decoding=_decoding(folder.generation_config),
        usage_snippet=usage_snippet(folder, repo_id, base_model),
        training_rows=list(_flatten(folder.training_config or {})),
        results_columns=results_columns,
        results_rows=results_rows,
        results_description=results_description,
    )


__all__ = [
    "CARD_TAGS",
    "DEFAULT_TEMPLATE_PATH",
    "build_card_data",
    "count_parameters",
    "evaluation_dataset",
    "human_count",
    "render_model_card",
    "usage_snippet",
]
