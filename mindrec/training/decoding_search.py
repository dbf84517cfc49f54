"""Decoding options chosen on validation after training (``EvaluationArguments.decoding_grid``).

The fused decoder's options (how much the generative score counts for rare items, the transition credit, ...) are
worth what the trained model's two heads are worth on the data at hand: ``rare_item_generative_weight`` 20 lifts
full Beauty and costs the 5,000-user subset, where the generative head ranks below popularity. A grid searched on
the validation users that select checkpoints lets one config serve datasets it was not tuned on.

The search is coordinate-wise: the options in the order given, each over its listed values with the options before it
at their chosen values and the ones after it as configured, so its cost is the total number of values, not their
product. When an option's values ascend and validation's best is at either end, the search goes on past that end in
the grid's own step while validation improves (at most ``MAX_GRID_EXTENSIONS`` values): a grid written for one dataset
must not hold another at its edge (beauty-mindrec's brand credit chose the largest listed value for every model).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from mindrec.training.arguments import (
    MAX_GRID_EXTENSIONS,
    DecodingArguments,
    EvaluationArguments,
    decoding_options_of,
    parse_decoding_grid,
)

logger = logging.getLogger(__name__)

Options = TypeVar("Options")


def _extension_direction(values: Sequence[float], best: float) -> tuple[float, float] | None:
    """``(edge, step)`` to go on from when ``best`` is an end of the ascending ``values``: past the last value in the
    last step, below the first in the first step (negative); None when ``values`` do not ascend or ``best`` is inside."""
    if len(values) < 2 or any(later <= earlier for earlier, later in zip(values[:-1], values[1:], strict=True)):
        return None
    if best == values[-1]:
        return values[-1], values[-1] - values[-2]
    if best == values[0]:
        return values[0], values[0] - values[1]
    return None


def search_decoding_grid(
    start: Options,
    grid: Sequence[tuple[str, Sequence[float]]],
    score: Callable[[Options], float],
    with_value: Callable[..., Options] = decoding_options_of,
) -> tuple[Options, list[dict[str, Any]]]:
    """Coordinate search of ``grid`` (``[(option, values), ...]``) from ``start``, maximising ``score``.
    ``with_value(options, name=value)`` returns ``options`` with one value changed, or raises a ValueError when that
    value is invalid beside the others (:func:`decoding_options_of` for MindRec's :class:`DecodingArguments`).

    Returns the chosen options and one trial per value tried, in order: ``{"option", "value", "metric"}`` (plus
    ``"chosen": True`` on each option's winner), or ``{"option", "value", "skipped": reason}`` for a value the options
    chosen before it make invalid (a ``transition_decay`` when ``transition_adjustment`` 0 was chosen, say). Ties go
    to the value listed first. When an option's values ascend and the best is an end of them, values past that end in
    the grid's step are tried while each beats the best so far (at most :data:`~mindrec.training.arguments.MAX_GRID_EXTENSIONS`; trials marked
    ``"extended": True``); an invalid one (a negative credit, say) ends the extension and is not recorded.

    Raises:
        ValueError: every value of an option is invalid beside the options chosen before it.
    """
    chosen, trials = start, []
    for name, values in grid:
        best_metric, best_options, best_trial = None, None, None
        for value in values:
            try:
                options = with_value(chosen, **{name: value})
            except ValueError as error:
                logger.warning("decoding_grid: %s=%g skipped: %s", name, value, error)
                trials.append({"option": name, "value": value, "skipped": str(error)})
                continue
            metric = float(score(options))
            logger.info("decoding_grid: %s=%g -> %.4f", name, value, metric)
            trials.append({"option": name, "value": value, "metric": metric})
            if best_metric is None or metric > best_metric:
                best_metric, best_options, best_trial = metric, options, trials[-1]
        if best_options is None:
            raise ValueError(
                f"`decoding_grid`: no value of {name} is valid beside the options chosen before it ({trials[-1]['skipped']})."
            )
        extension = _extension_direction([float(value) for value in values], float(best_trial["value"]))
        for count in range(1, MAX_GRID_EXTENSIONS + 1 if extension else 1):
            value = round(extension[0] + count * extension[1], 10)  # no 0.30000000000000004 in the trials
            try:
                options = with_value(chosen, **{name: value})
            except ValueError as error:
                logger.info("decoding_grid: %s=%g not tried past the grid's end: %s", name, value, error)
                break
            metric = float(score(options))
            logger.info("decoding_grid: %s=%g (past the grid's end) -> %.4f", name, value, metric)
            trials.append({"option": name, "value": value, "metric": metric, "extended": True})
            if metric <= best_metric:
                break
            best_metric, best_options, best_trial = metric, options, trials[-1]
        best_trial["chosen"] = True
        chosen = best_options
    return chosen, trials


def choose_decoding_on_validation(
    model_dir: Path, data, eval_args: EvaluationArguments, accelerator, seed: int, show_progress: bool = True
) -> tuple[EvaluationArguments, list[dict[str, Any]]]:
    """Search ``eval_args.decoding_grid`` for the saved model ``model_dir`` on the validation users that selected it
    (``validation_max_users``, subset seeded by ``seed``), by ``selection_metric``; when the choice differs from the
    configured options, ``model_dir`` is saved again (atomically) with it in its generation config.

    Returns ``eval_args`` with the chosen options, and the trials (:func:`search_decoding_grid`).
    """
    from mindrec.pipeline import evaluate_mindrec, generation_config_from
    from mindrec.training.model_io import load_trained_model, save_trained_model

    trained = load_trained_model(model_dir, device=accelerator.device)

    def score(options: DecodingArguments) -> float:
        result = evaluate_mindrec(
            trained,
            data,
            options,
            accelerator,
            "validation",
            show_progress,
            max_users=eval_args.validation_max_users,
            subset_seed=seed,
        )
        return result.metrics[eval_args.selection_metric]

    grid = parse_decoding_grid(eval_args.decoding_grid)
    searched = [name for name, _ in grid]
    start = decoding_options_of(eval_args)
    chosen, trials = search_decoding_grid(start, grid, score)
    if chosen != start:
        logger.info(
            "decoding_grid chose %s; saving it to %s", {name: getattr(chosen, name) for name in searched}, model_dir
        )
        if accelerator.is_main_process:
            # A fresh copy, as saved: the search installed the validation counts in `trained`.
            fresh = load_trained_model(model_dir)
            config = generation_config_from(chosen, base=fresh.generation_config)
            save_trained_model(model_dir, fresh.model, fresh.tokenizer, config, fresh.run)
        accelerator.wait_for_everyone()
    return replace(eval_args, **{name: getattr(chosen, name) for name in searched}), trials


__all__ = ["choose_decoding_on_validation", "search_decoding_grid"]
