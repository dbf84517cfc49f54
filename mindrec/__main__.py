"""The main job: ``python -m mindrec`` trains a small MindRec model on the synthetic catalogue and
prints its test metrics next to popularity (options as in ``scripts/train.py``; e.g. ``--metrics_json``)."""

from mindrec.cli import MAIN_JOB_DEFAULTS, train_main

if __name__ == "__main__":
    train_main(
        defaults=MAIN_JOB_DEFAULTS,
        prog="python -m mindrec",
        description="MindRec end to end on the synthetic catalogue: codes, tokenizer, training, test next to popularity.",
    )
