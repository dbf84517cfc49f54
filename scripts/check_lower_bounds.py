"""Install every requirement of setup.py at its lower bound in a throwaway virtualenv and run tests there.

    python scripts/check_lower_bounds.py                       # the default test selection
    python scripts/check_lower_bounds.py tests/test_peft.py    # other pytest arguments
    python scripts/check_lower_bounds.py --print-pins          # only list the pins

Each ``name>=X`` of ``install_requires`` and of the ``test`` extra (which brings the optional extras) is
installed as ``name==X``; pip resolves what those need. The package itself is installed with ``--no-deps``
so nothing moves the pins, then ``pip check`` proves the pinned set satisfies every requirement. The
virtualenv never sees the machine's site-packages. Exit status: pytest's (or pip's when the set does not
install).
"""

from __future__ import annotations

import argparse
import re
import runpy
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Tests that reach the bounded APIs: datasets' features and Arrow, peft's trainable tokens, the remote code
# on transformers internals, chat templates (jinja2), accelerate's checkpoints, scikit-learn/scipy/threadpoolctl code building,
# huggingface_hub cards, the optional extras, and the dependency declarations themselves.
DEFAULT_TESTS = [
    "tests/test_dependencies.py",
    "tests/test_peft.py",
    "tests/test_peft_flows.py",
    "tests/test_data_synthetic.py",
    "tests/test_data_prepare_script.py",
    "tests/test_modeling.py",
    "tests/test_remote_code.py",
    "tests/test_tokenizer_save_load.py",
    "tests/test_tokenizer_llm.py",
    "tests/test_training_resume.py",
    "tests/test_codes_build.py",
    "tests/test_codes_embeddings.py",
    "tests/test_code_embedding_model.py",
    "tests/test_data_interactions.py",
    "tests/test_hub_card.py",
    "tests/test_metrics_evaluate_module.py",
    "tests/test_benchmark_report.py",
    "tests/test_main_job.py",
]


def lower_bound_pins(setup_py: Path = ROOT / "setup.py") -> list[str]:
    """``name==X`` for each requirement ``name>=X`` of install_requires and the test extra."""
    declared = runpy.run_path(str(setup_py), run_name="declared_requirements")
    pins = []
    for requirement in declared["INSTALL_REQUIRES"] + declared["EXTRAS_REQUIRE"]["test"]:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)>=([0-9][0-9A-Za-z.]*)(,.*)?", requirement.split(";")[0].strip())
        if match is None:
            raise ValueError(f"setup.py requirement {requirement!r} has no '>=' lower bound to test")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def run(command: list[str], **kwargs) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pytest_args", nargs="*", help=f"what pytest runs (default: {len(DEFAULT_TESTS)} test files)")
    parser.add_argument("--venv", default=None, help="build the virtualenv here and keep it (default: a temporary one)")
    parser.add_argument("--print-pins", action="store_true", help="print the pins and stop")
    args = parser.parse_args(argv)
    pins = lower_bound_pins()
    if args.print_pins:
        print("\n".join(pins))
        return 0
    with tempfile.TemporaryDirectory(prefix="mindrec-lower-bounds-") as scratch:
        target = Path(args.venv) if args.venv else Path(scratch) / "venv"
        started = time.perf_counter()
        venv.create(target, with_pip=True, clear=True)
        python = str(target / "bin" / "python")
        try:
            run([python, "-m", "pip", "install", "--quiet", *pins])
            run([python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)])
            run([python, "-m", "pip", "check"])
        except subprocess.CalledProcessError as error:
            print(f"the lower bounds do not install together: {error}", file=sys.stderr)
            return error.returncode
        installed = subprocess.run(
            [python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        names = {re.split(r"==", pin)[0].lower().replace("_", "-") for pin in pins}
        print("lower bounds installed:", ", ".join(
            line for line in installed if line.split("==")[0].lower().replace("_", "-") in names
        ), flush=True)  # fmt: skip
        print(f"installed in {time.perf_counter() - started:.0f}s", flush=True)
        tests = args.pytest_args or DEFAULT_TESTS
        return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
