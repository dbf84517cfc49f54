"""mindrec: generative recommendation with masked diffusion language models.

Importing ``mindrec`` is cheap (no torch, no transformers): the names below load on first use
(:mod:`mindrec._lazy`), so command lines answer ``--help`` at once. The transformers Auto classes are
registered by the packages that define the classes: ``mindrec.modeling`` (MindRec, DeftRec configs and
models), ``mindrec.tokenization`` (``AutoTokenizer`` for MindRec configs) and ``mindrec.baselines``
(SASRec); using any of these names, e.g. ``from mindrec import MindRecConfig``, imports them.
"""

from mindrec._lazy import lazy_exports

_EXPORTS = {
    "MindRecConfig": "mindrec.modeling",
    "MindRecTokenizer": "mindrec.tokenization",
    "SASRecConfig": "mindrec.baselines",
    "SASRecModel": "mindrec.baselines",
    "MindRecRecommender": "mindrec.recommender",
    "Recommendation": "mindrec.recommender",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)

__version__ = "0.1.0"
