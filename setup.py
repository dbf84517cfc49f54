"""Packaging for mindrec.

One import name, ``mindrec``. The design card's top-level folders are its parts:
``modeling/`` is ``mindrec.modeling`` and ``tokenization/`` is ``mindrec.tokenization``;
everything else lives under ``mindrec/``. The requirement lists are plain module-level data, and
setuptools is only imported when pip runs this file, so tests and scripts/check_lower_bounds.py read the
lists with ``runpy.run_path`` and nothing else.
"""

CARD_PARTS = {"mindrec.modeling": "modeling", "mindrec.tokenization": "tokenization"}

# Lower bounds are the versions `scripts/check_lower_bounds.py` installs (each pinned to its bound, in a
# throwaway virtualenv) and tests; upper bounds only where a major release is known to break us.
# Every third-party module the package imports is named here directly (tests/test_dependencies.py).
INSTALL_REQUIRES = [
    "torch>=2.13",  # the oldest CPU wheel tested; older ones are CUDA builds of several GB
    "transformers>=5.23,<6",  # activation_checkpointing_enable (5.23); the remote code overrides internals
    "accelerate>=1.8",  # load_state(load_kwargs=...): checkpoints resume with weights_only=True
    "datasets>=4.0",  # `from datasets import List`
    "peft>=0.20",  # AutoPeftModel import_allowlist (0.20); trainable_token_indices (0.15)
    "huggingface-hub>=1.31",  # transformers 5.23 needs it
    "safetensors>=0.8.0",  # transformers 5.23 needs it
    "numpy>=1.26",
    "scipy>=1.10",
    "scikit-learn>=1.4",
    "threadpoolctl>=3.1",
    "pyarrow>=15",
    "pyyaml>=6.0",
    "tqdm>=4.66.3",
    "jinja2>=3.1.6",  # model card templates (huggingface_hub); chat templates need 3.1.6 (transformers)
]

# Optional parts: the core (training, evaluation, item codes with tf-idf) works without them.
OPTIONAL_EXTRAS = {
    "bench": ["matplotlib>=3.8"],  # scripts/benchmark.py's quality-vs-speed plot
    "embeddings": ["sentence-transformers>=5.4"],  # item codes from a sentence encoder (5.4: sentence_transformer.modules)
    "evaluate": ["evaluate>=0.4"],  # the metrics as an `evaluate` module (evaluate.load)
}
# The test extra brings every optional part, so README's test command exercises all of them; a test of an
# optional part skips (with the reason) where its extra is absent.
TEST_REQUIRES = ["pytest>=8", "hypothesis>=6.100", "pytest-timeout>=2.3.1", "tokenizers>=0.23.1", "pandas>=2.1"]
EXTRAS_REQUIRE = {
    **OPTIONAL_EXTRAS,
    # --report_to tensorboard (accelerate imports it); not in the test extra: its one test skips without it
    "tracking": ["tensorboard>=2.14"],
    "test": TEST_REQUIRES + [req for reqs in OPTIONAL_EXTRAS.values() for req in reqs],
}
EXTRAS_REQUIRE["dev"] = EXTRAS_REQUIRE["test"] + ["ruff>=0.5"]


def card_part_packages(find_packages) -> list[str]:
    """Each card folder and its subpackages, under their ``mindrec.`` names."""
    packages = []
    for name, folder in CARD_PARTS.items():
        packages += [name] + [f"{name}.{sub}" for sub in find_packages(where=folder)]
    return packages


if __name__ == "__main__":  # how pip (setuptools.build_meta) runs this file
    from setuptools import find_packages, setup

    setup(
        name="mindrec",
        version="0.1.0",
        description="Generative recommendation with masked diffusion language models (MindRec, DiffGRM, DeftRec)",
        long_description=open("README.md", encoding="utf-8").read(),
        long_description_content_type="text/markdown",
        license="Apache-2.0",
        python_requires=">=3.10",
        packages=find_packages(include=["mindrec", "mindrec.*"]) + card_part_packages(find_packages),
        package_dir=CARD_PARTS,
        package_data={"mindrec.hub": ["templates/*.md"]},
        install_requires=INSTALL_REQUIRES,
        extras_require=EXTRAS_REQUIRE,
    )
