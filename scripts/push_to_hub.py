#!/usr/bin/env python
r"""Share a trained MindRec folder on the Hugging Face Hub, with a generated model card.

The folder must hold the model (or a LoRA adapter), its tokenizer and the code table item_codes.json
(what training writes to output_dir/final or output_dir/best). --eval-json takes the JSON of
scripts/evaluate.py --metrics_json, or a training run's output_dir/metrics.json. Everything is validated
before anything is written or uploaded; --dry-run DIR writes exactly the folder that would be uploaded
and uploads nothing.

Examples:
    python scripts/push_to_hub.py --model-dir runs/beauty/final --repo-id me/mindrec-beauty \
        --eval-json runs/beauty/test.json --dry-run /tmp/mindrec-beauty-upload
    python scripts/push_to_hub.py --model-dir runs/beauty/final --repo-id me/mindrec-beauty \
        --eval-json runs/beauty/test.json --private
    python scripts/push_to_hub.py --model-dir runs/llada-lora/final --repo-id me/mindrec-llada-lora \
        --base-model me/llada-8b-instruct-mindrec-base
"""

from __future__ import annotations

import argparse

from mindrec.cli_args import ArgumentParser, canonical
from mindrec.logging_setup import add_log_level_argument, setup_logging


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(prog="scripts/push_to_hub.py", description=__doc__)
    parser.add_argument(*canonical("model folder"), required=True, help="saved model or LoRA adapter folder")
    parser.add_argument("--repo-id", required=True, help="target repository, owner/name")
    parser.add_argument(
        *canonical("metrics JSON"),
        default=None,
        help="evaluation JSON (scripts/evaluate.py --metrics_json, or a run's metrics.json)",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        default=None,
        help="Hub dataset id for the card (repeatable); the first also names the evaluation dataset "
        "(default: the data the run recorded)",
    )
    parser.add_argument(
        "--base-model",
        default=None,
        help="Hub id of the base model: an adapter's base, or the LLaDA checkpoint a model was fine-tuned from",
    )
    parser.add_argument("--license", default=None, help="license id for the card, e.g. apache-2.0")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", default=None, help="branch to commit to (created when missing)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument(
        "--merge-adapter",
        action="store_true",
        help="LoRA runs: merge the adapter into its base and upload the merged model (default: the adapter alone)",
    )
    parser.add_argument("--commit-message", default=None, help="commit message")
    parser.add_argument(
        "--dry-run",
        metavar="DIR",
        default=None,
        help="write the folder that would be uploaded to DIR; upload nothing",
    )
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None):
    args = parse_args(argv)
    setup_logging(args.log_level)
    from mindrec.hub import push_to_hub

    return push_to_hub(
        args.model_dir,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        create_pr=args.create_pr,
        dry_run_dir=args.dry_run,
        merge_adapter=args.merge_adapter,
        eval_json=args.metrics_json,
        base_model=args.base_model,
        datasets=args.dataset,
        license=args.license,
        commit_message=args.commit_message,
    )


if __name__ == "__main__":
    main()
