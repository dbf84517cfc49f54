"""Training: options, the accelerate training loop, OCN, LR schedules, checkpoints, model set-up and saving.

Entry points: ``scripts/train.py`` / ``python -m mindrec`` (:mod:`mindrec.pipeline`) parse the option
dataclasses of :mod:`.arguments` and run :class:`.trainer.Trainer`.

Names load on first use (:mod:`mindrec._lazy`), so importing the package imports no torch.
"""

from mindrec._lazy import lazy_exports

_EXPORTS = {
    "TRAIN_ARGUMENT_TYPES": ".arguments",
    "CodeArguments": ".arguments",
    "DataArguments": ".arguments",
    "EvaluateModelArguments": ".arguments",
    "EvaluationArguments": ".arguments",
    "ModelArguments": ".arguments",
    "TrainingArguments": ".arguments",
    "DecodingArguments": ".arguments",
    "list_checkpoints": ".checkpointing",
    "resolve_checkpoint": ".checkpointing",
    "MindRecCollator": ".collator",
    "parse_arguments": ".config_loading",
    "read_yaml_config": ".config_loading",
    "build_lr_scheduler": ".lr_schedule",
    "lr_multiplier": ".lr_schedule",
    "TrainedModel": ".model_io",
    "load_trained_model": ".model_io",
    "save_trained_model": ".model_io",
    "nested_views": ".ocn",
    "ocn_batch": ".ocn",
    "slot_confidence": ".ocn",
    "Trainer": ".trainer",
    "TrainOutput": ".trainer",
    "make_accelerator": ".trainer",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
