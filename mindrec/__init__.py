"""mindrec: generative recommendation with masked diffusion language models.

Importing mindrec registers its models and tokenizer with the transformers Auto classes.
"""

from transformers import AutoConfig, AutoModel, AutoTokenizer

from .baselines import SASRecConfig, SASRecModel
from .modeling import MindRecConfig
from .tokenization import MindRecTokenizer

AutoTokenizer.register(MindRecConfig, slow_tokenizer_class=MindRecTokenizer, exist_ok=True)
AutoConfig.register(SASRecConfig.model_type, SASRecConfig, exist_ok=True)
AutoModel.register(SASRecConfig, SASRecModel, exist_ok=True)

__version__ = "0.1.0"

# One-line inference (mindrec.recommender), imported on first use.
_LAZY = {"MindRecRecommender": "mindrec.recommender", "Recommendation": "mindrec.recommender"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mindrec' has no attribute {name!r}")
