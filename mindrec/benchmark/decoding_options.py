"""Options of ``scripts/benchmark_decoding.py``, apart from the benchmark so that ``--help`` imports no torch.

The choice lists are the library's (``DECODING_STRATEGIES``, ``HISTORY_CACHE_MODES``,
``HISTORY_ENCODINGS``, the benchmark's dtypes) written out; ``tests/test_cli.py`` checks they are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mindrec.logging_setup import log_level_field, log_level_number
from mindrec.training.arguments import DECODING_STRATEGIES, help_metadata

HISTORY_CACHE_MODES = ("exact", "prompt_cache")  # mindrec.modeling.canvas_scoring.HISTORY_CACHE_MODES
HISTORY_ENCODINGS = ("tokens", "pooled")  # mindrec.tokenization.tokenization_mindrec.HISTORY_ENCODINGS
DTYPE_NAMES = ("fp32", "bf16")  # keys of mindrec.benchmark.decoding.DTYPES
QUALITY_K = 10


@dataclass
class DecodingBenchmarkArguments:
    """Options of ``scripts/benchmark_decoding.py`` (declared once; parsed with ``mindrec.cli_args.DataclassArgumentParser``)."""

    data: str | None = field(
        default=None,
        **help_metadata("Dataset folder or file (any format of load_dataset_from_path); see --synthetic."),
    )
    synthetic: bool = field(default=False, **help_metadata("Use the synthetic catalogue instead of --data."))
    synthetic_num_items: int = field(default=1000, **help_metadata("Synthetic catalogue: number of items."))
    users: int = field(default=5000, **help_metadata("Decode the first N users (MindRec protocol: 5000)."))
    max_history: int = field(default=10, **help_metadata("Keep the last N history items."))
    split: str = field(default="test", **help_metadata("Split whose users are decoded: test or validation."))
    model: str | None = field(
        default=None,
        **help_metadata(
            "A trained model folder (scripts/train.py output): also compares the quality of the cache modes.",
            aliases=["--model_dir", "--model-dir"],
        ),
    )
    code_table: str | None = field(
        default=None,
        **help_metadata("An item_codes.json (or a folder holding one); unset builds codes from the items."),
    )
    num_category_levels: int = field(default=3, **help_metadata("Built codes: D, category slots."))
    num_sid_digits: int = field(default=4, **help_metadata("Built codes: n, semantic-ID digits."))
    codebook_size: int = field(default=256, **help_metadata("Built codes: values per semantic-ID digit."))
    hidden_size: int = field(default=256, **help_metadata("Random model: hidden size."))
    intermediate_size: int = field(default=1024, **help_metadata("Random model: MLP size."))
    num_hidden_layers: int = field(default=4, **help_metadata("Random model: layers."))
    num_attention_heads: int = field(default=4, **help_metadata("Random model: attention heads."))
    seed: int = field(default=0, **help_metadata("Seed of the random weights (the same for every encoding)."))
    strategies: list[str] = field(
        default_factory=lambda: list(DECODING_STRATEGIES), **help_metadata("Decoding strategies to measure.")
    )
    beams: list[int] = field(
        default_factory=lambda: [10, 50], **help_metadata("Beam widths (>= 10, the items returned).")
    )
    modes: list[str] = field(
        default_factory=lambda: list(HISTORY_CACHE_MODES),
        **help_metadata("History cache modes: exact, prompt_cache."),
    )
    encodings: list[str] = field(
        default_factory=lambda: list(HISTORY_ENCODINGS), **help_metadata("History encodings: tokens, pooled.")
    )
    dtypes: list[str] = field(
        default_factory=lambda: list(DTYPE_NAMES), **help_metadata("fp32, and bf16 (torch.autocast on the CPU).")
    )
    threads: int | None = field(
        default=None,
        **help_metadata("torch.set_num_threads; unset = every core.", aliases=["--num_threads", "--num-threads"]),
    )
    batch_rows: int = field(
        default=2000,
        **help_metadata("Rows (users x beams) per decoding batch: users per batch = batch_rows // beams."),
    )
    latency_users: int = field(default=10, **help_metadata("Users decoded one at a time for the latency column."))
    case_time_limit: float | None = field(
        default=None,
        **help_metadata(
            "Stop a combination after the batch that passes this many seconds (its row says how many users)."
        ),
    )
    peak_size: int = field(default=2048, **help_metadata("Side of the square matrices of the matmul peak."))
    peak_seconds: float = field(default=2.0, **help_metadata("Seconds each matmul peak measurement runs."))
    profile: bool = field(default=True, **help_metadata("Profile one decoding step (--no-profile skips it)."))
    profile_step: int | None = field(
        default=None, **help_metadata("Scorer call to profile (0-based); unset = the first semantic-ID step.")
    )
    output_json: str | None = field(
        default=None,
        **help_metadata("Also write every number to this JSON file.", aliases=["--metrics_json", "--metrics-json"]),
    )
    show_progress: bool = field(default=True, **help_metadata("tqdm bar over the decoding batches."))
    log_level: str = log_level_field()

    def __post_init__(self):
        log_level_number(self.log_level)
        choices = {
            "strategies": DECODING_STRATEGIES,
            "modes": HISTORY_CACHE_MODES,
            "encodings": HISTORY_ENCODINGS,
            "dtypes": DTYPE_NAMES,
        }
        for name, allowed in choices.items():
            values = getattr(self, name)
            if not values:
                raise ValueError(f"`{name}` is empty; choose from {list(allowed)}.")
            bad = [value for value in values if value not in allowed]
            if bad:
                raise ValueError(f"`{name}` holds {bad}; choose from {list(allowed)}.")
        if not self.beams or any(beam < QUALITY_K for beam in self.beams):
            raise ValueError(f"`beams` must be widths >= {QUALITY_K} (the items returned), got {self.beams}.")
        if self.split not in ("test", "validation"):
            raise ValueError(f"`split` must be 'test' or 'validation', got {self.split!r}.")
        if self.synthetic and self.data is not None:
            raise ValueError("Pass either --data or --synthetic, not both.")
        if not self.synthetic and self.data is None:
            raise ValueError("Pass --data PATH (a dataset) or --synthetic.")
        if self.model is not None and self.code_table is not None:
            raise ValueError("--model decodes with the code table of its tokenizer; drop --code-table.")
        for name in ("users", "max_history", "batch_rows", "peak_size", "synthetic_num_items"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
        for name in ("threads", "case_time_limit"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}.")
        if self.latency_users < 0 or self.peak_seconds <= 0:
            raise ValueError(
                f"`latency_users` must be >= 0 and `peak_seconds` > 0, got {self.latency_users}, {self.peak_seconds}."
            )
        if self.profile_step is not None and self.profile_step < 0:
            raise ValueError(f"`profile_step` must be >= 0, got {self.profile_step}.")



__all__ = ["DTYPE_NAMES", "DecodingBenchmarkArguments", "HISTORY_CACHE_MODES", "HISTORY_ENCODINGS", "QUALITY_K"]
