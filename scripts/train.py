"""Train a recommender, select it on validation, test it next to popularity.

    python scripts/train.py --config configs/mindrec_small_beauty.yaml [--key value ...]
    accelerate launch --multi_gpu --num_processes 2 scripts/train.py --config ... [--key value ...]

Without CUDA the second form is CPU data parallel over gloo (accelerate 1.x's ``--cpu --num_processes 2``
starts a single process unless it is given an MPI hostfile).

Every option is a field of the dataclasses in ``mindrec/training/arguments.py`` (``--help`` lists
them); the YAML config sets them by name and the command line overrides it.
"""

import os

# torch's OpenMP threads spin while they wait; on a shared 2-core machine that made a 2-thread training
# step 5-8x slower than one thread. Passive waiting (set before torch loads) removes that; the caller's
# environment still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mindrec.cli import train_main  # noqa: E402

if __name__ == "__main__":
    train_main(description=__doc__)
