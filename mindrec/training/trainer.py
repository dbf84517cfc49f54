"""The training loop: accelerate (data parallel, bf16 autocast), AdamW, LR schedule, clipping,
validation-based model selection and crash-safe, exactly resumable checkpoints.

Reproducibility. Nothing random depends on hidden state that a checkpoint could miss:

* the order of the training rows in epoch ``e`` is a permutation drawn from a generator seeded with
  ``(seed, e)``; step ``s`` of the run reads the rows at its position in that order, so a resumed run
  reads exactly the rows an uninterrupted run would (no dataloader state to restore);
* the masking noise, DeftRec's negatives and the LLM prompt templates of step ``s`` on process ``r`` come
  from generators seeded with ``(seed, s, r)``;
* model, optimizer and every process's global RNG states (dropout) are saved with
  ``accelerator.save_state``, the LR scheduler's state as JSON in ``trainer_state.json`` (no pickle),
  the weight average (``ema_decay``) in ``weight_average.safetensors``.

A run resumed from the checkpoint of step ``k`` therefore ends with the same weights as a run that was
never interrupted (same hardware and thread count).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from datasets import Dataset
from peft import PeftModel
from tqdm.auto import tqdm

from mindrec.baselines.popularity import interaction_counts
from mindrec.data.splits import SplitColumns
from mindrec.evaluation.model_evaluation import evaluate_recommender

from .arguments import EvaluationArguments, TrainingArguments
from .checkpointing import (
    SCHEDULER_STATE_KEY,
    check_compatible,
    load_checkpoint,
    output_dir_lock,
    prepare_output_dir,
    read_trainer_state,
    resolve_checkpoint,
    save_checkpoint,
    scheduler_state,
)
from .lr_schedule import build_lr_scheduler
from .model_unwrap import unwrap_task_model
from .run_history import CURVES_FILE, matplotlib_available, plot_learning_curves, write_run_metrics
from .tracking import flat_config, tracker_options
from .weight_average import WeightAverage

logger = logging.getLogger(__name__)

BEST_FOLDER = "best"
FINAL_FOLDER = "final"


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed that depends on every part (stable across processes and Python runs)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


# bf16 autocast on a CPU pays off only for wide enough models. Measured on this package's 2-core Xeon
# (AMX-BF16), one thread, a training step of batch 256: hidden 128 x 2 layers fp32 255 ms, bf16 280 ms;
# hidden 256 x 4 layers fp32 1330 ms, bf16 915 ms (CPU time per step).
CPU_BF16_MIN_HIDDEN_SIZE = 256


def _cpu_supports_bf16() -> bool:
    """Native bf16 matrix units (AVX512-BF16 or AMX) on this CPU; False where torch cannot tell."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:
        return False


def resolve_mixed_precision(setting: str, hidden_size: int | None = None) -> str:
    """``"auto"`` -> ``"bf16"`` on a GPU with bf16, and on a CPU with native bf16 for models at least
    :data:`CPU_BF16_MIN_HIDDEN_SIZE` wide (``hidden_size``; unknown = not); otherwise ``"no"``."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    if hidden_size is not None and hidden_size >= CPU_BF16_MIN_HIDDEN_SIZE and _cpu_supports_bf16():
        return "bf16"
    return "no"


def make_accelerator(
    mixed_precision: str = "auto",
    hidden_size: int | None = None,
    report_to: Sequence[str] = (),
    output_dir: str | Path = ".",
) -> Accelerator:
    """The run's Accelerator. Without CUDA it is told so (``cpu=True``): accelerate then treats a multi-process
    launch (``accelerate launch --multi_gpu --num_processes N`` or ``torchrun``) as CPU data parallel (gloo).
    ``report_to`` names experiment trackers writing under ``output_dir/logs`` (:mod:`.tracking`)."""
    return Accelerator(
        mixed_precision=resolve_mixed_precision(mixed_precision, hidden_size),
        cpu=not torch.cuda.is_available(),
        **tracker_options(report_to, output_dir),
    )



def close_processes(accelerator: Accelerator) -> None:
    """End a multi-process run cleanly: wait until every process is done, then destroy the process group.

    Call it at the end of a script that made ``accelerator``, on every process. Without it a process that
    finished its share first exits while the others still work, and its gloo threads are torn down at
    interpreter exit; that can abort it ("terminate called without an active exception", SIGABRT), and the
    launcher then kills the whole run. A single-process run has nothing to close (a process group the caller
    made for other work is left alone).
    """
    if accelerator.num_processes < 2:
        return
    accelerator.wait_for_everyone()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()

@dataclass
class TrainOutput:
    """What :meth:`Trainer.train` returns.

    Attributes:
        global_step: optimizer steps done (over every run of this output_dir).
        best_step, best_metric: the step and value of the best validation ``selection_metric`` (None without validation).
        validation: one ``{"step", "epoch", metrics...}`` entry per validation.
        train_seconds: wall-clock seconds of this call.
        final_dir, best_dir: the saved model folders (``best_dir`` None without validation).
        stopped_early: ``stop_at_step`` ended the call before the last step.
        stopped_by_patience: ``early_stopping_patience`` validations in a row brought no new best, so
            training ended before ``total_steps`` (``final/`` is still written).
        stopped_by_time: ``max_train_minutes`` ran out, so training ended before ``total_steps`` (the
            step that crossed the budget was validated; ``final/`` is still written).
    """

    global_step: int
    best_step: int | None
    best_metric: float | None
    validation: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    final_dir: Path | None = None
    best_dir: Path | None = None
    stopped_early: bool = False
    stopped_by_patience: bool = False
    stopped_by_time: bool = False


class Trainer:
    """Train a recommender on the training rows, validate with its decoder, keep the best model.

    Args:
        model: the model to train (unwrapped; PEFT-wrapped in the LLM setting).
        task: a :class:`~mindrec.training.tasks.MindRecTask` or :class:`~mindrec.training.tasks.DeftRecTask`.
        train_split: rows ``user_id``, ``history``, ``target``.
        validation_split: rows to select the best model on (None: no validation, ``final/`` only).
        args, eval_args: the run's options.
        signature: what a checkpoint must match to be resumed (see ``checkpointing.model_signature``).
        save_model: ``save_model(directory, unwrapped_model)`` writes ``best/`` and ``final/`` (main process).
        accelerator: defaults to one built from ``args.mixed_precision``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        task,
        train_split: Dataset,
        validation_split: Dataset | None,
        args: TrainingArguments,
        eval_args: EvaluationArguments,
        signature: dict[str, Any],
        save_model: Callable[[Path, torch.nn.Module], Any],
        accelerator: Accelerator | None = None,
    ):
        if len(train_split) == 0:
            raise ValueError("The training split is empty.")
        self.accelerator = accelerator or make_accelerator(args.mixed_precision)
        self.model = model
        self.task = task
        self.args = args
        self.eval_args = eval_args
        self.validation_split = validation_split
        self.signature = signature
        self.save_model = save_model
        self.output_dir = Path(args.output_dir)
        # Columns as arrays: a step reads its rows by offset, and a split of tens of millions of rows does not become
        # a Python list per history (gigabytes on MovieLens-20M).
        self._train_rows = SplitColumns.of(train_split)
        # Validation also reports the users whose target is cold in training (cold_ndcg@K): the test split's
        # targets are colder than validation's, so a change that costs cold targets shows there first.
        self._item_counts = (
            interaction_counts(train_split, task.num_items) if validation_split is not None else None
        )
        world = self.accelerator.num_processes
        self.steps_per_epoch = math.ceil(len(self._train_rows) / (args.train_batch_size * world))
        self.total_steps = args.max_steps or args.num_epochs * self.steps_per_epoch
        self._average: WeightAverage | None = None  # built in _train with ``ema_decay``

    def _validates_at(self, step: int) -> bool:
        """Whether the schedule (``eval_steps``, ``evals_per_epoch`` or once per epoch) validates after ``step``."""
        if self.args.eval_steps:
            return step % self.args.eval_steps == 0
        per_epoch = self.args.evals_per_epoch or 1
        # The k-th validation of an epoch follows the step that reaches k / per_epoch of it (the last: its end).
        position = (step - 1) % self.steps_per_epoch + 1
        return position * per_epoch // self.steps_per_epoch > (position - 1) * per_epoch // self.steps_per_epoch

    # ----------------------------------------------------------------------------------------------
    # Data
    def _epoch_order(self, epoch: int) -> torch.LongTensor:
        generator = torch.Generator().manual_seed(derive_seed("order", self.args.seed, epoch))
        return torch.randperm(len(self._train_rows), generator=generator)

    def _rows(self, step: int, order: torch.LongTensor) -> list[dict[str, Any]]:
        """This process's rows of global step ``step`` (the epoch's ``order`` is given)."""
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        size = self.args.train_batch_size * world
        position = step % self.steps_per_epoch
        chosen = order[position * size : (position + 1) * size].tolist()
        # A short last batch is split evenly; with several processes it is padded by wrapping around to
        # the epoch's first rows, so every process takes the same number of steps (as DistributedSampler).
        share = math.ceil(len(chosen) / world)
        chosen = (chosen + order[: share * world - len(chosen)].tolist())[rank * share : (rank + 1) * share]
        return [self._train_rows.row(i) for i in chosen]

    # ----------------------------------------------------------------------------------------------
    # Pieces of the loop
    def _optimizer(self) -> torch.optim.Optimizer:
        decay, no_decay = [], []
        for parameter in self.model.parameters():
            if parameter.requires_grad:
                # Norm weights (1-D) are not decayed: shrinking them towards 0 only rescales activations.
                (decay if parameter.dim() >= 2 else no_decay).append(parameter)
        groups = [{"params": decay, "weight_decay": self.args.weight_decay}]
        if no_decay:
            groups.append({"params": no_decay, "weight_decay": 0.0})
        return torch.optim.AdamW(groups, lr=self.args.learning_rate)

    def _fresh_state(self) -> dict[str, Any]:
        return {
            "global_step": 0,
            "epoch": 0,
            "best_metric": None,
            "best_step": None,
            "validation": [],
            "loss_history": [],
            "train_seconds": 0.0,
            "stopped_by_patience": False,
            "stopped_by_time": False,
            "model_signature": self.signature,
            **self._run_settings(),
        }

    def _run_settings(self) -> dict[str, Any]:
        """Settings a resumed run must share with the checkpoint to read the same batches."""
        return {
            "num_processes": self.accelerator.num_processes,
            "train_batch_size": self.args.train_batch_size,
            "seed": self.args.seed,
            "total_steps": self.total_steps,
            "ema_decay": self.args.ema_decay,
        }

    def _validate(self, step: int) -> dict[str, Any]:
        model = unwrap_task_model(self.accelerator.unwrap_model(self.model))
        model.eval()
        try:
            with self.accelerator.autocast():
                result = evaluate_recommender(
                    self.task.recommender(model),
                    self.validation_split,
                    self.task.num_items,
                    ks=self.eval_args.eval_ks,
                    batch_size=self.eval_args.eval_batch_size,
                    max_users=self.eval_args.validation_max_users,
                    subset_seed=self.args.seed,
                    show_progress=self.args.show_progress,
                    description=f"validation @ step {step}",
                    accelerator=self.accelerator,
                    item_counts=self._item_counts,
                )
        finally:
            model.train()
        return result.metrics

    def _check_output_dir(self) -> None:
        """Refuse to mix a new run into an output_dir holding another run's checkpoints (unless told to)."""
        if self.accelerator.is_main_process:
            prepare_output_dir(
                self.output_dir,
                self.args.resume_from_checkpoint,
                self.args.overwrite_output_dir,
                model_folders=(BEST_FOLDER, FINAL_FOLDER),
            )
        self.accelerator.wait_for_everyone()

    # ----------------------------------------------------------------------------------------------
    def train(self, stop_at_step: int | None = None) -> TrainOutput:
        """Run (or resume) training to ``total_steps``, holding the output_dir's lock (one run per folder).

        Args:
            stop_at_step: end this call after the checkpoint of that global step, as an interruption
                would (the schedule still spans the whole run); for time-boxed jobs and resume tests.
        """
        main = self.accelerator.is_main_process
        with output_dir_lock(self.output_dir) if main else contextlib.nullcontext():
            return self._train(stop_at_step)

    def _train(self, stop_at_step: int | None) -> TrainOutput:
        args, accelerator = self.args, self.accelerator
        started = time.perf_counter()
        self._check_output_dir()
        optimizer = self._optimizer()
        scheduler = build_lr_scheduler(
            optimizer,
            args.lr_schedule,
            self.total_steps,
            args.warmup_steps,
            args.decay_fraction,
            args.final_lr_ratio,
        )
        # The plain scheduler is not prepared (accelerate's wrapper would step it once per process, but
        # total_steps already counts optimizer steps) nor registered (accelerate would pickle it); its state
        # travels as JSON in trainer_state.json.
        self.model, optimizer = accelerator.prepare(self.model, optimizer)
        if args.report_to:
            accelerator.init_trackers(self.output_dir.name or "mindrec", config=flat_config(asdict(args)))
        adapter_only = isinstance(accelerator.unwrap_model(self.model), PeftModel)
        if adapter_only:
            accelerator.register_save_state_pre_hook(_keep_trainable_weights)
        self._average = (
            None
            if args.ema_decay is None
            else WeightAverage(accelerator.unwrap_model(self.model).named_parameters(), args.ema_decay)
        )

        state = self._fresh_state()
        if args.resume_from_checkpoint is not None:
            path = resolve_checkpoint(args.resume_from_checkpoint, self.output_dir)
            saved = read_trainer_state(path)
            check_compatible(path, saved, self.signature, self._run_settings())
            lr_state = scheduler_state(saved, path)
            # The adapter-only checkpoints of the LLM setting hold the trainable weights alone.
            load_checkpoint(accelerator, path, strict=not adapter_only)
            if self._average is not None:
                self._average.load(path)
            scheduler.load_state_dict(lr_state)
            state.update(
                {
                    key: saved[key]
                    for key in ("global_step", "epoch", "best_metric", "best_step", "validation")
                }
            )
            # Checkpoints written before the run history existed lack these keys.
            state.update({key: saved[key] for key in ("loss_history", "train_seconds") if key in saved})
            logger.info("Resumed from %s at step %d", path, state["global_step"])

        if accelerator.is_main_process:
            logger.info(
                "Training: %d rows, %d steps per epoch, %d steps, batch %d x %d processes, mixed precision %s",
                len(self._train_rows),
                self.steps_per_epoch,
                self.total_steps,
                args.train_batch_size,
                accelerator.num_processes,
                accelerator.mixed_precision,
            )
        progress = tqdm(
            total=self.total_steps,
            initial=state["global_step"],
            desc="training",
            disable=not (args.show_progress and accelerator.is_main_process),
        )
        self.model.train()
        running_loss, running_steps = torch.zeros((), device=accelerator.device), 0
        order_epoch, order = None, None
        stopped_early = False
        step_clock = time.perf_counter()
        while state["global_step"] < self.total_steps:
            step = state["global_step"]
            epoch = step // self.steps_per_epoch
            if epoch != order_epoch:
                order_epoch, order = epoch, self._epoch_order(epoch)
            rank = accelerator.process_index
            collate_generator = torch.Generator().manual_seed(derive_seed("collate", args.seed, step, rank))
            noise_generator = torch.Generator(device=accelerator.device).manual_seed(
                derive_seed("noise", args.seed, step, rank)
            )
            batch = self.task.collate(self._rows(step, order), collate_generator)
            batch = {key: value.to(accelerator.device) for key, value in batch.items()}

            with accelerator.autocast():
                loss = self.task.loss(self.model, batch, noise_generator)
            accelerator.backward(loss)
            if args.max_grad_norm is not None:
                accelerator.clip_grad_norm_(self.model.parameters(), args.max_grad_norm)
            optimizer.step()
            if self._average is not None:
                self._average.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            step += 1
            state["global_step"], state["epoch"] = step, step / self.steps_per_epoch
            running_loss += loss.detach().float()
            running_steps += 1
            progress.update(1)
            now = time.perf_counter()
            state["train_seconds"] += now - step_clock
            step_clock = now
            if step % args.logging_steps == 0 or step == self.total_steps:
                mean_loss = float(accelerator.reduce(running_loss, "mean")) / running_steps
                running_loss.zero_()
                running_steps = 0
                state["loss_history"].append(
                    {
                        "step": step,
                        "epoch": round(state["epoch"], 4),
                        "seconds": round(state["train_seconds"], 2),
                        "loss": mean_loss,
                        "learning_rate": scheduler.get_last_lr()[0],
                    }
                )
                accelerator.log({"train/loss": mean_loss, "train/learning_rate": scheduler.get_last_lr()[0]}, step=step)
                if accelerator.is_main_process:
                    logger.info(
                        "step %d/%d epoch %.2f loss %.4f lr %.2e",
                        step,
                        self.total_steps,
                        state["epoch"],
                        mean_loss,
                        scheduler.get_last_lr()[0],
                    )
                    progress.set_postfix(loss=f"{mean_loss:.4f}")

            out_of_time = (
                args.max_train_minutes is not None
                and step < self.total_steps
                and state["train_seconds"] >= 60 * args.max_train_minutes
            )
            # The step that spends the time budget ends the run as the last step would: validated and saved.
            last = step == self.total_steps or out_of_time
            validate = self.validation_split is not None and (self._validates_at(step) or last)
            if validate:
                self._record_validation(state, step)
                state["stopped_by_patience"] = not last and self._patience_exhausted(state)
                if accelerator.is_main_process and not last:
                    self._write_history(state, plot=False)
                step_clock = time.perf_counter()  # validation time is not training time
            save = (
                (args.save_steps and step % args.save_steps == 0)
                or (not args.save_steps and validate)
                or last
            )
            stop = stop_at_step is not None and step >= stop_at_step and not last
            if save or stop or state["stopped_by_patience"]:
                state[SCHEDULER_STATE_KEY] = scheduler.state_dict()
                save_checkpoint(
                    accelerator,
                    self.output_dir,
                    step,
                    state,
                    args.save_total_limit,
                    write_extra=None if self._average is None else self._average.save,
                )
            if stop:
                stopped_early = True
                break
            if out_of_time:
                state["stopped_by_time"] = True
                logger.info(
                    "Training-time budget of %.1f min spent at step %d of %d (best: step %s).",
                    args.max_train_minutes,
                    step,
                    self.total_steps,
                    state["best_step"],
                )
                break
            if state["stopped_by_patience"]:
                logger.info(
                    "Early stopping at step %d: %d validations without a new best %s (best: step %s).",
                    step,
                    args.early_stopping_patience,
                    self.eval_args.selection_metric,
                    state["best_step"],
                )
                break
        progress.close()
        if args.report_to:
            accelerator.end_training()
        if accelerator.is_main_process:
            self._write_history(state, plot=True)

        final_dir = None
        if not stopped_early:
            final_dir = self.output_dir / FINAL_FOLDER
            if accelerator.is_main_process:
                with self._averaged_weights():
                    self.save_model(final_dir, accelerator.unwrap_model(self.model))
            accelerator.wait_for_everyone()
        best_dir = self.output_dir / BEST_FOLDER if state["best_step"] is not None else None
        return TrainOutput(
            global_step=state["global_step"],
            best_step=state["best_step"],
            best_metric=state["best_metric"],
            validation=list(state["validation"]),
            train_seconds=time.perf_counter() - started,
            final_dir=final_dir,
            best_dir=best_dir,
            stopped_early=stopped_early,
            stopped_by_patience=state["stopped_by_patience"],
            stopped_by_time=state["stopped_by_time"],
        )

    def _patience_exhausted(self, state: dict[str, Any]) -> bool:
        """``early_stopping_patience`` validations in a row since the best one brought no new best."""
        patience = self.args.early_stopping_patience
        if patience is None or state["best_step"] is None:
            return False
        since_best = sum(1 for entry in state["validation"] if entry["step"] > state["best_step"])
        return since_best >= patience

    def _write_history(self, state: dict[str, Any], plot: bool) -> None:
        """``metrics.json`` (rewritten at every validation, so a running job can be watched) and, with
        ``plot`` and matplotlib installed, ``learning_curves.png`` in output_dir."""
        path = write_run_metrics(
            self.output_dir,
            {
                "loss": state["loss_history"],
                "validation": state["validation"],
                "best_step": state["best_step"],
                "selection_metric": self.eval_args.selection_metric,
                "stopped_by_patience": state["stopped_by_patience"],
                "stopped_by_time": state["stopped_by_time"],
            },
        )
        if not plot or not state["validation"]:
            return
        if not matplotlib_available():
            logger.info("Wrote %s; learning_curves.png needs matplotlib (pip install 'mindrec[bench]').", path)
            return
        metric = self.eval_args.selection_metric
        plot_learning_curves({self.output_dir.name: state["validation"]}, self.output_dir / CURVES_FILE, metric=metric)

    def _averaged_weights(self) -> contextlib.AbstractContextManager:
        """The model holds the weight average inside the block (``ema_decay``); a no-op without one."""
        return contextlib.nullcontext() if self._average is None else self._average.averaged_weights()

    def _record_validation(self, state: dict[str, Any], step: int) -> None:
        with self._averaged_weights():
            self._validate_and_keep_best(state, step)

    def _validate_and_keep_best(self, state: dict[str, Any], step: int) -> None:
        metrics = self._validate(step)
        self.accelerator.log({f"validation/{key}": value for key, value in metrics.items()}, step=step)
        name = self.eval_args.selection_metric
        entry = {
            "step": step,
            "epoch": round(step / self.steps_per_epoch, 4),
            "seconds": round(state["train_seconds"], 2),
            **metrics,
        }
        state["validation"].append(entry)
        improved = state["best_metric"] is None or metrics[name] > state["best_metric"]
        if self.accelerator.is_main_process:
            logger.info(
                "validation @ step %d: %s%s",
                step,
                ", ".join(f"{key} {value:.4f}" for key, value in metrics.items()),
                " (best so far)" if improved else "",
            )
        if improved:
            state["best_metric"], state["best_step"] = metrics[name], step
            if self.accelerator.is_main_process:
                self.save_model(self.output_dir / BEST_FOLDER, self.accelerator.unwrap_model(self.model))
            self.accelerator.wait_for_everyone()


def _keep_trainable_weights(
    models: list[torch.nn.Module], weights: list[dict[str, torch.Tensor]], output_dir: str
) -> None:
    """accelerate save hook (LLM setting): checkpoint only the trainable (LoRA, item-row) weights."""
    for model, state in zip(models, weights, strict=True):
        trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
        for key in [key for key in state if key not in trainable]:
            del state[key]


__all__ = [
    "BEST_FOLDER",
    "FINAL_FOLDER",
    "TrainOutput",
    "Trainer",
    "close_processes",
    "derive_seed",
    "make_accelerator",
    "resolve_mixed_precision",
]
