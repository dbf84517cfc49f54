"""Every third-party module that the package, its scripts or its tests import is declared in setup.py.

A module counts as declared when a distribution that provides it is named directly in setup.py: in
``INSTALL_REQUIRES`` for the package and scripts (or in an optional extra, imported lazily: the core must
import without the extras), anywhere for the tests. Arriving through another package's requirements is not
enough: that can change in any release of the other package. A test that needs something undeclared skips
with ``pytest.importorskip(module, reason=...)`` instead (README's test command then reports the skip).
"""

import ast
import json
import re
import runpy
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = runpy.run_path(str(ROOT / "setup.py"), run_name="declared_requirements")
LIBRARY_FOLDERS = ("mindrec", "modeling", "tokenization", "scripts")
# The module files that exist to be loaded by an optional library (evaluate.load reads this one).
EXTRA_ONLY_MODULES = {"mindrec.evaluation.recommendation_metrics.recommendation_metrics": "evaluate"}


def dist_name(requirement: str) -> str:
    """``"scikit-learn>=1.4"`` -> ``"scikit-learn"``, normalised as in PEP 503."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def first_party_names() -> set[str]:
    names = {"mindrec", "modeling", "tokenization", "setup"}
    names |= {path.stem for path in (ROOT / "tests").glob("*.py")}
    return names | {path.stem for path in (ROOT / "scripts").glob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of the absolute imports in ``path`` (a ``pytest.importorskip`` is no import: it skips)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def third_party_imports(folders) -> dict[str, str]:
    """``{module: first file importing it}`` over the ``.py`` files of ``folders``."""
    local = first_party_names()
    found = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in sorted(imported_modules(path)):
                if name not in local and name not in sys.stdlib_module_names:
                    found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def undeclared(modules: dict[str, str], declared: set[str]) -> list[str]:
    """One line per module that no distribution in ``declared`` provides."""
    providers = metadata.packages_distributions()
    problems = []
    for module, where in sorted(modules.items()):
        dists = {dist_name(dist) for dist in providers.get(module, [])}
        if not dists and dist_name(module) in declared:
            continue  # an optional extra that is not installed here, named like its module
        if not dists:
            problems.append(f"{module} (imported in {where}) is not installed, so no declared requirement brings it")
        elif not dists & declared:
            problems.append(f"{module} (imported in {where}) comes from {sorted(dists)}, which setup.py does not name")
    return problems


def declared(*groups) -> set[str]:
    return {dist_name(requirement) for group in groups for requirement in group}


def test_requirement_names_are_parsed():
    assert dist_name("scikit-learn>=1.4") == "scikit-learn"
    assert dist_name("PyYAML>=6.0") == "pyyaml" and dist_name("huggingface_hub>=1.3") == "huggingface-hub"
    assert imported_modules(Path(__file__)) >= {"pytest", "ast", "importlib"}


def test_the_check_catches_an_undeclared_import(tmp_path):
    # scipy and threadpoolctl arrive through scikit-learn; importing them without naming them is an error.
    module = tmp_path / "module.py"
    module.write_text("import numpy\nfrom scipy.sparse import hstack\nimport threadpoolctl.x\nimport no_such_mod\n")
    found = {name: "module.py" for name in imported_modules(module)}
    assert undeclared(found, {"numpy", "scipy", "threadpoolctl", "no-such-mod"}) == []  # declared, absent: an extra
    assert sorted(undeclared(found, {"numpy", "scikit-learn"})) == [
        "no_such_mod (imported in module.py) is not installed, so no declared requirement brings it",
        "scipy (imported in module.py) comes from ['scipy'], which setup.py does not name",
        "threadpoolctl (imported in module.py) comes from ['threadpoolctl'], which setup.py does not name",
    ]


def test_package_and_scripts_import_only_declared_modules():
    allowed = declared(SETUP["INSTALL_REQUIRES"], *SETUP["OPTIONAL_EXTRAS"].values())
    assert undeclared(third_party_imports(LIBRARY_FOLDERS), allowed) == []


def test_tests_import_only_declared_modules():
    allowed = declared(SETUP["INSTALL_REQUIRES"], *SETUP["EXTRAS_REQUIRE"].values())
    assert undeclared(third_party_imports(["tests"]), allowed) == []


def test_test_extra_brings_every_optional_extra():
    optional = declared(*SETUP["OPTIONAL_EXTRAS"].values())
    assert optional and optional <= declared(SETUP["EXTRAS_REQUIRE"]["test"])
    assert not optional & declared(SETUP["INSTALL_REQUIRES"])


@pytest.mark.slow
def test_core_imports_without_the_optional_extras():
    """Every module of the package imports with the optional extras' modules blocked (as if not installed)."""
    providers = metadata.packages_distributions()
    optional = declared(*SETUP["OPTIONAL_EXTRAS"].values())
    blocked = {module for module, dists in providers.items() if declared(dists) & optional}
    blocked = sorted(blocked | {name.replace("-", "_") for name in optional})  # also when not installed
    assert {"matplotlib", "sentence_transformers", "evaluate"} <= set(blocked)
    code = textwrap.dedent(
        f"""
        import importlib, importlib.abc, json, pkgutil, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)

        sys.meta_path.insert(0, Block())
        failed = {{}}
        for root in ("mindrec", "mindrec.modeling", "mindrec.tokenization"):
            package = importlib.import_module(root)
            for info in pkgutil.walk_packages(package.__path__, root + "."):
                try:
                    importlib.import_module(info.name)
                except ImportError as error:
                    failed[info.name] = str(error)
        print(json.dumps(failed))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    failed = json.loads(completed.stdout.strip().splitlines()[-1])
    assert {name: error.split("'")[1] for name, error in failed.items()} == EXTRA_ONLY_MODULES
