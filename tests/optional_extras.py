"""Skip markers for tests of the optional parts (setup.py's extras); the `test` extra brings them all."""

import importlib.util

import pytest


def requires_extra(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip, saying which extra to install, when ``module`` cannot be imported."""
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"needs {module}, from the `{extra}` extra: pip install -e '.[{extra}]'",
    )


needs_matplotlib = requires_extra("matplotlib", "bench")
needs_sentence_transformers = requires_extra("sentence_transformers", "embeddings")
