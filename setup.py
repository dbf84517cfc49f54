"""Packaging for mindrec.

One import name, ``mindrec``. The design card's top-level folders are its parts:
``modeling/`` is ``mindrec.modeling`` and ``tokenization/`` is ``mindrec.tokenization``;
everything else lives under ``mindrec/``.
"""

from setuptools import find_packages, setup

CARD_PARTS = {"mindrec.modeling": "modeling", "mindrec.tokenization": "tokenization"}


def card_part_packages() -> list[str]:
    """Each card folder and its subpackages, under their ``mindrec.`` names."""
    packages = []
    for name, folder in CARD_PARTS.items():
        packages += [name] + [f"{name}.{sub}" for sub in find_packages(where=folder)]
    return packages


PACKAGES = find_packages(include=["mindrec", "mindrec.*"]) + card_part_packages()

install_requires = [
    "torch>=2.4",
    "transformers>=5",
    "accelerate>=1.0",
    "datasets>=3.0",
    "peft>=0.13",
    "huggingface-hub>=1.0",
    "sentence-transformers>=3.0",
    "evaluate>=0.4",
    "numpy>=1.26",
    "scikit-learn>=1.4",
    "pyyaml>=6.0",
    "tqdm>=4.66",
    "jinja2>=3.1",
]

extras = {
    "test": ["pytest>=8", "hypothesis>=6.100", "pytest-timeout>=2.3"],
    "bench": ["matplotlib>=3.8"],
    "tracking": ["tensorboard>=2.14"],  # --report_to tensorboard
}
extras["dev"] = extras["test"] + extras["bench"] + ["ruff>=0.5"]

setup(
    name="mindrec",
    version="0.1.0",
    description="Generative recommendation with masked diffusion language models (MindRec, DiffGRM, DeftRec)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_dir=CARD_PARTS,
    package_data={"mindrec.hub": ["templates/*.md"]},
    install_requires=install_requires,
    extras_require=extras,
)
