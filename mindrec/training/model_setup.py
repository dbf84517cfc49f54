"""Build the tokenizer and the model of a run (small MindRec, DeftRec; the LLM setting is in ``llm_setting``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mindrec.data import PreparedData
from mindrec.modeling import MaskedDiffusionSchedule, MindRecConfig, MindRecForRecommendation

from .arguments import DataArguments, ModelArguments

logger = logging.getLogger(__name__)


def build_item_tokenizer(code_table: dict[str, Any], model_args: ModelArguments, data_args: DataArguments):
    """The item-only :class:`MindRecTokenizer` (small setting) over ``code_table``."""
    from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

    return MindRecTokenizer.from_code_table(
        code_table, history_encoding=model_args.history_encoding, max_history=data_args.max_history
    )


def set_mask_eps(model: MindRecForRecommendation, mask_eps: float | None) -> None:
    """Use ``mask_eps`` as the floor of the training mask rate (config and schedule); None keeps the model's."""
    if mask_eps is None:
        return
    model.config.mask_eps = float(mask_eps)
    model.noise_schedule = MaskedDiffusionSchedule(
        mask_token_id=model.config.mask_token_id, eps=float(mask_eps)
    )


def install_item_codes(
    model,
    tokenizer,
    item_features: np.ndarray | None = None,
    item_counts: torch.Tensor | None = None,
    recent_counts: torch.Tensor | None = None,
    transition_counts: torch.Tensor | None = None,
    item_brand_ids: torch.Tensor | None = None,
) -> None:
    """Give a model with history item embeddings the catalogue's codes (a no-op for other models), its
    content vectors ``item_features`` ``[num_items, dim]`` when it has ``item_feature_size``, and the items'
    training interaction counts ``item_counts`` ``[num_items]``, counts as users' newest training interaction
    ``recent_counts`` and training transition counts ``transition_counts [num_items, num_items]`` when it has a
    retrieval head (what the decoding options ``popularity_adjustment``, ``recency_adjustment`` and
    ``transition_adjustment`` read; ignored by models without the head)."""
    if (recent_counts is not None or transition_counts is not None) and item_counts is None:
        raise ValueError(
            "`recent_counts` and `transition_counts` come with `item_counts` (the training interaction counts)."
        )
    if model.config.history_item_embeddings:
        model.model.set_item_codes(tokenizer.item_codes)
    if item_features is not None:
        model.model.set_item_features(torch.from_numpy(np.asarray(item_features, dtype=np.float32)))
    if item_counts is not None:
        install_item_counts(model, item_counts, recent_counts, transition_counts)
    if item_brand_ids is not None:
        install_item_brands(model, item_brand_ids)


def install_item_brands(model, item_brand_ids: torch.Tensor) -> None:
    """Set a model's item brand ids (``set_item_brands``; a no-op for models with neither a retrieval head nor
    brand embeddings)."""
    backbone = getattr(model, "model", None)
    if getattr(model, "item_brand_ids", None) is None and getattr(backbone, "item_brand_ids", None) is None:
        return
    model.set_item_brands(item_brand_ids)


def install_item_counts(
    model,
    item_counts: torch.Tensor,
    recent_counts: torch.Tensor | None = None,
    transition_counts: torch.Tensor | None = None,
) -> None:
    """Set a retrieval-head model's decoding counts (``set_item_counts``, and ``set_item_transitions`` when
    ``transition_counts`` is given; a no-op for models without the head). The keys of
    :func:`mindrec.baselines.decoding_counts` are its keyword arguments: training installs the counts as of the
    validation targets, test decoding those as of its own."""
    if getattr(model, "item_log_counts", None) is None:
        return
    model.set_item_counts(item_counts, recent_counts)
    if transition_counts is not None:
        model.set_item_transitions(transition_counts)


def build_small_model(
    tokenizer,
    model_args: ModelArguments,
    mask_eps: float | None = None,
    item_features: np.ndarray | None = None,
    item_counts: torch.Tensor | None = None,
    recent_counts: torch.Tensor | None = None,
    transition_counts: torch.Tensor | None = None,
    item_brand_ids: torch.Tensor | None = None,
) -> MindRecForRecommendation:
    """A randomly initialised MindRec model whose token layout is the tokenizer's (seed first).

    ``item_features`` ``[num_items, dim]`` (item order) are the content vectors of
    ``model_args.item_content_features`` (required then, refused otherwise). ``item_counts`` ``[num_items]``
    are the training interaction counts a model with a retrieval head keeps for ``popularity_adjustment``, and
    ``recent_counts`` how often each item is a user's newest training interaction, for ``recency_adjustment``,
    and ``transition_counts`` ``[num_items, num_items]`` how often each item followed each other, for
    ``transition_adjustment``, and ``item_brand_ids`` ``[num_items]`` each item's brand, for ``brand_adjustment``
    and ``model_args.brand_embeddings`` (required then, one embedding per brand id; none when no item has a brand).
    """
    if model_args.item_content_features != (item_features is not None):
        raise ValueError(
            "item_content_features=True needs the items' content vectors (item_features=)"
            if model_args.item_content_features
            else "item_features were given but item_content_features is False"
        )
    if item_features is not None and np.ndim(item_features) != 2:
        raise ValueError(f"item_features must be [num_items, dim], got shape {np.shape(item_features)}.")
    num_brands = 0
    if model_args.brand_embeddings:
        if item_brand_ids is None:
            raise ValueError("brand_embeddings=True needs the items' brands (item_brand_ids=).")
        brands = torch.as_tensor(item_brand_ids)
        if bool((brands >= 0).any()):
            num_brands = int(brands.max()) + 1
        else:
            # An item without a brand adds nothing, so a catalogue without brands (MovieLens, say) is built without
            # the table: the same model, and a shipped config that asks for brands still runs on such data.
            logger.warning("brand_embeddings=True, but no item of this catalogue has a brand: no brand embeddings.")
    layout = tokenizer.model_config_kwargs()
    longest = 2 + (tokenizer.max_history or 50) * (
        1 if layout["history_encoding"] == "pooled" else tokenizer.code_length
    )
    config = MindRecConfig(
        **layout,
        hidden_size=model_args.hidden_size,
        intermediate_size=model_args.intermediate_size,
        num_hidden_layers=model_args.num_hidden_layers,
        num_attention_heads=model_args.num_attention_heads,
        hidden_dropout=model_args.hidden_dropout,
        attention_dropout=model_args.attention_dropout,
        max_position_embeddings=max(64, longest + tokenizer.code_length),
        prompt_attends_canvas=model_args.prompt_attends_canvas,
        causal_prompt=model_args.causal_prompt,
        num_random_views=model_args.num_random_views,
        num_path_views=model_args.num_path_views,
        path_loss=model_args.path_loss,
        num_items=tokenizer.num_items,
        history_item_embeddings=model_args.history_item_embeddings,
        item_retrieval_head=model_args.item_retrieval_head,
        retrieval_loss_weight=model_args.retrieval_loss_weight,
        history_retrieval_loss_weight=model_args.history_retrieval_loss_weight,
        retrieval_label_smoothing=model_args.retrieval_label_smoothing,
        history_retrieval_reduction=model_args.history_retrieval_reduction,
        history_retrieval_window=model_args.history_retrieval_window,
        retrieval_popularity_prior=model_args.retrieval_popularity_prior,
        retrieval_transition_prior=model_args.retrieval_transition_prior,
        retrieval_transition_decay=model_args.retrieval_transition_decay,
        item_feature_size=0 if item_features is None else np.shape(item_features)[1],
        num_brands=num_brands,
        item_id_dropout=model_args.item_id_dropout,
    )
    model = MindRecForRecommendation(config)
    install_item_codes(model, tokenizer, item_features, item_counts, recent_counts, transition_counts, item_brand_ids)
    set_mask_eps(model, mask_eps)
    parameters = sum(parameter.numel() for parameter in model.parameters())
    logger.info(
        "Small MindRec model: %.2fM parameters (hidden %d, %d layers), vocabulary %d, codes %s",
        parameters / 1e6,
        config.hidden_size,
        config.num_hidden_layers,
        config.vocab_size,
        config.code_slot_sizes,
    )
    return model


def deftrec_item_vectors(data: PreparedData, model_args: ModelArguments, seed: int) -> np.ndarray:
    """Item vectors ``[num_items, dim]`` for DeftRec: TF-IDF + SVD of the item text, or a ``.npy`` file."""
    if model_args.deftrec_item_vectors == "text":
        from mindrec.tokenization.text_embeddings import embed_items

        embedded = embed_items(
            list(data.items), "tfidf-svd", dim=model_args.deftrec_item_vector_dim, seed=seed
        )
        return np.asarray(embedded.vectors, dtype=np.float32)
    path = Path(model_args.deftrec_item_vectors)
    if path.suffix != ".npy" or not path.is_file():
        raise FileNotFoundError(f"deftrec_item_vectors must be 'text' or an existing .npy file, got {path}.")
    vectors = np.load(path)
    if vectors.ndim != 2 or vectors.shape[0] != data.num_items:
        raise ValueError(
            f"{path}: item vectors must be [num_items={data.num_items}, dim], got shape {vectors.shape}."
        )
    return vectors.astype(np.float32)


def build_deftrec_model(data: PreparedData, model_args: ModelArguments, data_args: DataArguments, seed: int):
    """A randomly initialised DeftRec model over ``data``'s catalogue with its item vectors installed."""
    from mindrec.modeling.configuration_deftrec import DeftRecConfig
    from mindrec.modeling.modeling_deftrec import DeftRecForRecommendation

    vectors = deftrec_item_vectors(data, model_args, seed)
    longest = max(len(history) for split in data.splits.values() for history in split["history"])
    max_history = min(longest, data_args.max_history) if data_args.max_history else longest
    max_history = max(1, max_history)
    config = DeftRecConfig(
        lm_config={
            "hidden_size": model_args.hidden_size,
            "intermediate_size": model_args.intermediate_size,
            "num_hidden_layers": model_args.num_hidden_layers,
            "num_attention_heads": model_args.num_attention_heads,
            "max_position_embeddings": max(64, 2 * max_history + 1),
        },
        num_items=data.num_items,
        item_vector_dim=int(vectors.shape[1]),
        max_history=max_history,
        num_negatives=model_args.deftrec_num_negatives,
        bpr_weight=1.0 if model_args.deftrec_num_negatives else 0.0,
        num_inference_steps=min(model_args.deftrec_inference_steps, 1000),
        sampler=model_args.deftrec_sampler,
        prediction_type=model_args.deftrec_prediction_type,
        retrieval=model_args.deftrec_retrieval,
    )
    model = DeftRecForRecommendation(config)
    model.set_item_vectors(torch.from_numpy(vectors))
    return model


__all__ = [
    "build_deftrec_model",
    "build_item_tokenizer",
    "build_small_model",
    "deftrec_item_vectors",
    "install_item_brands",
    "install_item_codes",
    "set_mask_eps",
]
