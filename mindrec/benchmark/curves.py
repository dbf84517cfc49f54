"""Learning curves: train one plan of a protocol (with overrides) and record validation against steps/seconds.

The experiments log (``docs/experiments/``) compares variants of a plan at equal budgets on the
validation split only (the test split is never decoded here):

    python scripts/learning_curves.py --protocol beauty-full --plan mindrec --name mindrec-views \\
        --set model.prompt_attends_canvas=false --set model.num_path_views=7 \\
        --max-steps 1028 --eval-steps 257 --compare docs/experiments/curves/tiger.json

writes ``<output>/<name>.json`` (settings, validation and loss history, training seconds) and
``<name>.png`` (this run's curve next to the ``--compare`` runs').
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mindrec.cli_args import ArgumentParser, canonical, int_at_least
from mindrec.logging_setup import add_log_level_argument, setup_logging

from .protocols import PLAN_SECTIONS, PROTOCOLS, get_protocol

logger = logging.getLogger(__name__)


def parse_override(text: str) -> tuple[str, str, Any]:
    """``"model.hidden_size=256"`` -> ``("model", "hidden_size", 256)`` (the value is read as YAML)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise argparse.ArgumentTypeError(f"expected SECTION.KEY=VALUE (sections {PLAN_SECTIONS}), got {text!r}")
    target, value = text.split("=", 1)
    import yaml

    section, key = target.split(".", 1)
    if section not in PLAN_SECTIONS:
        raise argparse.ArgumentTypeError(f"unknown section {section!r} in {text!r}; choose from {PLAN_SECTIONS}")
    parsed = yaml.safe_load(value)
    if isinstance(parsed, str):
        try:  # YAML 1.1 reads "3e-3" (no dot) as a string
            parsed = float(parsed)
        except ValueError:
            pass
    return section, key, parsed


def parse_plan_override(text: str) -> tuple[str, str, str, Any]:
    """``"mindrec.training.num_epochs=40"`` -> ``("mindrec", "training", "num_epochs", 40)`` (the benchmark's
    ``--set``: the plan name comes first)."""
    target = text.split("=", 1)[0]
    if target.count(".") < 2:
        raise argparse.ArgumentTypeError(f"expected PLAN.SECTION.KEY=VALUE (sections {PLAN_SECTIONS}), got {text!r}")
    plan, rest = text.split(".", 1)
    return (plan, *parse_override(rest))


def curves_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="scripts/learning_curves.py",
        description="Train one plan of a protocol and record its validation curve (no test decoding).",
    )
    parser.add_argument("--protocol", required=True, choices=sorted(PROTOCOLS))
    parser.add_argument("--plan", required=True, help="plan name, e.g. tiger, mindrec, mindrec-sid")
    parser.add_argument("--name", required=True, help="name of this variant (file stem of its outputs)")
    parser.add_argument("--set", dest="overrides", action="append", type=parse_override, default=[],
                        help="SECTION.KEY=VALUE plan override (repeatable), e.g. model.hidden_size=256")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int_at_least(1), default=None, help="training steps (default: the plan's budget)")
    parser.add_argument("--eval-steps", type=int_at_least(1), default=None, help="validate every N steps")
    parser.add_argument("--data", default=None, help="dataset folder (default: the protocol's)")
    parser.add_argument(*canonical("output folder"), default="docs/experiments/curves", help="folder of <name>.json / .png")
    parser.add_argument("--work-dir", default=None, help="keep checkpoints here (default: a temporary folder)")
    parser.add_argument("--compare", nargs="*", default=[], help="other curve JSON files to draw on the plot")
    parser.add_argument(*canonical("threads"), type=int_at_least(1), default=None, help="torch intra-op threads")
    add_log_level_argument(parser)
    return parser


def curves_main(argv: Sequence[str] | None, repo_root: Path) -> dict[str, Any]:
    """Parse ``argv``, train the variant, write its curve JSON and PNG; return the record."""
    args = curves_parser().parse_args(argv)  # before the heavy imports: --help answers at once
    import torch

    from mindrec.io_utils import atomic_write_json
    from mindrec.training.run_history import plot_learning_curves

    from .plot import require_matplotlib
    from .runner import BenchmarkContext, load_protocol_data, resolve_data_path, train_deftrec, train_mindrec

    require_matplotlib()  # the curves are plotted last: fail before training, not after it
    setup_logging(args.log_level)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    protocol = get_protocol(args.protocol)
    if args.plan not in protocol.plans:
        raise SystemExit(f"unknown plan {args.plan!r}; choose from {list(protocol.plans)}")
    plan = protocol.plans[args.plan]
    if plan.family not in ("mindrec", "tiger", "deftrec"):
        raise SystemExit(f"learning curves are recorded for mindrec, tiger and deftrec plans, not {plan.family!r}")
    budget = {key: value for key, value in (("max_steps", args.max_steps), ("eval_steps", args.eval_steps)) if value}
    if args.eval_steps:
        budget["evals_per_epoch"] = None  # --eval-steps replaces the plan's schedule, whichever way it is written
    plan = plan.with_settings([("training", key, value) for key, value in budget.items()] + args.overrides)
    compare = {Path(path).stem: json.loads(Path(path).read_text())["validation"] for path in args.compare}
    output = Path(args.output_dir)
    data, data_args = load_protocol_data(protocol, resolve_data_path(protocol, args.data, repo_root))
    with tempfile.TemporaryDirectory(prefix="curves-") as scratch:
        context = BenchmarkContext(protocol, data, data_args, Path(args.work_dir or scratch))
        if plan.family == "deftrec":  # its item vectors: --set model.deftrec_item_vectors=<SASRec's .npy>
            _, trained, _ = train_deftrec(context, args.plan, plan, args.seed)
        else:
            _, trained, _, _ = train_mindrec(context, args.plan, plan, args.seed, causal=plan.family == "tiger")
    record = {
        "name": args.name,
        "protocol": protocol.name,
        "plan": args.plan,
        "seed": args.seed,
        "command": shlex.join(["python", "scripts/learning_curves.py", *(sys.argv[1:] if argv is None else argv)]),
        "settings": {section: dict(getattr(plan, section)) for section in PLAN_SECTIONS},
        "train_seconds": round(trained.train_seconds, 1),
        "best_step": trained.best_step,
        "best_ndcg@10": trained.best_metric,
        "stopped_by_patience": trained.stopped_by_patience,
        "stopped_by_time": trained.stopped_by_time,
        "validation": trained.validation,
    }
    atomic_write_json(output / f"{args.name}.json", record)
    plot_learning_curves({args.name: trained.validation, **compare}, output / f"{args.name}.png",
                         title=f"{protocol.name}: validation NDCG@10")
    logger.info("%s: best validation ndcg@10 %.4f at step %s", args.name, trained.best_metric or 0.0, trained.best_step)
    return record


__all__ = ["curves_main", "curves_parser", "parse_override", "parse_plan_override"]
