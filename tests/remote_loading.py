"""Run code in a fresh Python process where ``import mindrec`` is impossible.

The editable install puts mindrec on every interpreter's path, so a meta-path blocker refuses it;
the child first proves that ``import mindrec`` fails, then runs the given snippet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# The repository (source folders of the editable install); a virtualenv elsewhere stays on the path.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
_PRELUDE = f"""
_REPO = {_REPO_ROOT!r}
import sys
class _BlockMindrec:
    def find_spec(self, name, path=None, target=None):
        if name == "mindrec" or name.startswith("mindrec."):
            raise ImportError("mindrec is blocked in this process")
        return None
sys.meta_path.insert(0, _BlockMindrec())
sys.path = [p for p in sys.path if p not in ("", ".") and not p.startswith(_REPO)]
try:
    import mindrec  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("mindrec is importable: the isolation failed")
"""


def run_without_mindrec(snippet: str, workdir: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``snippet`` in ``workdir`` with mindrec unimportable and the Hub offline; raise on failure."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(workdir / "hf_home"),
        "PYTHONPATH": "",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    code = _PRELUDE + textwrap.dedent(snippet)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
