"""Named benchmark protocols: data, item codes, decoding settings and every model's training budget.

A protocol fixes everything a results table depends on except the seeds. Options are the fields of the
training package's argument dataclasses (``DataArguments``, ``CodeArguments``, ``ModelArguments``,
``TrainingArguments``, ``EvaluationArguments``) and, for SASRec, of ``SASRecConfig`` /
``SASRecTrainingArguments`` -- declared there once, set here by name.

A *plan* is one model trained once per seed; its *rows* are the table rows it produces (the MindRec
plan yields one row per decoder: the decoders reuse one trained model, only decoding differs).

Budgets. Each plan's training budget (epochs or steps, validation frequency and size) is part of the
protocol. ``beauty-mindrec`` budgets were chosen so that all models together finish within
``time_budget_minutes`` on the reference 2-core CPU; within a budget the checkpoint kept is the one
with the best validation NDCG@10.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FAMILIES = ("popularity", "sasrec", "tiger", "mindrec", "deftrec")
# The option groups of a plan that a command line may override (``SECTION.KEY=VALUE``).
PLAN_SECTIONS = ("model", "training", "codes", "evaluation")

# Weight of the retrieval head's item log-probs next to the generative score in the fused row.
FUSED_RETRIEVAL_WEIGHT = 100.0
# ... and the fused row's logit adjustment: the head's logits minus beta * log(1 + training count). On beauty-full
# validation (all 22,363 users, docs/experiments/README.md, "Eighth session") beta = 0 / 0.1 / 0.25 / 0.5 score
# NDCG@10 .0683 / .0684 / .0680 / .0652, a tie up to 0.25, while the targets with < 10 training interactions rise
# .0188 / .0202 / .0223 / .0265. Leave-one-out test targets are newer, hence colder, than validation's, so among
# tied settings the one that serves cold targets best is taken (0.25). The ninth session added the recency
# adjustment, the head's logits plus gamma * log(1 + how often the item is a user's newest training interaction):
# on the final models of two benchmark seeds, (beta, gamma) = (0.25, 0) / (0.25, 0.25) / (0.5, 0.5) / (0.75, 0.75)
# score validation NDCG@10 .0674 / .0689 / .0692 / .0685 (seed 1) and .0668 / .0682 / .0685 / .0686 (seed 2), and
# beta != gamma less. Together they credit an item with 0.5 * log((1 + recent count) / (1 + count)): its trend.
FUSED_POPULARITY_ADJUSTMENT = 0.5
FUSED_RECENCY_ADJUSTMENT = 0.5
# ... and the transition adjustment (eleventh session): the head's logits plus lambda * log(1 + how often the item
# directly followed the user's last history item in the training sequences), and decay**k times the same for the
# item k places earlier. It recovers the item-to-item regularities a single dense query blurs (where the last item's
# successor was seen in training, SASRec's top-1 was right 2.8x as often as MindRec's on cold validation targets).
# On the final models of the three benchmark seeds (all 22,363 validation users) NDCG@10 rose from .0717 / .0702 /
# .0721 (none) to .0764 / .0764 / .0761 (lambda 1, last item only), .0771 / .0774 / .0767 (lambda 1, decay 0.5),
# .0774 / .0777 / .0777 (lambda 1.5, decay 0.5) and .0774 / .0779 / .0776 (lambda 2, decay 0.5); SASRec's validation
# (seed 0) peaks at lambda 1.5 (.0706 none, .0748 / .0749 / .0745 at lambda 1 / 1.5 / 2 with decay 0.5; decay 0.3:
# .0741).
SASREC_TRANSITION_ADJUSTMENT = 1.5
FUSED_TRANSITION_DECAY = 0.5
# ... with each count scaled by (mean successor count / the history item's)**0.5 first (thirteenth session): a pair
# after an item with few successors weighs more than the same count after a hub. On all validation users of the three
# beauty-full benchmark models NDCG@10 / HR@1 .0784 / .0400, .0777 / .0393, .0783 / .0405 with lambda 1.5 and raw
# counts against .0791 / .0406, .0783 / .0393, .0791 / .0412 with lambda 2 and p 0.5 (p 0.75 and p 1 lower); neutral on
# beauty-mindrec's validation (.0235 / .0102 against .0237 / .0102 on average). SASRec's validation prefers the raw
# counts (seed 0: .0749 against .0745), so its plans keep lambda 1.5 without it.
FUSED_TRANSITION_ADJUSTMENT = 2.0
FUSED_TRANSITION_CONDITIONING = 0.5
# ... and the counts take the items later in a training sequence too, d places after h weighing 0.5**(d-1)
# (fourteenth session): on all validation users of the three beauty-full benchmark models NDCG@10 / HR@1 .0787 / .0399,
# .0787 / .0394, .0787 / .0403 with direct successors only against .0794 / .0403, .0797 / .0404, .0797 / .0406 with
# the pairs two apart at weight 0.5 (three apart at 0.25 on top: the same); the pairs the other way round (the item
# before h) lowered it.
FUSED_TRANSITION_GAP_DECAY = 0.5
# SASRec's validation (seed 0, all users) takes the same counts with a slower decay: NDCG@10 / HR@1 .0749 / .0395 with
# direct successors only, .0759 / .0393 at 0.5, .0766 / .0396 at 0.75, .0763 / .0389 at 0.9 (MindRec seed 0: .0795,
# .0793 and .0786 at 0.5, 0.75 and 0.9).
SASREC_TRANSITION_GAP_DECAY = 0.75
# beauty-mindrec's histories are shorter (<= 10) and its counts come from 5,000 users: there both models' validation
# (all 5,000 users, three seeds each, fifteenth session) prefers a slower decay, 0.9. MindRec's fused row (its gap-0.5
# benchmark models): NDCG@10 .0241 / .0255 / .0245 at 0.5, .0242 / .0257 / .0248 at 0.75, .0248 / .0256 / .0248 at 0.9;
# SASRec (its plan retrained per seed): .0256 / .0251 / .0248 at 0.75, .0261 / .0260 / .0255 at 0.9.
BEAUTY_MINDREC_TRANSITION_GAP_DECAY = 0.9
# beauty-full's fused row weighs the generative score more for rarely seen items (fifteenth session): an item with n
# training interactions counts its generative score 1 + 20 / (1 + n) times around the catalogue mean. On all validation
# users of the three beauty-full benchmark models NDCG@10 / HR@1 .0795 / .0402, .0799 / .0402, .0800 / .0406 without it
# against .0799 / .0403, .0803 / .0404, .0804 / .0410 at 20 (cold targets' NDCG@10 +14%); 30 the same, 40 lower, 60 far
# lower. beauty-mindrec's validation declines it (.0241 -> .0228 at 15 on seed 0: the generative head there ranks
# below popularity), so it stays 0 there and in the fused decoder's defaults.
FUSED_RARE_ITEM_GENERATIVE_WEIGHT = 20.0
# Both models' scores are credited with mu / log(2 + brand size) for the items of the brands in the user's history
# (seventeenth session): users buy again from brands they bought from, and most brands are small. On all validation
# users of beauty-full (seed 0) MindRec's fused NDCG@10 / HR@1 go from .0799 / .0407 to .0827 / .0420, .0839 / .0423,
# .0841 / .0418 and .0828 / .0407 at mu 2 / 4 / 6 / 8, SASRec's (lambda 1.5) from .0779 / .0411 to .0803 / .0418,
# .0823 / .0430 and .0830 / .0428 at mu 2 / 4 / 6.
BRAND_ADJUSTMENT = 6.0
# Both models then choose their shared credits on validation after training (the same grid for each; MindRec also
# its rare-item weight), on the validation users that selected their checkpoints: neither is compared at constants
# tuned for the other, and a dataset the protocols were not tuned on gets its own values (the search goes on past the end
# of a list while validation improves: beauty-mindrec's brand credit chose 8, the end, for every model and seed).
_SHARED_DECODING_GRID = (
    "brand_adjustment=0,2,4,6,8",
    "transition_adjustment=1,1.5,2,3",
)
# ... then (twentieth session) beta and gamma, the popularity and recency adjustments both models have at inference,
# whose best values depend on the data's size: on all validation users, from each run's other choices, MindRec keeps
# 0.5 / 0.5 on beauty-full in two seeds of three (seed 1: beta 0.25, .0846 against .0845), while on beauty-mindrec its
# three seeds choose beta 0 / 0.25 / 0 (.0363 / .0360 / .0371 against .0359 / .0360 / .0356 at 0.5).
_POPULARITY_DECODING_GRID = ("popularity_adjustment=0.25,0.5,0.75", "recency_adjustment=0.25,0.5,0.75")
# MindRec's fused decoder also weighs its generative score for rare items, which SASRec has not.
FUSED_DECODING_GRID = (*_SHARED_DECODING_GRID, "rare_item_generative_weight=0,10,20,30", *_POPULARITY_DECODING_GRID)
SASREC_DECODING_GRID = (*_SHARED_DECODING_GRID, *_POPULARITY_DECODING_GRID)
# Decoder rows of a MindRec plan: row-name suffix -> its decoding options (``EvaluationArguments`` fields).
# Each row names its retrieval weight and the head's adjustments, so that a plan validating with the fused
# decoder leaves the generative rows generative.
_GENERATIVE_ONLY = {
    "retrieval_weight": 0.0,
    "popularity_adjustment": 0.0,
    "recency_adjustment": 0.0,
    "transition_adjustment": 0.0,
    "transition_decay": 0.0,
    "transition_conditioning": 0.0,
    "transition_gap_decay": 0.0,
    "brand_adjustment": 0.0,
    "rare_item_generative_weight": 0.0,
}
MINDREC_DECODERS = {
    "dbs": {"strategy": "diffusion_beam_search", **_GENERATIVE_ONLY},
    "cpd": {"strategy": "parallel_denoising", **_GENERATIVE_ONLY},
    "greedy": {"strategy": "low_confidence", **_GENERATIVE_ONLY},
    "l2r": {"strategy": "left_to_right", **_GENERATIVE_ONLY},
    "onepass": {"strategy": "catalogue_scoring", **_GENERATIVE_ONLY},
    # One-pass scores fused with the dense retrieval head's (needs model.item_retrieval_head). The weight was
    # chosen on beauty-full validation (docs/experiments/README.md): NDCG@10 rises from .0369 (generative
    # alone) through .0497 (weight 1) and .0583 (4) to .0626-.0631 for weights 16-1,000, the head's own
    # ranking with the generative score as a tie-break.
    "fused": {
        "strategy": "catalogue_scoring",
        "retrieval_weight": FUSED_RETRIEVAL_WEIGHT,
        "popularity_adjustment": FUSED_POPULARITY_ADJUSTMENT,
        "recency_adjustment": FUSED_RECENCY_ADJUSTMENT,
        "transition_adjustment": FUSED_TRANSITION_ADJUSTMENT,
        "transition_decay": FUSED_TRANSITION_DECAY,
        "transition_conditioning": FUSED_TRANSITION_CONDITIONING,
        "transition_gap_decay": FUSED_TRANSITION_GAP_DECAY,
        "brand_adjustment": BRAND_ADJUSTMENT,
        "rare_item_generative_weight": 0.0,
    },
}


@dataclass(frozen=True)
class ModelPlan:
    """One model trained once per seed, and the table rows it yields.

    Attributes:
        family: ``"popularity"``, ``"sasrec"``, ``"tiger"``, ``"mindrec"`` or ``"deftrec"``.
        rows: table row name -> ``EvaluationArguments`` overrides of the test decoding of that row.
        model: ``ModelArguments`` overrides (``SASRecConfig`` fields for SASRec). For DeftRec,
            ``deftrec_item_vectors="sasrec"`` diffuses over the item embeddings of the SASRec trained
            earlier in the same run and seed (DESIGN §6: collaborative vectors).
        training: ``TrainingArguments`` overrides (``SASRecTrainingArguments`` fields for SASRec): the budget.
        codes: ``CodeArguments`` overrides of the protocol's code settings (e.g. no category levels).
        evaluation: ``EvaluationArguments`` overrides for validation and test (e.g. the history cache).
    """

    family: str
    rows: Mapping[str, Mapping[str, Any]]
    model: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    codes: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; expected one of {list(FAMILIES)}")
        if not self.rows:
            raise ValueError(f"a {self.family} plan needs at least one row")

    def with_settings(self, settings: Sequence[tuple[str, str, Any]]) -> ModelPlan:
        """A copy with each ``(section, key, value)`` set, e.g. ``("training", "num_epochs", 40)``.

        Raises:
            ValueError: a section outside :data:`PLAN_SECTIONS`.
        """
        sections = {section: dict(getattr(self, section)) for section in PLAN_SECTIONS}
        for section, key, value in settings:
            if section not in sections:
                raise ValueError(f"unknown plan section {section!r}; choose from {list(PLAN_SECTIONS)}")
            sections[section][key] = value
        return dataclasses.replace(self, **sections)


@dataclass(frozen=True)
class BenchmarkProtocol:
    """A named, fully specified benchmark.

    Attributes:
        name: the protocol name (file stem of its results).
        description: one paragraph for the results page.
        data_path: dataset location relative to the repository root (``None``: the synthetic generator).
        data: ``DataArguments`` fields (``max_users``, ``max_history``, synthetic sizes ...).
        codes: ``CodeArguments`` fields shared by the plans.
        evaluation: ``EvaluationArguments`` fields shared by the plans (beam, K, validation users ...).
        plans: plan name -> :class:`ModelPlan`.
        default_rows: the rows run when no ``--models`` are given, in table order.
        time_budget_minutes: wall-clock budget of all default rows for one seed on the reference machine
            (``beauty-mindrec``: 30, so that its three seeds fit in 90 minutes).
        smoke_test: a protocol that checks the pipeline rather than measures methods; the README section
            skips its results (see :func:`~mindrec.benchmark.readme.latest_result_file`).
    """

    name: str
    description: str
    data_path: str | None
    data: Mapping[str, Any]
    codes: Mapping[str, Any]
    evaluation: Mapping[str, Any]
    plans: Mapping[str, ModelPlan]
    default_rows: tuple[str, ...]
    time_budget_minutes: float | None = None
    smoke_test: bool = False

    def __post_init__(self):
        owners: dict[str, str] = {}
        for plan_name, plan in self.plans.items():
            for row in plan.rows:
                if row in owners:
                    raise ValueError(f"protocol {self.name!r}: row {row!r} belongs to plans {owners[row]!r} and {plan_name!r}")
                owners[row] = plan_name
        unknown = [row for row in self.default_rows if row not in owners]
        if unknown:
            raise ValueError(f"protocol {self.name!r}: default rows {unknown} belong to no plan")

    @property
    def rows(self) -> dict[str, str]:
        """Every row the protocol can produce -> its plan name, in plan order."""
        return {row: plan_name for plan_name, plan in self.plans.items() for row in plan.rows}

    def plans_for(self, rows: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
        """Plan name -> the requested rows it produces, in plan order (each plan is trained once).

        Raises:
            ValueError: an unknown row name (the valid names are listed).
        """
        owners = self.rows
        unknown = [row for row in rows if row not in owners]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown} for protocol {self.name!r}; choose from {list(owners)}")
        chosen: dict[str, list[str]] = {}
        for plan_name, plan in self.plans.items():
            selected = [row for row in plan.rows if row in rows]
            headless = [row for row in selected if plan.rows[row].get("retrieval_weight")]
            if headless and not plan.model.get("item_retrieval_head"):
                raise ValueError(
                    f"row(s) {headless} fuse the retrieval head, which plan {plan_name!r} does not train: set "
                    f"{plan_name}.model.item_retrieval_head=true (--set) or leave the row(s) out."
                )
            if selected:
                chosen[plan_name] = selected
        return chosen

    def to_json(self) -> dict[str, Any]:
        """The protocol as JSON-ready data (recorded in every result set)."""
        return json_ready(dataclasses.asdict(self))

    def with_plan_settings(self, settings: Sequence[tuple[str, str, str, Any]]) -> BenchmarkProtocol:
        """A copy with each ``(plan, section, key, value)`` set in that plan (``--set`` of the benchmark).

        Raises:
            ValueError: an unknown plan name (the names are listed) or section.
        """
        unknown = sorted({plan for plan, *_ in settings if plan not in self.plans})
        if unknown:
            raise ValueError(f"unknown plan(s) {unknown} for protocol {self.name!r}; choose from {list(self.plans)}")
        plans = {
            name: plan.with_settings([setting[1:] for setting in settings if setting[0] == name])
            for name, plan in self.plans.items()
        }
        return dataclasses.replace(self, plans=plans)

    def with_overrides(self, data: Mapping[str, Any] | None = None, **plan_training: Any) -> BenchmarkProtocol:
        """A copy with ``data`` fields and the given training fields of *every* trainable plan replaced.

        For smoke tests and scaled-down runs, e.g. ``protocol.with_overrides(max_steps=2)``. SASRec's
        training fields differ: ``sasrec_<field>=value`` sets a SASRec field (``sasrec_num_epochs=1``).
        """
        plans = {}
        for name, plan in self.plans.items():
            if plan.family == "popularity":
                plans[name] = plan
                continue
            prefix = "sasrec_"
            if plan.family == "sasrec":
                updates = {key[len(prefix) :]: value for key, value in plan_training.items() if key.startswith(prefix)}
            else:
                updates = {key: value for key, value in plan_training.items() if not key.startswith(prefix)}
            plans[name] = dataclasses.replace(plan, training={**plan.training, **updates})
        return dataclasses.replace(self, data={**self.data, **(data or {})}, plans=plans)


def json_ready(obj: Any) -> Any:
    """Mappings -> dicts, tuples -> lists, recursively (so a protocol compares equal to its JSON)."""
    if isinstance(obj, Mapping):
        return {str(key): json_ready(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(value) for value in obj]
    return obj


def _mindrec_rows(prefix: str, decoders: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {f"{prefix}-{name}": dict(MINDREC_DECODERS[name]) for name in decoders}


ALL_DECODERS = tuple(MINDREC_DECODERS)
# The decoders any MindRec model can run (the fused row also needs the retrieval head).
GENERATIVE_DECODERS = tuple(name for name, options in MINDREC_DECODERS.items() if not options.get("retrieval_weight"))


def _default_rows(mindrec_decoders: tuple[str, ...]) -> tuple[str, ...]:
    """Every model's row, with one MindRec row per decoder in ``mindrec_decoders``, in table order."""
    return (
        "popularity",
        "sasrec",
        "tiger",
        *(f"mindrec-{name}" for name in mindrec_decoders),
        "mindrec-sid",
        "mindrec-ocn",
        "deftrec",
    )


DEFAULT_ROWS = _default_rows(GENERATIVE_DECODERS)

# The small backbone every generative model shares (DESIGN §3 (b) scale, cut to the CPU budget).
_SMALL_BACKBONE = {
    "history_encoding": "pooled",
    "hidden_size": 128,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}

# MindRec's training design, chosen on beauty-full validation (docs/experiments/README.md): the history
# attends only to itself (causally), so one encoding of it serves several masked canvases per row in one
# pass -- three states of the coarse-to-fine decoding path and one random mask -- and the decoding prompt
# cache is exact. At 514 steps it more than doubles validation NDCG@10 over one random mask per row.
_MINDREC_DESIGN = {
    **_SMALL_BACKBONE,
    "prompt_attends_canvas": False,
    "causal_prompt": True,
    "num_random_views": 1,
    "num_path_views": 3,
    # A learned embedding of each history item next to its pooled code embedding (the output stays the
    # item's code): +34% validation NDCG@10 at 1,028 steps with OPQ codes.
    "history_item_embeddings": True,
}


# DeftRec's design, chosen on beauty-full validation (docs/experiments/README.md, "DeftRec: why it ranked like
# popularity, and the fix"): the denoiser predicts x_0, generate retrieves with its posterior-mean estimate (one
# deterministic call; no DDPM steps) by cosine about the catalogue mean. The published design (epsilon, one DDPM
# sample, inner product) scored NDCG@10 .004-.007 (popularity .0058) at 200-750 steps; this one .040 at 600 steps
# (plain cosine .031, inner product .020).
_DEFTREC_DESIGN = {
    "deftrec_item_vectors": "sasrec",
    "deftrec_prediction_type": "sample",
    "deftrec_sampler": "posterior_mean",
    "deftrec_retrieval": "centered_cosine",
}


# The TIGER-style control of the Beauty protocols: the same backbone, and the per-item history embeddings
# MindRec uses, since they help it too on beauty-full validation (+5% NDCG@10 at 1,028 steps).
_TIGER_DESIGN = {**_SMALL_BACKBONE, "history_item_embeddings": True}

# beauty-full's MindRec adds the dense retrieval head (MaskGR's hybrid): at 1,028 steps its fused row reaches
# validation NDCG@10 .0631 against .0402 for the generative design without it (docs/experiments/README.md).
# Its cross-entropy weighs a quarter of the diffusion loss (at weight 1 it took the backbone from the generative
# head: one-pass .0369 against .0426 at 0.25, fused equal), and it is also trained at every history item on the
# next item (SASRec's all-positions objective): fused .0586 against .0507 at 514 steps, .0665 against .0639 at
# 1,028, with the generative head unchanged (one-pass .0427).
_MINDREC_HYBRID_DESIGN = {
    **_MINDREC_DESIGN,
    "item_retrieval_head": True,
    "retrieval_loss_weight": 0.25,
    "history_retrieval_loss_weight": 0.25,
    # SASRec's regulariser, at a tenth (hidden and attention): fused .0687 against .0665 without dropout at
    # 1,028 steps (HR@1 .0330 against .0275); 0.2 gave .0657. It slows the first epoch and wins from the second.
    "hidden_dropout": 0.1,
    "attention_dropout": 0.1,
}
# beauty-full's MindRec validates and keeps an exponential moving average of its weights: on all 22,363
# validation users the fused row scores .0495 / .0608 / .0664 / .0683 at 257 / 514 / 771 / 1,028 steps against
# .0443 / .0550 / .0573 / .0667 for the raw weights of the same run (HR@1 .0319 against .0314 at the end). Under
# the constant learning rate the average is worth +16% mid-run; after the final decay, +2.4% (the "ema_decay"
# of mindrec_training below).
# ... and trains its retrieval head with a fixed bias log(1 + training count) on the logits (logit adjustment in the
# loss; decoding keeps the bias, so the adjustments below keep their meaning): on all 22,363 validation users,
# decoded with beta = gamma = 0.5, .0710 at 1,028 steps against .0693 for the same seed without it (HR@1 .0330
# against .0321, cold targets .0220 against .0210); tau 0.5 gave .0697.
_MINDREC_FULL_DESIGN = {**_MINDREC_HYBRID_DESIGN, "retrieval_popularity_prior": 1.0}
# ... and selects its checkpoints with the fused row's own decoder (one definition per protocol, passed to its plans'
# fused row and to their validation, so the two cannot drift apart).
_BEAUTY_FULL_FUSED = {**MINDREC_DECODERS["fused"], "rare_item_generative_weight": FUSED_RARE_ITEM_GENERATIVE_WEIGHT}
_BEAUTY_MINDREC_FUSED = {**MINDREC_DECODERS["fused"], "transition_gap_decay": BEAUTY_MINDREC_TRANSITION_GAP_DECAY}


def _plans(
    mindrec_model: Mapping[str, Any],
    mindrec_training: Mapping[str, Any],
    tiger_training: Mapping[str, Any],
    ocn_training: Mapping[str, Any],
    deftrec_training: Mapping[str, Any],
    sasrec_training: Mapping[str, Any],
    sasrec_model: Mapping[str, Any],
    deftrec_model: Mapping[str, Any],
    diffusion_evaluation: Mapping[str, Any],
    mindrec_codes: Mapping[str, Any] | None = None,
    tiger_model: Mapping[str, Any] = _SMALL_BACKBONE,
    mindrec_fused: Mapping[str, Any] = MINDREC_DECODERS["fused"],
    sasrec_evaluation: Mapping[str, Any] | None = None,
) -> dict[str, ModelPlan]:
    """The same set of plans for every protocol; only budgets and settings differ. ``mindrec_codes``
    overrides the protocol's code settings for the MindRec plans (TIGER and DeftRec keep the protocol's);
    ``mindrec_fused`` is the decoding of the ``mindrec-fused`` row (the protocol's validated options) and
    ``sasrec_evaluation`` SASRec's evaluation overrides (its ``decoding_grid``)."""
    mindrec_codes = dict(mindrec_codes or {})
    mindrec_rows = {**_mindrec_rows("mindrec", ALL_DECODERS), "mindrec-fused": dict(mindrec_fused)}
    return {
        "popularity": ModelPlan("popularity", rows={"popularity": {}}),
        "sasrec": ModelPlan(
            "sasrec", rows={"sasrec": {}}, model=sasrec_model, training=sasrec_training,
            evaluation=dict(sasrec_evaluation or {}),
        ),
        "tiger": ModelPlan(
            "tiger",
            rows={"tiger": {"strategy": "left_to_right"}},
            model=tiger_model,
            training=tiger_training,
            # Causal attention makes the prompt cache exact for the autoregressive model.
            evaluation={"strategy": "left_to_right", "history_cache": "prompt_cache"},
        ),
        "mindrec": ModelPlan(
            "mindrec",
            rows=mindrec_rows,
            model=mindrec_model,
            training=mindrec_training,
            codes=mindrec_codes,
            evaluation=diffusion_evaluation,
        ),
        "mindrec-sid": ModelPlan(
            "mindrec",
            rows={"mindrec-sid": dict(MINDREC_DECODERS["dbs"])},
            model=mindrec_model,
            training=mindrec_training,
            codes={**mindrec_codes, "num_category_levels": 0},
            evaluation=diffusion_evaluation,
        ),
        "mindrec-ocn": ModelPlan(
            "mindrec",
            rows={"mindrec-ocn": dict(MINDREC_DECODERS["dbs"])},
            model=mindrec_model,
            training={**mindrec_training, **ocn_training, "ocn": True},
            codes=mindrec_codes,
            evaluation=diffusion_evaluation,
        ),
        "deftrec": ModelPlan(
            "deftrec",
            rows={"deftrec": {}},
            model={**_SMALL_BACKBONE, **deftrec_model},
            training=deftrec_training,
        ),
    }


# The fused MindRec plans select checkpoints and decoding options on at most this many validation users: every one of
# full Beauty's 22,363 (on 2,000, NDCG@10's standard error, ~.004, exceeds the differences chosen between), and a fixed
# random 25,000 of a larger dataset, as the shipped configs do.
SELECTION_MAX_USERS = 25_000


def _evaluation(validation_max_users: int, eval_batch_size: int, exclude_history: bool) -> dict[str, Any]:
    """The protocols' shared evaluation: beam 10, top-10 lists, HR/NDCG at 1, 3, 5, 10."""
    return {
        "num_beams": 10,
        "num_return_items": 10,
        "eval_ks": [1, 3, 5, 10],
        "validation_max_users": validation_max_users,
        "eval_batch_size": eval_batch_size,
        "exclude_history": exclude_history,
    }


# Beauty's item codes: 3 category levels + 4 RQ-k-means digits over item text mixed half and half with
# training co-occurrence vectors (collaborative codes helped both generative models on validation).
_BEAUTY_CODES = {
    "num_category_levels": 3,
    "num_sid_digits": 4,
    "codebook_size": 256,
    "quantizer": "rq-kmeans",
    "collaborative_weight": 0.5,
}

# MindRec's semantic IDs: product-quantised (OPQ) digits, each a code of its own subspace, so any digit can
# be decoded first (DiffGRM's parallel semantic encoding). On beauty-full validation they lift MindRec's
# NDCG@10 by a quarter to a half over residual (RQ) digits at equal steps and leave TIGER's unchanged
# (residual digits suit left-to-right decoding); docs/experiments/README.md.
_MINDREC_CODES = {"quantizer": "opq"}

_COMMON_TRAINING = {"lr_schedule": "mindrec", "warmup_steps": 20, "weight_decay": 0.01, "logging_steps": 50}

SYNTHETIC_SMALL = BenchmarkProtocol(
    name="synthetic-small",
    description=(
        "Smoke-test protocol on the built-in synthetic catalogue (planted category structure and item "
        "transitions): 600 users, 300 items, history <= 10, leave-one-out, full ranking, beam 10. "
        "Minutes on a CPU; checks that every model trains, decodes and beats popularity."
    ),
    data_path=None,
    data={"synthetic_num_users": 600, "synthetic_num_items": 300, "synthetic_seed": 0, "max_history": 10},
    codes={"num_category_levels": 3, "num_sid_digits": 3, "codebook_size": 16, "quantizer": "rq-kmeans"},
    evaluation=_evaluation(validation_max_users=200, eval_batch_size=200, exclude_history=False),
    plans=_plans(
        mindrec_model=_SMALL_BACKBONE,
        mindrec_training={**_COMMON_TRAINING, "learning_rate": 3e-3, "train_batch_size": 128, "num_epochs": 8, "mask_eps": 0.4},
        tiger_training={**_COMMON_TRAINING, "learning_rate": 3e-3, "train_batch_size": 128, "num_epochs": 8},
        ocn_training={"train_batch_size": 32, "num_epochs": 4},
        deftrec_training={**_COMMON_TRAINING, "learning_rate": 3e-3, "train_batch_size": 128, "num_epochs": 8},
        sasrec_training={"num_epochs": 40, "patience": 5, "train_batch_size": 128},
        sasrec_model={"hidden_size": 64, "max_history": 10},
        deftrec_model=_DEFTREC_DESIGN,
        diffusion_evaluation={"history_cache": "exact"},
    ),
    default_rows=DEFAULT_ROWS,
    time_budget_minutes=20,
    smoke_test=True,
)

BEAUTY_MINDREC = BenchmarkProtocol(
    name="beauty-mindrec",
    description=(
        "MindRec's protocol applied to Amazon Beauty 2014 (5-core): the first 5,000 users, history <= 10, "
        "leave-one-out, exact-item full ranking over all 12,101 items, beam 10; every model excludes the "
        "user's history items (no train or validation target of this 5-core data repeats one). Every model's training "
        "budget is fixed so that all models and three seeds together finish within 90 minutes on a 2-core CPU; the "
        "checkpoint kept is the one with the best validation NDCG@10 (TIGER's on a fixed 500-user subset, MindRec's and "
        "SASRec's on all 5,000 users, where each then chooses its decoding credits). "
        "On this subset ID-based models have little data (DESIGN §9): read it next to beauty-full."
    ),
    data_path="../shared/data/amazon_beauty_2014",
    data={"max_users": 5000, "max_history": 10},
    codes=_BEAUTY_CODES,
    evaluation=_evaluation(validation_max_users=500, eval_batch_size=250, exclude_history=True),
    plans=_plans(
        # The design validated on beauty-full, retrieval head included, with brand embeddings (eighteenth session): on
        # all 5,000 validation users, after each run's decoding search, NDCG@10 .0359 / .0360 / .0356 against .0348 /
        # .0365 / .0329 without them (seeds 0-2; on beauty-full's seed 0 .0851 against .0847, level, so not there).
        mindrec_model={**_MINDREC_HYBRID_DESIGN, "brand_embeddings": True},
        # 4 epochs (620 steps) per generative model: three seeds of every model fit in 90 minutes.
        mindrec_training={**_COMMON_TRAINING, "learning_rate": 3e-3, "train_batch_size": 256, "num_epochs": 4, "mask_eps": 0.4},
        tiger_training={**_COMMON_TRAINING, "learning_rate": 3e-3, "train_batch_size": 256, "num_epochs": 4},
        # An OCN row costs ~8x per training row (its on-policy views): 400 steps of 64 rows match the
        # plain model's training seconds, so the ablation compares equal compute, not equal data.
        ocn_training={"train_batch_size": 64, "max_steps": 400, "eval_steps": 100},
        deftrec_training={**_COMMON_TRAINING, "learning_rate": 3e-3, "train_batch_size": 256, "num_epochs": 4},
        sasrec_training={"num_epochs": 30, "patience": 3, "train_batch_size": 256, "max_train_minutes": 5.0},
        # The baseline gets what MindRec's fused row gets, as on beauty-full: its validation prefers the popularity
        # prior and the transition credit here too (seed 0, 5,000 users: NDCG@10 .0205 with neither, .0235 with the
        # prior, .0245 with both; docs/experiments/beauty-mindrec-sasrec-credit/).
        sasrec_model={
            "hidden_size": 64,
            "max_history": 10,
            "popularity_prior": 1.0,
            "transition_adjustment": SASREC_TRANSITION_ADJUSTMENT,
            "transition_decay": FUSED_TRANSITION_DECAY,
            "transition_gap_decay": BEAUTY_MINDREC_TRANSITION_GAP_DECAY,
            "brand_adjustment": BRAND_ADJUSTMENT,
        },
        sasrec_evaluation={"decoding_grid": list(SASREC_DECODING_GRID)},
        deftrec_model=_DEFTREC_DESIGN,
        # Exact here too (the history is isolated from the canvas); checkpoints are selected with the fused decoder on
        # all 5,000 validation users (under ten seconds), as SASRec's are, and its decoding grid searched on them.
        diffusion_evaluation={
            "history_cache": "prompt_cache",
            **_BEAUTY_MINDREC_FUSED,
            "validation_max_users": SELECTION_MAX_USERS,
            "decoding_grid": list(FUSED_DECODING_GRID),
        },
        mindrec_codes=_MINDREC_CODES,
        tiger_model=_TIGER_DESIGN,
        mindrec_fused=_BEAUTY_MINDREC_FUSED,
    ),
    default_rows=_default_rows(ALL_DECODERS),  # its MindRec trains the head, so the fused row runs too
    time_budget_minutes=30,
)

# beauty-full's generative budget: up to 8 epochs, validated every half epoch, stopped after 4 validations
# without a new best. The rows it runs by default fit a few hours of the 2-core CPU.
_FULL_GENERATIVE_BUDGET = {
    **_COMMON_TRAINING,
    "learning_rate": 2e-3,
    "train_batch_size": 256,
    "num_epochs": 8,
    "evals_per_epoch": 2,  # 257 steps on Beauty
    "early_stopping_patience": 4,
}

BEAUTY_FULL = BenchmarkProtocol(
    name="beauty-full",
    description=(
        "Full Amazon Beauty 2014 (5-core): all 22,363 users, history <= 20, leave-one-out, exact-item full "
        "ranking over 12,101 items, beam 10, history items excluded. Item codes: 3 category levels + 4 "
        "semantic-ID digits over TF-IDF+SVD text mixed half and half with training co-occurrence vectors (RQ-k-means "
        "for TIGER, OPQ for MindRec). MindRec also trains a dense retrieval head, at its fully masked canvas and at "
        "every history item, with the items' training popularity as a fixed bias on its logits (the mindrec-fused "
        "row ranks by it, with the generative score as a tie-break, and credits each item with how often it followed "
        "the user's last history items in the training sequences and with the items of the brands in the user's history; "
        "its validation, on all users as SASRec's, selects MindRec's checkpoints, read from an exponential moving "
        "average of its weights, and then chooses those credits and the generative score's weight for rare items); the "
        "other MindRec rows decode the same model's generative head alone; SASRec's logits get the same popularity "
        "bias, transition and brand credits, chosen on its validation the same way. TIGER trains up to 8 epochs with early stopping on validation NDCG@10 (2,000 users, every "
        "half epoch, patience 4), MindRec the same on all users. On the 2-core CPU (one thread per step) a TIGER "
        "step takes ~0.6 s and a "
        "MindRec step (5 packed views) ~1.5 s, so the default rows take about 3-5 hours; `--max-steps` "
        "runs a scaled-down version."
    ),
    data_path="../shared/data/amazon_beauty_2014",
    data={"max_users": None, "max_history": 20},
    codes=_BEAUTY_CODES,
    evaluation=_evaluation(validation_max_users=2000, eval_batch_size=500, exclude_history=True),
    plans=_plans(
        mindrec_model=_MINDREC_FULL_DESIGN,
        mindrec_training={**_FULL_GENERATIVE_BUDGET, "mask_eps": 0.4, "ema_decay": 0.997},
        tiger_training=_FULL_GENERATIVE_BUDGET,
        ocn_training={"train_batch_size": 64, "num_epochs": 5},
        deftrec_training={**_COMMON_TRAINING, "learning_rate": 2e-3, "train_batch_size": 256, "num_epochs": 20},
        sasrec_training={"num_epochs": 200, "patience": 10, "train_batch_size": 256},
        # The baseline gets MindRec's popularity prior too: its validation prefers it (seed 0, all users: .0706
        # against .0692 without it; test .0560 +- .0005 against .0547 +- .0011, 3 seeds). DeftRec diffuses over this
        # row's item vectors; its table row was measured over vectors trained without the prior. Its scores get
        # MindRec's transition credit too, which its validation prefers (see SASREC_TRANSITION_ADJUSTMENT).
        sasrec_model={
            "hidden_size": 100,
            "max_history": 50,
            "popularity_prior": 1.0,
            "transition_adjustment": SASREC_TRANSITION_ADJUSTMENT,
            "transition_decay": FUSED_TRANSITION_DECAY,
            "transition_gap_decay": SASREC_TRANSITION_GAP_DECAY,
            "brand_adjustment": BRAND_ADJUSTMENT,
        },
        sasrec_evaluation={"decoding_grid": list(SASREC_DECODING_GRID)},
        deftrec_model=_DEFTREC_DESIGN,
        # Exact here: with the history isolated from the canvas the prompt cache changes no score. The fused
        # decoder validates every user in well under a minute, so MindRec selects its checkpoints on all of them,
        # as SASRec does (a 2,000-user subset has a standard error of ~.004 on NDCG@10, 6% of the value).
        diffusion_evaluation={
            "history_cache": "prompt_cache",
            **_BEAUTY_FULL_FUSED,
            "validation_max_users": SELECTION_MAX_USERS,
            "decoding_grid": list(FUSED_DECODING_GRID),
        },
        mindrec_codes=_MINDREC_CODES,
        tiger_model=_TIGER_DESIGN,
        mindrec_fused=_BEAUTY_FULL_FUSED,
    ),
    default_rows=(
        "popularity", "sasrec", "tiger", "mindrec-dbs", "mindrec-cpd", "mindrec-l2r", "mindrec-onepass",
        "mindrec-fused", "deftrec",
    ),
    time_budget_minutes=300,
)

PROTOCOLS: dict[str, BenchmarkProtocol] = {
    protocol.name: protocol for protocol in (SYNTHETIC_SMALL, BEAUTY_MINDREC, BEAUTY_FULL)
}


def get_protocol(name: str) -> BenchmarkProtocol:
    """The named protocol (``ValueError`` listing the names when unknown)."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose from {list(PROTOCOLS)}")
    return PROTOCOLS[name]


__all__ = [
    "ALL_DECODERS",
    "BEAUTY_FULL",
    "BEAUTY_MINDREC",
    "BenchmarkProtocol",
    "DEFAULT_ROWS",
    "FAMILIES",
    "GENERATIVE_DECODERS",
    "MINDREC_DECODERS",
    "ModelPlan",
    "PLAN_SECTIONS",
    "PROTOCOLS",
    "SYNTHETIC_SMALL",
    "get_protocol",
    "json_ready",
]
