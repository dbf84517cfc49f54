"""Recommendation generation: config, output and the ``generate()`` mixin of MindRec models.

``generate()`` builds the model's canvas scorer for a batch of prompts, then runs one of the
decoders over the item catalogue and returns the top-K distinct, valid catalogue items per user:

* ``"diffusion_beam_search"`` (default, MindRec): categories coarse to fine, then the most
  confident semantic-ID digits first (``decoding_diffusion_beam_search``);
* ``"parallel_denoising"``: DiffGRM's confidence-guided parallel denoising, any slot any step;
* ``"low_confidence"``: LLaDA's greedy low-confidence remasking, ``tokens_per_step`` per step;
* ``"left_to_right"``: constrained beam search filling slots in order (ablation);
* ``"catalogue_scoring"``: one scorer call per user; every catalogue item ranked by the sum of its
  slots' log-probs on the fully masked canvas (``decoding_catalogue_scoring``), plus, for a model
  with a dense retrieval head, ``retrieval_weight`` times the head's log-prob of the item.

Remote code: imports only torch, transformers and single-dot relative imports.
"""

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from transformers import GenerationConfig
from transformers.utils import ModelOutput, logging

from .canvas_scoring import HISTORY_CACHE_MODES
from .catalogue_index import CatalogueIndex
from .decoding_catalogue_scoring import catalogue_scoring
from .decoding_diffusion_beam_search import diffusion_beam_search
from .decoding_left_to_right import left_to_right_beam_search
from .decoding_low_confidence import low_confidence_decode
from .decoding_parallel_denoising import parallel_denoising
from .decoding_utils import Hypotheses, collect_distinct_items

logger = logging.get_logger(__name__)

DECODING_STRATEGIES = (
    "diffusion_beam_search",
    "parallel_denoising",
    "low_confidence",
    "left_to_right",
    "catalogue_scoring",
)
# The options that adjust the retrieval head's logits before the fused decoder reads them (each needs the head).
ADJUSTMENTS = ("popularity_adjustment", "recency_adjustment", "transition_adjustment", "brand_adjustment")
# Every option that needs retrieval_weight > 0 -> what it does to the head's scores (for its error message).
FUSED_OPTIONS = {
    **dict.fromkeys(ADJUSTMENTS, "adjusts"),
    "rare_item_generative_weight": "weighs the generative score against",
}
# The options that shape the transition credit, each only with transition_adjustment > 0: name -> (what it does to the
# transitions, whether its range [0, 1] includes 1).
TRANSITION_SUBOPTIONS = {
    "transition_decay": ("weighs", False),
    "transition_conditioning": ("scales", True),
    "transition_gap_decay": ("counts", False),
}
# Keys a GenerationConfig may carry that are bookkeeping, not decoding options.
_METADATA_KEYS = ("transformers_version", "_from_model_config", "_commit_hash")


class RecommendationGenerationConfig(GenerationConfig):
    """Options of :meth:`MindRecGenerationMixin.generate`; saved as ``generation_config.json``.

    Accepts only its own keys: text-generation options of ``GenerationConfig`` (``do_sample``,
    ``top_k``, ``top_p``, ``num_beam_groups``, ``diversity_penalty``, ``max_new_tokens``, ...) have no
    meaning for a search over catalogue codes and raise a ValueError.

    Args:
        decoding_strategy: one of ``"diffusion_beam_search"``, ``"parallel_denoising"``,
            ``"low_confidence"``, ``"left_to_right"``, ``"catalogue_scoring"``.
        num_beams: W, hypotheses per user (beams; for ``"low_confidence"`` the number of greedy
            hypotheses forked at the first commitment; for ``"catalogue_scoring"`` the best items kept).
            Must be >= ``num_return_items``.
        num_return_items: K, items returned per user.
        temperature: each slot's distribution is ``softmax(logits / temperature)``; > 0.
        tokens_per_step: ``"low_confidence"`` only: positions committed per scorer call (None = 1).
        exclude_history: the checkpoint's protocol excludes the user's history items: ``generate``
            then requires them as ``excluded_items`` (the caller knows the item indices).
        history_cache: how the canvas scorer treats the prompt, ``"exact"`` or ``"prompt_cache"``.
        retrieval_weight: ``"catalogue_scoring"`` only: weight of the retrieval head's item log-probs added
            to the generative score (0 = the pure generative score; > 0 needs ``item_retrieval_head``).
        popularity_adjustment: with ``retrieval_weight`` > 0: beta of a logit adjustment, the head's logits
            minus ``beta * log(1 + the item's training count)`` before its softmax (0 = none). It trades
            frequent items for rare ones; needs the counts the model was trained on (``set_item_counts``).
        recency_adjustment: with ``retrieval_weight`` > 0: the head's logits plus ``gamma * log(1 + how often
            the item is a user's newest training interaction)`` (0 = none). The items held out are each user's
            newest, so the recent popularity is a closer prior for them than the whole period's, which the head
            learnt; needs those counts (``set_item_counts(item_counts, recent_counts)``).
        transition_adjustment: with ``retrieval_weight`` > 0: the head's logits plus ``lambda * log(1 + how often
            the item directly followed the user's last history item in the training sequences)`` (0 = none): a
            first-order Markov prior beside the head's dense query, which blurs item-to-item regularities of rare
            items; needs those counts (``set_item_transitions``; ``transition_gap_decay`` says whether they also count
            items that came later).
        brand_adjustment: with ``retrieval_weight`` > 0: mu >= 0, the head's logits plus ``mu / log(2 + the number
            of catalogue items of the item's brand)`` for every item whose brand is among the user's history items'
            brands (0 = none; items without a brand get nothing). Users buy again from brands they bought from, most
            brands are small, and the head sees brands only through the codes' text; needs the items' brands
            (``set_item_brands``).
        transition_decay: with ``transition_adjustment``: the history item ``k`` places before the last one adds
            ``transition_decay ** k`` times its own transitions, in ``[0, 1)`` (0 = the last item alone).
        transition_conditioning: with ``transition_adjustment``: p in ``[0, 1]``, each count ``c(h -> item)`` scaled
            by ``(mean successor count / h's successor count) ** p`` before ``log(1 + .)``, from the raw counts (0)
            towards the conditional frequency ``P(item | h)`` (1): a pair after an item with few successors then
            weighs more than the same count after a hub.
        transition_gap_decay: with ``transition_adjustment``: how the transition counts were taken, in ``[0, 1)``:
            an item ``d`` places after ``h`` in a training sequence counts ``transition_gap_decay ** (d - 1)`` towards
            ``c(h -> item)`` (0 = direct successors only). Decoding reads the table the model holds; this records
            how whoever installed it (``mindrec.baselines.decoding_counts``) counted, so that a split is decoded
            with counts taken the same way.
        rare_item_generative_weight: with ``retrieval_weight`` > 0: kappa >= 0, the generative score of an item with
            ``n`` training interactions counts ``1 + kappa / (1 + n)`` times around its catalogue mean (0 = once for
            every item). The head ranks by learned item vectors, which rarely seen items have barely trained; their
            codes still describe them. Needs the training counts (``set_item_counts``).
    """

    def __init__(self, **kwargs):
        # super().__init__() is not called on purpose: it would add the text-generation attributes.
        self.decoding_strategy: str = kwargs.pop("decoding_strategy", "diffusion_beam_search")
        self.num_beams: int = kwargs.pop("num_beams", 10)
        self.num_return_items: int = kwargs.pop("num_return_items", 10)
        self.temperature: float = kwargs.pop("temperature", 1.0)
        self.tokens_per_step: int | None = kwargs.pop("tokens_per_step", None)
        self.exclude_history: bool = kwargs.pop("exclude_history", False)
        self.history_cache: str = kwargs.pop("history_cache", "exact")
        self.retrieval_weight: float = kwargs.pop("retrieval_weight", 0.0)
        self.popularity_adjustment: float = kwargs.pop("popularity_adjustment", 0.0)
        self.recency_adjustment: float = kwargs.pop("recency_adjustment", 0.0)
        self.transition_adjustment: float = kwargs.pop("transition_adjustment", 0.0)
        self.brand_adjustment: float = kwargs.pop("brand_adjustment", 0.0)
        self.transition_decay: float = kwargs.pop("transition_decay", 0.0)
        self.transition_conditioning: float = kwargs.pop("transition_conditioning", 0.0)
        self.transition_gap_decay: float = kwargs.pop("transition_gap_decay", 0.0)
        self.rare_item_generative_weight: float = kwargs.pop("rare_item_generative_weight", 0.0)
        # Metadata written by transformers.
        self._commit_hash: str | None = kwargs.pop("_commit_hash", None)
        self._from_model_config: bool | None = kwargs.pop("_from_model_config", None)
        self.transformers_version: str | None = kwargs.pop("transformers_version", None)
        self._reject_unknown(kwargs)
        self.validate()

    @classmethod
    def _option_names(cls) -> tuple[str, ...]:
        return (
            "decoding_strategy",
            "num_beams",
            "num_return_items",
            "temperature",
            "tokens_per_step",
            "exclude_history",
            "history_cache",
            "retrieval_weight",
            "popularity_adjustment",
            "recency_adjustment",
            "transition_adjustment",
            "brand_adjustment",
            "transition_decay",
            "transition_conditioning",
            "transition_gap_decay",
            "rare_item_generative_weight",
        )

    @classmethod
    def _reject_unknown(cls, kwargs: dict[str, Any]) -> None:
        if not kwargs:
            return
        generic = set(GenerationConfig().__dict__)
        names = sorted(kwargs)
        meaningless = [name for name in names if name in generic]
        if meaningless:
            raise ValueError(
                f"RecommendationGenerationConfig does not accept {meaningless}: text-generation options have no "
                f"meaning for a search over catalogue item codes. Its options are {list(cls._option_names())}."
            )
        raise ValueError(
            f"Unknown recommendation generation option(s) {names}; the options are {list(cls._option_names())}."
        )

    def validate(self, strict: bool = False, **unused_kwargs) -> None:
        """Raise a ValueError naming the first invalid option (``strict`` is accepted for the base API)."""
        if self.decoding_strategy not in DECODING_STRATEGIES:
            raise ValueError(
                f"`decoding_strategy` must be one of {DECODING_STRATEGIES}, got {self.decoding_strategy!r}."
            )
        for name in ("num_beams", "num_return_items"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}.")
        if self.num_beams < self.num_return_items:
            raise ValueError(
                f"`num_beams` ({self.num_beams}) must be >= `num_return_items` ({self.num_return_items}): "
                "the K items are the best of the W final hypotheses."
            )
        temperature = self.temperature
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or not math.isfinite(temperature)
            or temperature <= 0
        ):
            raise ValueError(f"`temperature` must be a finite number > 0, got {temperature!r}.")
        if self.tokens_per_step is not None:
            if self.decoding_strategy != "low_confidence":
                raise ValueError(
                    f"`tokens_per_step` only applies to decoding_strategy='low_confidence' (the beam decoders fill "
                    f"one slot per step); got tokens_per_step={self.tokens_per_step!r} with "
                    f"{self.decoding_strategy!r}. Set it to None."
                )
            if isinstance(self.tokens_per_step, bool) or not isinstance(self.tokens_per_step, int):
                raise ValueError(f"`tokens_per_step` must be an integer >= 1, got {self.tokens_per_step!r}.")
            if self.tokens_per_step < 1:
                raise ValueError(f"`tokens_per_step` must be an integer >= 1, got {self.tokens_per_step!r}.")
        if not isinstance(self.exclude_history, bool):
            raise ValueError(f"`exclude_history` must be a bool, got {self.exclude_history!r}.")
        if self.history_cache not in HISTORY_CACHE_MODES:
            raise ValueError(
                f"`history_cache` must be one of {HISTORY_CACHE_MODES}, got {self.history_cache!r}."
            )
        weight = self.retrieval_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"`retrieval_weight` must be a finite number >= 0, got {weight!r}.")
        if weight and self.decoding_strategy != "catalogue_scoring":
            raise ValueError(
                f"`retrieval_weight` only applies to decoding_strategy='catalogue_scoring' (it fuses the retrieval "
                f"head into the one-pass catalogue score); got retrieval_weight={weight!r} with "
                f"{self.decoding_strategy!r}. Set it to 0."
            )
        for name, what in FUSED_OPTIONS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}.")
            if value and not weight:
                raise ValueError(
                    f"`{name}` {what} the retrieval head's scores; it needs retrieval_weight > 0 "
                    f"(got {name}={value!r} with retrieval_weight={weight!r})."
                )
        for name, (verb, closed) in TRANSITION_SUBOPTIONS.items():
            value = getattr(self, name)
            in_range = isinstance(value, (int, float)) and 0 <= value and (value <= 1 if closed else value < 1)
            if isinstance(value, bool) or not in_range:
                raise ValueError(f"`{name}` must be a number in [0, 1{']' if closed else ')'}, got {value!r}.")
            if value and not self.transition_adjustment:
                raise ValueError(
                    f"`{name}` {verb} the transitions of `transition_adjustment`; it needs transition_adjustment > 0 "
                    f"(got {name}={value!r} with transition_adjustment={self.transition_adjustment!r})."
                )

    def update(
        self, defaults_only: bool = False, allow_custom_entries: bool = False, **kwargs
    ) -> dict[str, Any]:
        """Set options from ``kwargs`` (all must be options of this class) and validate; on an invalid
        value nothing changes. Returns ``{}`` (no unused kwargs: unknown keys raise)."""
        options = {key: value for key, value in kwargs.items() if key not in _METADATA_KEYS}
        self._reject_unknown(
            {key: value for key, value in options.items() if key not in self._option_names()}
        )
        previous = {key: getattr(self, key) for key in options}
        for key, value in options.items():
            if not defaults_only or previous[key] is None:
                setattr(self, key, value)
        try:
            self.validate()
        except ValueError:
            for key, value in previous.items():  # leave the config as it was
                setattr(self, key, value)
            raise
        return {}

    def get_generation_mode(self, *args, **kwargs):
        raise NotImplementedError("RecommendationGenerationConfig has no text-generation mode.")

    @classmethod
    def from_model_config(cls, *args, **kwargs):
        # transformers falls back to the defaults (cls()) when this raises; the model config holds no options.
        raise NotImplementedError("RecommendationGenerationConfig is not derived from a model config.")


@dataclass
class RecommendationOutput(ModelOutput):
    """Top-K recommendations per user.

    Args:
        item_indices: ``[batch, K]`` int64 item indices, best first; ``-1`` pads users with fewer than K
            items left after their exclusions (or whose remaining items all have log-prob -inf).
        scores: ``[batch, K]`` fp32 sums of the log-probs of each item's code values (``-inf`` for pads);
            with ``retrieval_weight`` > 0, plus that multiple of the retrieval head's item log-prob.
        codes: ``[batch, K, code_length]`` the items' codes (``-1`` for pads).
    """

    item_indices: torch.LongTensor | None = None
    scores: torch.FloatTensor | None = None
    codes: torch.LongTensor | None = None


def _strategy_decoder(
    generation_config: RecommendationGenerationConfig, scorer: Callable, index: CatalogueIndex
) -> Callable[[torch.LongTensor, torch.LongTensor], Hypotheses]:
    """The configured strategy's decoder bound to the scorer, the index and its options:
    ``decode(user_ids [b], excluded [b, E]) -> Hypotheses``."""
    strategy = generation_config.decoding_strategy
    options = {"temperature": float(generation_config.temperature)}
    if strategy == "low_confidence":
        tokens_per_step = generation_config.tokens_per_step or 1
        return partial(
            low_confidence_decode,
            scorer,
            index,
            num_hypotheses=generation_config.num_beams,
            tokens_per_step=tokens_per_step,
            **options,
        )
    if strategy == "catalogue_scoring":
        options["retrieval_weight"] = float(generation_config.retrieval_weight)
        options["rare_item_generative_weight"] = float(generation_config.rare_item_generative_weight)
    beam_decoders = {
        "diffusion_beam_search": diffusion_beam_search,
        "parallel_denoising": parallel_denoising,
        "left_to_right": left_to_right_beam_search,
        "catalogue_scoring": catalogue_scoring,
    }
    return partial(beam_decoders[strategy], scorer, index, num_beams=generation_config.num_beams, **options)


def as_catalogue_index(
    catalogue: "CatalogueIndex | torch.Tensor", code_slot_sizes: Sequence[int], num_category_levels: int
) -> CatalogueIndex:
    """Wrap a code table ``[I, L]`` in a :class:`CatalogueIndex`, or check an index, against a code layout.

    Raises a ValueError when the layouts differ (a model/tokenizer pair whose code layouts differ).
    """
    if catalogue is None:
        raise ValueError(
            "generate() needs the item catalogue: pass `catalogue=` a CatalogueIndex or the [num_items, "
            "code_length] code table that travels with the tokenizer."
        )
    if not isinstance(catalogue, CatalogueIndex):
        catalogue = CatalogueIndex(catalogue, code_slot_sizes, num_category_levels)
    expected = (list(code_slot_sizes), int(num_category_levels))
    found = (list(catalogue.code_slot_sizes), catalogue.num_category_levels)
    if found != expected:
        raise ValueError(
            f"The catalogue's code layout (code_slot_sizes={found[0]}, num_category_levels={found[1]}) differs "
            f"from the model's (code_slot_sizes={expected[0]}, num_category_levels={expected[1]}): a "
            "model/tokenizer pair whose code layouts differ cannot decode."
        )
    return catalogue


def recommend(
    scorer: Callable,
    catalogue: "CatalogueIndex | torch.Tensor",
    num_users: int,
    generation_config: RecommendationGenerationConfig | None = None,
    excluded_items: Sequence[Sequence[int]] | None = None,
) -> RecommendationOutput:
    """Decode the top-K distinct catalogue items of ``num_users`` users with a canvas scorer.

    ``generate()`` calls this after building the model's scorer; it works with any object following
    the canvas-scorer contract (``docs/ARCHITECTURE.md``), e.g. hand-built scorers in tests.

    Args:
        scorer: ``(canvas [N, L], row_to_user [N]) -> fp32 log-probs [N, L, V]``, with attributes
            ``code_slot_sizes`` and ``num_category_levels``.
        catalogue: a :class:`CatalogueIndex` or a code table ``[I, L]`` (wrapped with the scorer's layout);
            decoding runs on the catalogue's device.
        num_users: B, the users the scorer knows (``row_to_user`` values ``0 .. B-1``).
        generation_config: decoding options (defaults: :class:`RecommendationGenerationConfig`).
        excluded_items: per user, item indices never to return (e.g. the history when
            ``exclude_history``); required when ``generation_config.exclude_history`` is set.
    Returns:
        :class:`RecommendationOutput` (``item_indices [B, K]``, ``scores [B, K]``, ``codes [B, K, L]``).
    """
    config = generation_config if generation_config is not None else RecommendationGenerationConfig()
    config.validate()
    index = as_catalogue_index(catalogue, scorer.code_slot_sizes, scorer.num_category_levels)
    if config.num_return_items > index.num_items:
        raise ValueError(
            f"`num_return_items` ({config.num_return_items}) is larger than the catalogue ({index.num_items} items)."
        )
    if config.exclude_history and excluded_items is None:
        raise ValueError(
            "`exclude_history` is set, so generate() needs each user's history item indices as `excluded_items` "
            "(a list of lists, one per user)."
        )
    excluded = index.exclusion_table(excluded_items, num_users)
    item_indices, scores, codes = collect_distinct_items(
        _strategy_decoder(config, scorer, index),
        index,
        excluded,
        config.num_return_items,
        config.decoding_strategy,
    )
    return RecommendationOutput(item_indices=item_indices, scores=scores, codes=codes)


class MindRecGenerationMixin:
    """``generate()`` for MindRec task models: top-K catalogue items per prompt (see module docstring).

    The model provides ``config.code_slot_sizes``, ``config.num_category_levels`` and
    ``build_canvas_scorer(input_ids, attention_mask=None, history_code_ids=None, history_cache="exact")``, and
    with a retrieval head also the keywords ``popularity_adjustment``, ``recency_adjustment`` and
    ``transition_adjustment``.
    """

    generation_config_class = RecommendationGenerationConfig
    #: The decoding strategies this model can score (a causal model: left-to-right only).
    decoding_strategies: tuple[str, ...] = DECODING_STRATEGIES

    def _prepare_recommendation_config(
        self, generation_config: RecommendationGenerationConfig | None, **kwargs
    ) -> RecommendationGenerationConfig:
        """Priority: ``kwargs`` > ``generation_config`` > ``self.generation_config`` > class defaults.

        A plain ``GenerationConfig`` is accepted when the options it sets (its difference from
        ``GenerationConfig()``) are all recommendation options, e.g. ``GenerationConfig(num_beams=5,
        num_return_items=5)``: they are laid over the model's config. Any text-generation option it sets
        (``do_sample``, ``top_k``, ...) raises a ValueError naming it.
        """
        plain: dict[str, Any] = {}
        if generation_config is not None and not isinstance(generation_config, RecommendationGenerationConfig):
            if not isinstance(generation_config, GenerationConfig):
                raise TypeError(
                    "`generation_config` must be a RecommendationGenerationConfig or a GenerationConfig, got "
                    f"{type(generation_config).__name__}."
                )
            plain = {
                key: value
                for key, value in generation_config.to_diff_dict().items()
                if key not in _METADATA_KEYS
            }
            generation_config = None
        base = generation_config
        if base is None:
            base = getattr(self, "generation_config", None)
            if not isinstance(base, RecommendationGenerationConfig):
                base = RecommendationGenerationConfig()
        config = copy.deepcopy(base)  # never modify the caller's or the model's config
        config.update(**{**plain, **kwargs})
        return config

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        catalogue: "CatalogueIndex | torch.Tensor | None" = None,
        generation_config: RecommendationGenerationConfig | None = None,
        excluded_items: Sequence[Sequence[int]] | None = None,
        **kwargs,
    ) -> RecommendationOutput:
        """Recommend the top-K distinct catalogue items for each prompt.

        Args:
            input_ids: ``[batch, seq]`` prompts from the MindRec tokenizer (canvas of ``[MASK]`` last).
            attention_mask: ``[batch, seq]``, left padding.
            history_code_ids: ``[batch, items, code_length]`` for the pooled history encoding.
            catalogue: :class:`CatalogueIndex` or the ``[num_items, code_length]`` code table; its layout
                must match ``self.config``.
            generation_config: :class:`RecommendationGenerationConfig` (or a plain ``GenerationConfig`` setting
                only its options); defaults to ``self.generation_config``.
            excluded_items: per user, item indices never to return. With ``exclude_history`` set, pass each
                user's history item indices here (required).
            kwargs: options of :class:`RecommendationGenerationConfig` overriding ``generation_config``
                (anything else raises a ValueError).
        Returns:
            :class:`RecommendationOutput` with ``item_indices [batch, K]``, ``scores [batch, K]``,
            ``codes [batch, K, code_length]``.
        """
        # 1. Options and catalogue, checked before any forward pass.
        config = self._prepare_recommendation_config(generation_config, **kwargs)
        if config.decoding_strategy not in self.decoding_strategies:
            allowed = self.decoding_strategies
            expected = repr(allowed[0]) if len(allowed) == 1 else f"one of {allowed}"
            raise ValueError(
                f"{type(self).__name__} decodes only with decoding_strategy={expected}; "
                f"got {config.decoding_strategy!r}."
            )
        if config.retrieval_weight and not getattr(self.config, "item_retrieval_head", False):
            raise ValueError(
                f"retrieval_weight={config.retrieval_weight} fuses a retrieval head this model does not have "
                "(`item_retrieval_head=False`); set retrieval_weight=0."
            )
        index = as_catalogue_index(catalogue, self.config.code_slot_sizes, self.config.num_category_levels)
        expected = getattr(self.config, "catalogue_sha256", None)
        if expected is not None and index.sha256 != expected:
            raise ValueError(
                "The catalogue passed to generate() is not the code table this model was saved with (its SHA-256 "
                f"{index.sha256[:12]}... differs from config.catalogue_sha256 {str(expected)[:12]}...): the "
                "item_codes.json next to the model was modified, shuffled or replaced."
            )
        index = index.to(input_ids.device)
        # 2. The scorer: prompt embeddings (and, optionally, the prompt cache) computed once.
        scorer_options: dict[str, Any] = {"history_cache": config.history_cache}
        for name in ADJUSTMENTS:
            if getattr(config, name):  # a model with a retrieval head (checked above); others never take them
                scorer_options[name] = float(getattr(config, name))
        for name in ("transition_decay", "transition_conditioning"):
            if getattr(config, name):
                scorer_options[name] = float(getattr(config, name))
        scorer = self.build_canvas_scorer(
            input_ids, attention_mask=attention_mask, history_code_ids=history_code_ids, **scorer_options
        )
        # 3. Search.
        return recommend(scorer, index, input_ids.shape[0], config, excluded_items)

    def adjust_generation_fn(
        self,
        generation_config,
        from_auto_class,
        from_pipeline,
        pretrained_model_name_or_path,
        cache_dir,
        force_download,
        proxies,
        local_files_only,
        token,
        revision,
        subfolder,
        trust_remote_code,
        **kwargs,
    ):
        """Called by ``from_pretrained``: load ``generation_config.json`` as a RecommendationGenerationConfig."""
        del trust_remote_code, kwargs  # model-loading kwargs are not generation options
        if generation_config is not None:
            self.generation_config = RecommendationGenerationConfig.from_dict(generation_config.to_dict())
        elif pretrained_model_name_or_path is not None:
            try:
                self.generation_config = RecommendationGenerationConfig.from_pretrained(
                    pretrained_model_name_or_path,
                    cache_dir=cache_dir,
                    force_download=force_download,
                    proxies=proxies,
                    local_files_only=local_files_only,
                    token=token,
                    revision=revision,
                    subfolder=subfolder,
                    _from_auto=from_auto_class,
                    _from_pipeline=from_pipeline,
                )
            except OSError:
                logger.info(
                    "No generation_config.json found; using the default RecommendationGenerationConfig."
                )


__all__ = [
    "DECODING_STRATEGIES",
    "MindRecGenerationMixin",
    "RecommendationGenerationConfig",
    "RecommendationOutput",
    "as_catalogue_index",
    "recommend",
]
