"""Training: options, the accelerate training loop, OCN, LR schedules, checkpoints, model set-up and saving.

Entry points: ``scripts/train.py`` / ``python -m mindrec`` (:mod:`mindrec.pipeline`) parse the option
dataclasses of :mod:`.arguments` and run :class:`.trainer.Trainer`.
"""

from .arguments import (
    TRAIN_ARGUMENT_TYPES,
    CodeArguments,
    DataArguments,
    EvaluateModelArguments,
    EvaluationArguments,
    ModelArguments,
    TrainingArguments,
)
from .checkpointing import list_checkpoints, resolve_checkpoint
from .collator import MindRecCollator
from .config_loading import parse_arguments, read_yaml_config
from .lr_schedule import build_lr_scheduler, lr_multiplier
from .model_io import TrainedModel, load_trained_model, save_trained_model
from .ocn import nested_views, ocn_batch, slot_confidence
from .trainer import Trainer, TrainOutput, make_accelerator

__all__ = [
    "TRAIN_ARGUMENT_TYPES",
    "CodeArguments",
    "DataArguments",
    "EvaluateModelArguments",
    "EvaluationArguments",
    "MindRecCollator",
    "ModelArguments",
    "TrainOutput",
    "TrainedModel",
    "Trainer",
    "TrainingArguments",
    "build_lr_scheduler",
    "list_checkpoints",
    "load_trained_model",
    "lr_multiplier",
    "make_accelerator",
    "nested_views",
    "ocn_batch",
    "parse_arguments",
    "read_yaml_config",
    "resolve_checkpoint",
    "save_trained_model",
    "slot_confidence",
]
