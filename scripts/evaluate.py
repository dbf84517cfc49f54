"""Evaluate a saved model folder on a split, next to popularity; write JSON metrics and a markdown table.

    python scripts/evaluate.py --model runs/beauty/best --split test \
        --strategy diffusion_beam_search --num-beams 10 --metrics-json runs/beauty/test.json

The data options default to the ones the model was trained with (its ``mindrec_run.json``); any of
them, and every decoding option, can be given on the command line (``--help`` lists them).
"""

import os

# torch's OpenMP threads spin while they wait; on a shared 2-core machine that made a 2-thread training
# step 5-8x slower than one thread. Passive waiting (set before torch loads) removes that; the caller's
# environment still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mindrec.cli import evaluate_main  # noqa: E402

if __name__ == "__main__":
    evaluate_main()
