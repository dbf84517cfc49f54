"""Training loop for :class:`~mindrec.baselines.sasrec.SASRecModel`, selected on validation NDCG@10.

One training example per **train row** (``history -> target``, ARCHITECTURE.md), loss at the last
position only, rather than the reference code's one sequence per user with a loss at every
position. Each row then sees exactly the right-aligned window it would see at test time; the cost
is a few times more transformer work, kept small by batching rows of similar length together.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass

import torch
from datasets import Dataset, DatasetDict
from tqdm.auto import tqdm

from ..evaluation.metrics import ranking_metrics
from ..training.arguments import check_field_types
from .popularity import interaction_counts, transition_counts
from .sasrec import SASRecConfig, SASRecModel, collate_histories, sample_negatives

logger = logging.getLogger(__name__)

SELECTION_METRIC = "ndcg@10"
VALIDATION_KS = (1, 5, 10)


@dataclass
class SASRecTrainingArguments:
    """Optimisation settings of :func:`train_sasrec` (defaults: DESIGN.md §8).

    Args:
        learning_rate: Adam learning rate.
        weight_decay: Adam (L2) weight decay.
        train_batch_size: train rows per step.
        eval_batch_size: users per forward pass during validation.
        num_epochs: maximum number of passes over the train rows.
        patience: stop after this many epochs without a new best validation NDCG@10.
        seed: seeds the initialisation, dropout, batch order and negative sampling.
        max_train_minutes: stop after the first epoch that ends past this wall-clock budget (``None``: no budget).
        eval_exclude_history: exclude history items when ranking for validation (match the test protocol).
        show_progress: show a tqdm bar over each epoch's batches.
        device: where the model trains (``None``: the GPU when one is visible, else the CPU). Batch order
            and negatives are drawn on the CPU either way, so a seed picks the same batches everywhere.
    """

    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    train_batch_size: int = 256
    eval_batch_size: int = 1024
    num_epochs: int = 200
    patience: int = 5
    seed: int = 42
    max_train_minutes: float | None = None
    eval_exclude_history: bool = False
    show_progress: bool = True
    device: str | None = None

    def __post_init__(self):
        check_field_types(self)
        if self.learning_rate <= 0 or self.weight_decay < 0:
            raise ValueError(
                f"learning_rate must be > 0 and weight_decay >= 0, got {self.learning_rate} and {self.weight_decay}"
            )
        for name in ("train_batch_size", "eval_batch_size", "num_epochs", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_train_minutes is not None and self.max_train_minutes <= 0:
            raise ValueError(f"max_train_minutes must be > 0 or None, got {self.max_train_minutes}")


def _check_split(split: Dataset, name: str, num_items: int) -> None:
    missing = {"history", "target"} - set(split.column_names)
    if missing:
        raise ValueError(f"{name} split lacks column(s) {sorted(missing)}; it has {split.column_names}")
    if len(split) == 0:
        raise ValueError(f"{name} split is empty")
    for row, target in enumerate(split["target"]):
        if not 0 <= target < num_items:
            raise ValueError(f"{name} row {row} has target {target}, outside 0..{num_items - 1}")


def _length_grouped_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Random batches of row indices whose rows have similar lengths (less padding per batch).

    Shuffle, cut into chunks of 50 batches, sort each chunk by length, split it into batches, then
    shuffle the batch order: every epoch differs, yet a batch rarely mixes long and short rows.
    """
    order = torch.randperm(len(lengths), generator=generator)
    chunk = batch_size * 50
    batches: list[torch.Tensor] = []
    for start in range(0, len(order), chunk):
        rows = order[start : start + chunk]
        rows = rows[torch.argsort(lengths[rows], stable=True)]
        batches.extend(rows.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


@torch.no_grad()
def evaluate_sasrec(
    model: SASRecModel, split: Dataset, exclude_history: bool = False, batch_size: int = 1024
) -> dict[str, float]:
    """Full-catalogue ranking metrics (``hr@K``, ``ndcg@K`` for K in 1, 5, 10, and ``mrr``) on ``split``."""
    ranked = model.recommend(
        split["history"], k=max(VALIDATION_KS), exclude_history=exclude_history, batch_size=batch_size
    )
    return ranking_metrics(ranked, split["target"], ks=VALIDATION_KS)


def train_sasrec(
    splits: DatasetDict,
    num_items: int,
    config: SASRecConfig | None = None,
    args: SASRecTrainingArguments | None = None,
    item_brand_ids: torch.Tensor | None = None,
) -> tuple[SASRecModel, list[dict[str, float]]]:
    """Train SASRec on ``splits["train"]``, early-stopped on ``splits["validation"]`` NDCG@10.

    Args:
        splits: leave-one-out ``DatasetDict`` with ``train`` and ``validation`` (rows ``history``, ``target``).
        num_items: catalogue size (item indices ``0 .. num_items-1``); must be >= 10.
        config: model config; default ``SASRecConfig()``. Its ``num_items`` is filled in when unset.
        args: optimisation settings; default ``SASRecTrainingArguments()``.
        item_brand_ids: ``[num_items]`` each item's brand id (-1 = none; :func:`mindrec.data.item_brand_ids`), which
            a config with ``brand_adjustment`` > 0 needs (and no other may be given them).

    Returns:
        ``(model, history)``: the model restored to its best validation epoch, in eval mode, and one
        dict per epoch: ``epoch``, ``step`` (optimizer steps so far), ``train_loss``, ``seconds`` (cumulative
        training + validation time), ``train_seconds`` (cumulative, validation excluded, the time axis of
        MindRec's learning curves) and validation ``hr@K`` / ``ndcg@K`` / ``mrr``.
    """
    args = args or SASRecTrainingArguments()
    config = copy.deepcopy(config) if config is not None else SASRecConfig()
    if config.num_items is None:
        config.num_items = num_items
    elif config.num_items != num_items:
        raise ValueError(f"config.num_items={config.num_items} but num_items={num_items}")
    if num_items < max(VALIDATION_KS):
        raise ValueError(
            f"validation ranks top-{max(VALIDATION_KS)} lists; num_items={num_items} is too small"
        )
    for name in ("train", "validation"):
        if name not in splits:
            raise ValueError(f"splits needs a {name!r} split; it has {sorted(splits)}")
        _check_split(splits[name], name, num_items)

    torch.manual_seed(args.seed)  # initialisation and dropout
    generator = torch.Generator().manual_seed(args.seed)  # batch order and negatives
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = SASRecModel(config)
    if config.popularity_prior:
        model.set_item_counts(interaction_counts(splits["train"], num_items))
    if config.transition_adjustment or config.transition_prior:
        model.set_item_transitions(transition_counts(splits["train"], num_items, config.transition_gap_decay))
    if bool(config.brand_adjustment) != (item_brand_ids is not None):
        raise ValueError(
            "brand_adjustment > 0 needs the items' brands (item_brand_ids=)"
            if config.brand_adjustment
            else "item_brand_ids were given but config.brand_adjustment is 0"
        )
    if item_brand_ids is not None:
        model.set_item_brands(item_brand_ids)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)

    train = splits["train"]
    input_ids, attention_mask = collate_histories(train["history"], num_items, config.max_history)  # [N, W]
    targets = torch.tensor(train["target"], dtype=torch.long)  # [N]
    lengths = attention_mask.sum(dim=1)
    logger.info(
        "SASRec: %d train rows, %d validation rows, %d items, %d parameters",
        len(train),
        len(splits["validation"]),
        num_items,
        sum(p.numel() for p in model.parameters()),
    )

    history: list[dict[str, float]] = []
    best_score, best_state, best_epoch = float("-inf"), None, 0
    start = time.perf_counter()
    steps, validation_seconds = 0, 0.0
    for epoch in range(1, args.num_epochs + 1):
        model.train()
        total_loss, total_rows = 0.0, 0
        batches = _length_grouped_batches(lengths, args.train_batch_size, generator)
        for rows in tqdm(batches, desc=f"SASRec epoch {epoch}", leave=False, disable=not args.show_progress):
            width = max(int(lengths[rows].max()), 1)  # trim the shared left padding of this batch
            labels = targets[rows]
            negatives = sample_negatives(labels, num_items, generator) if config.loss_type == "bce" else None
            loss = model(
                input_ids[rows, -width:].to(device),
                attention_mask[rows, -width:].to(device),
                labels=labels.to(device),
                negative_items=None if negatives is None else negatives.to(device),
            ).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(rows)
            total_rows += len(rows)
            steps += 1

        validation_started = time.perf_counter()
        metrics = evaluate_sasrec(
            model, splits["validation"], args.eval_exclude_history, args.eval_batch_size
        )
        now = time.perf_counter()
        validation_seconds += now - validation_started
        record = {
            "epoch": epoch,
            "step": steps,
            "train_loss": total_loss / total_rows,
            "seconds": now - start,
            "train_seconds": now - start - validation_seconds,
        }
        record.update({f"validation_{name}": value for name, value in metrics.items()})
        history.append(record)
        score = metrics[SELECTION_METRIC]
        logger.info(
            "SASRec epoch %d: loss %.4f, validation %s %.4f (best %.4f), %.0f s",
            epoch,
            record["train_loss"],
            SELECTION_METRIC,
            score,
            max(score, best_score),
            record["seconds"],
        )
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        elif epoch - best_epoch >= args.patience:
            logger.info("SASRec: no validation gain for %d epochs; stopping", args.patience)
            break
        if args.max_train_minutes is not None and record["seconds"] > 60 * args.max_train_minutes:
            logger.info("SASRec: time budget of %.1f min spent; stopping", args.max_train_minutes)
            break

    model.load_state_dict(best_state)
    model.eval()
    logger.info(
        "SASRec: best epoch %d, validation %s %.4f; args %s",
        best_epoch,
        SELECTION_METRIC,
        best_score,
        asdict(args),
    )
    return model, history


__all__ = ["SASRecTrainingArguments", "evaluate_sasrec", "train_sasrec"]
