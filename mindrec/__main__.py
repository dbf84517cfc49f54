"""The main job: ``python -m mindrec`` trains a small MindRec model on the synthetic catalogue and
prints its test metrics next to popularity (options as in ``scripts/train.py``; e.g. ``--metrics-json``)."""

from mindrec.pipeline import MAIN_JOB_DEFAULTS, main

if __name__ == "__main__":
    main(
        defaults=MAIN_JOB_DEFAULTS,
        prog="python -m mindrec",
        description="MindRec end to end on the synthetic catalogue: codes, tokenizer, training, test next to popularity.",
    )
