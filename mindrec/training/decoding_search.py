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
    grid_option_names,
    grid_options_of,
    parse_decoding_grid,
)

logger = logging.getLogger(__name__)

Options = TypeVar("Options")


def _extension_values(values: Sequence[float], best: float) -> list[float]:
    """The values to go on with when ``best`` is an end of the ascending ``values``: past the last value in the last
    step, or below the first in the first step, :data:`~mindrec.training.arguments.MAX_GRID_EXTENSIONS` of them; none
    when ``values`` do not ascend or ``best`` is inside them."""
    values = [float(value) for value in values]
    if len(values) < 2 or any(later <= earlier for earlier, later in zip(values[:-1], values[1:], strict=True)):
        return []
    if best == values[-1]:
        edge, step = values[-1], values[-1] - values[-2]
    elif best == values[0]:
        edge, step = values[0], values[0] - values[1]
    else:
        return []
    # Rounded, so that the trials read 0.3 rather than 0.30000000000000004.
    return [round(edge + count * step, 10) for count in range(1, MAX_GRID_EXTENSIONS + 1)]


def _try_value(chosen, name: str, value: float, score, with_value) -> tuple[dict[str, Any], Any]:
    """``(trial, options)`` for ``name=value`` from ``chosen``: the trial ``{"option", "value", "metric"}`` and the
    options scored, or ``{"option", "value", "skipped": reason}`` and None when the value is invalid beside them."""
    try:
        options = with_value(chosen, **{name: value})
    except ValueError as error:
        return {"option": name, "value": value, "skipped": str(error)}, None
    metric = float(score(options))
    logger.info("decoding_grid: %s=%g -> %.4f", name, value, metric)
    return {"option": name, "value": value, "metric": metric}, options


def search_decoding_grid(
    start: Options,
    grid: Sequence[tuple[str, Sequence[float]]],
    score: Callable[[Options], float],
    with_value: Callable[..., Options] = grid_options_of,
) -> tuple[Options, list[dict[str, Any]]]:
    """Coordinate search of ``grid`` (``[(option, values), ...]``) from ``start``, maximising ``score``.
    ``with_value(options, name=value)`` returns ``options`` with one value changed (a credit set to 0 takes the options
    that shape it to 0 too), or raises a ValueError when that value is invalid beside the others
    (:func:`~mindrec.training.arguments.grid_options_of` for MindRec's :class:`DecodingArguments`).

    Returns the chosen options and one trial per value tried, in order: ``{"option", "value", "metric"}`` (plus
    ``"chosen": True`` on each option's winner), or ``{"option", "value", "skipped": reason}`` for a value the options
    chosen before it make invalid (a ``transition_decay`` when ``transition_adjustment`` 0 was chosen, say). Ties go
    to the value listed first. When an option's values ascend and the best is an end of them, values past that end in
    the grid's step are tried while each beats the best so far (at most
    :data:`~mindrec.training.arguments.MAX_GRID_EXTENSIONS`; trials marked ``"extended": True``); an invalid one (a
    negative credit, say) ends the extension and is not recorded.

    Raises:
        ValueError: every value of an option is invalid beside the options chosen before it.
    """
    chosen, trials = start, []
    for name, values in grid:
        best_options, best_trial = None, None
        for value in values:
            trial, options = _try_value(chosen, name, value, score, with_value)
            trials.append(trial)
            if options is None:
                logger.warning("decoding_grid: %s=%g skipped: %s", name, value, trial["skipped"])
            elif best_trial is None or trial["metric"] > best_trial["metric"]:
                best_options, best_trial = options, trial
        if best_options is None:
            raise ValueError(
                f"`decoding_grid`: no value of {name} is valid beside the options chosen before it ({trials[-1]['skipped']})."
            )
        for value in _extension_values(values, float(best_trial["value"])):
            trial, options = _try_value(chosen, name, value, score, with_value)
            if options is None:  # e.g. a negative credit: the end of the extension, not a trial of the user's grid
                logger.info("decoding_grid: %s=%g not tried past the grid's end: %s", name, value, trial["skipped"])
                break
            trials.append({**trial, "extended": True})
            if trial["metric"] <= best_trial["metric"]:
                break
            best_options, best_trial = options, trials[-1]
        best_trial["chosen"] = True
        chosen = best_options
    return chosen, trials


def without_inert_options(grid: Sequence[tuple[str, Sequence[float]]], items) -> list[tuple[str, Sequence[float]]]:
    """``grid`` without the options that cannot change a score on the catalogue ``items`` (an item table with a
    ``brand`` column): ``brand_adjustment`` when no item has a brand, since every value would score alike (logged)."""
    from mindrec.data import item_brand_ids

    if "brand_adjustment" in dict(grid) and not bool((item_brand_ids(items) >= 0).any()):
        logger.info("No item of this catalogue has a brand: decoding_grid leaves brand_adjustment as configured.")
        return [(name, values) for name, values in grid if name != "brand_adjustment"]
    return list(grid)


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

    grid = without_inert_options(parse_decoding_grid(eval_args.decoding_grid), data.items)
    searched = grid_option_names(grid)
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


__all__ = ["choose_decoding_on_validation", "search_decoding_grid", "without_inert_options"]
