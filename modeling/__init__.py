"""Model configuration, backbone, task model, masking schedule and generation (``mindrec.modeling``).

Importing this package registers MindRec and DeftRec with the transformers Auto classes (``AutoConfig`` and
``AutoModel``, which gives the recommender with its head) and marks the classes for remote code, so
that ``save_pretrained`` writes an ``auto_map`` and copies the self-contained modeling files.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from .canvas_scoring import HISTORY_CACHE_MODES, MindRecCanvasScorer, PromptKeyValueCache
from .catalogue_index import CatalogueIndex
from .configuration_deftrec import DeftRecConfig
from .configuration_mindrec import MindRecConfig
from .generation_mindrec import (
    DECODING_STRATEGIES,
    RecommendationGenerationConfig,
    RecommendationOutput,
    recommend,
)
from .modeling_deftrec import (
    ContinuousItemTokenizer,
    DeftRecForRecommendation,
    DeftRecGenerationOutput,
    DeftRecOutput,
    DeftRecPreTrainedModel,
)
from .modeling_mindrec import MindRecForRecommendation, MindRecModel, MindRecOutput, MindRecPreTrainedModel
from .modeling_mindrec_autoregressive import (
    MindRecAutoregressiveCanvasScorer,
    MindRecForAutoregressiveRecommendation,
)
from .scheduling_ddpm import DDPMSchedule, DDPMStepOutput
from .scheduling_masked_diffusion import MaskedDiffusionNoiseOutput, MaskedDiffusionSchedule

AutoConfig.register(MindRecConfig.model_type, MindRecConfig, exist_ok=True)
AutoModel.register(MindRecConfig, MindRecForRecommendation, exist_ok=True)
MindRecConfig.register_for_auto_class()
MindRecForRecommendation.register_for_auto_class("AutoModel")
AutoModelForCausalLM.register(MindRecConfig, MindRecForAutoregressiveRecommendation, exist_ok=True)
MindRecForAutoregressiveRecommendation.register_for_auto_class("AutoModelForCausalLM")
AutoConfig.register(DeftRecConfig.model_type, DeftRecConfig, exist_ok=True)
AutoModel.register(DeftRecConfig, DeftRecForRecommendation, exist_ok=True)
DeftRecConfig.register_for_auto_class()
DeftRecForRecommendation.register_for_auto_class("AutoModel")

__all__ = [
    "DECODING_STRATEGIES",
    "CatalogueIndex",
    "RecommendationGenerationConfig",
    "RecommendationOutput",
    "recommend",
    "ContinuousItemTokenizer",
    "DDPMSchedule",
    "DDPMStepOutput",
    "DeftRecConfig",
    "DeftRecForRecommendation",
    "DeftRecGenerationOutput",
    "DeftRecOutput",
    "DeftRecPreTrainedModel",
    "HISTORY_CACHE_MODES",
    "MaskedDiffusionNoiseOutput",
    "MaskedDiffusionSchedule",
    "MindRecAutoregressiveCanvasScorer",
    "MindRecCanvasScorer",
    "MindRecForAutoregressiveRecommendation",
    "MindRecConfig",
    "MindRecForRecommendation",
    "MindRecModel",
    "MindRecOutput",
    "MindRecPreTrainedModel",
    "PromptKeyValueCache",
]

# The tokenizer's AutoTokenizer registration lives in mindrec.tokenization; importing it here (the classes
# above already exist) makes importing either package register every MindRec Auto class.
from mindrec import tokenization as _tokenization  # noqa: E402,F401
