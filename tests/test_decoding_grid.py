"""Decoding options chosen on validation after training (``EvaluationArguments.decoding_grid``)."""

import json

import pytest

from mindrec.training.arguments import (
    EvaluationArguments,
    ModelArguments,
    check_decoding_grid,
    decoding_options_of,
    grid_option_names,
    grid_options_of,
    parse_decoding_grid,
    with_credits_off,
)
from mindrec.training.decoding_search import search_decoding_grid

FUSED = {"strategy": "catalogue_scoring", "retrieval_weight": 100.0}


def test_the_grid_is_read_in_the_order_given():
    assert parse_decoding_grid(["rare_item_generative_weight=0,10, 20", " transition_adjustment = 2,1"]) == [
        ("rare_item_generative_weight", [0.0, 10.0, 20.0]),
        ("transition_adjustment", [2.0, 1.0]),
    ]
    assert parse_decoding_grid([]) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("rare_item_generative_weight", "entries are NAME=V1,V2"),
        ("rare_item_generative_weight=", "entries are NAME=V1,V2"),
        ("num_beams=5,10", "cannot search 'num_beams'"),
        ("retrieval_weight=1,lots", "every value must be a number"),
        ("retrieval_weight=1,inf", "every value must be finite"),
        ("retrieval_weight=1,1.0", "lists a value twice"),
    ],
)
def test_a_bad_entry_is_named(entry, message):
    with pytest.raises(ValueError, match=message):
        EvaluationArguments(**FUSED, decoding_grid=[entry])


@pytest.mark.parametrize("value", [None, "transition_adjustment=1,2", ["transition_adjustment=1,2", 3]])
def test_a_grid_that_is_not_a_list_of_entries_is_named(value):
    # The benchmark's --set hands YAML values to the dataclass as they are: `null` or a bare string is no grid (a
    # string would otherwise be read one character at a time).
    with pytest.raises(ValueError, match=r"`decoding_grid` must be a list of str, got "):
        EvaluationArguments(**FUSED, decoding_grid=value)


def test_a_config_file_gives_the_grid_as_a_block_list_and_a_flow_list_is_explained(tmp_path):
    from mindrec.training.arguments import TRAIN_ARGUMENT_TYPES
    from mindrec.training.config_loading import parse_arguments

    config = tmp_path / "run.yaml"
    header = "strategy: catalogue_scoring\nretrieval_weight: 100\n"
    config.write_text(header + "decoding_grid:\n  - rare_item_generative_weight=0,10,20\n  - transition_adjustment=1,2\n")
    *_, eval_args = parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", str(config)])
    assert eval_args.decoding_grid == ["rare_item_generative_weight=0,10,20", "transition_adjustment=1,2"]
    config.write_text(header + "decoding_grid: [rare_item_generative_weight=0,10,20]\n")
    with pytest.raises(ValueError, match=r"got '10' \(in YAML, .*a flow list \[...\] splits it at its commas"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", str(config)])


def test_an_option_named_twice_is_refused():
    with pytest.raises(ValueError, match="names 'retrieval_weight' twice"):
        parse_decoding_grid(["retrieval_weight=1,10", "retrieval_weight=100"])


def test_values_invalid_beside_the_configured_options_are_refused_before_training():
    model_args = ModelArguments()
    no_credit = EvaluationArguments(**FUSED, decoding_grid=["transition_decay=0,0.5"])
    with pytest.raises(
        ValueError, match=r"transition_decay=0.5 is invalid: .*needs transition_adjustment > 0"
    ):
        check_decoding_grid(model_args, no_credit)
    negative = EvaluationArguments(**FUSED, decoding_grid=["rare_item_generative_weight=-1,0"])
    with pytest.raises(ValueError, match=r"rare_item_generative_weight=-1 is invalid: .*must be >= 0"):
        check_decoding_grid(model_args, negative)
    check_decoding_grid(
        model_args, EvaluationArguments(**FUSED, decoding_grid=["rare_item_generative_weight=0,20"])
    )


def test_the_main_job_refuses_an_invalid_grid_before_it_trains(tmp_path):
    from training_support import tiny_fused_arguments

    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_fused_arguments(tmp_path, decoding_grid=["transition_decay=0,0.5"])
    with pytest.raises(ValueError, match=r"transition_decay=0.5 is invalid"):
        run(*arguments, accelerator=make_accelerator("no"))
    assert not (tmp_path / "final").exists() and not (tmp_path / "best").exists()


def test_deftrec_has_no_decoding_options_to_choose():
    with pytest.raises(ValueError, match="DeftRec models have none"):
        check_decoding_grid(
            ModelArguments(model_type="deftrec"),
            EvaluationArguments(**FUSED, decoding_grid=["retrieval_weight=1,10"]),
        )


def test_the_search_goes_one_option_at_a_time_from_the_values_chosen_before_it():
    start = decoding_options_of(EvaluationArguments(**FUSED, transition_adjustment=1.0))
    table = {
        (100.0, 1.0): 0.10, (10.0, 1.0): 0.30, (1.0, 1.0): 0.20, (10.0, 0.0): 0.25, (10.0, 2.0): 0.35, (10.0, 4.0): 0.33,
    }
    seen = []

    def score(options):
        seen.append((options.retrieval_weight, options.transition_adjustment))
        return table[seen[-1]]

    grid = [("retrieval_weight", [100.0, 10.0, 1.0]), ("transition_adjustment", [0.0, 2.0])]
    chosen, trials = search_decoding_grid(start, grid, score)
    # The second option is searched at the first's chosen value (10), not its configured one (100).
    # The descending first grid is not extended; the second's best is its end, so 4 (its step on) is tried and loses.
    assert seen == [(100.0, 1.0), (10.0, 1.0), (1.0, 1.0), (10.0, 0.0), (10.0, 2.0), (10.0, 4.0)]
    assert (chosen.retrieval_weight, chosen.transition_adjustment) == (10.0, 2.0)
    assert chosen.strategy == "catalogue_scoring" and chosen.num_beams == start.num_beams
    assert [trial["value"] for trial in trials if trial.get("chosen")] == [10.0, 2.0]
    assert [(trial["option"], trial["value"], trial["metric"]) for trial in trials] == [
        ("retrieval_weight", 100.0, 0.10),
        ("retrieval_weight", 10.0, 0.30),
        ("retrieval_weight", 1.0, 0.20),
        ("transition_adjustment", 0.0, 0.25),
        ("transition_adjustment", 2.0, 0.35),
        ("transition_adjustment", 4.0, 0.33),
    ]
    assert trials[-1]["extended"] is True and not any(trial.get("extended") for trial in trials[:-1])


def test_a_best_value_at_the_end_of_an_ascending_grid_goes_on_in_its_step_while_validation_improves():
    start = decoding_options_of(EvaluationArguments(**FUSED, brand_adjustment=2.0))
    seen = []

    def peak_at(top):
        def score(options):
            seen.append(options.brand_adjustment)
            return -abs(options.brand_adjustment - top)

        return score

    chosen, trials = search_decoding_grid(start, [("brand_adjustment", [2.0, 4.0, 6.0])], peak_at(11.0))
    # 8 and 10 improve, 12 ties 10 (not better): the search stops there and keeps 10.
    assert seen == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0] and chosen.brand_adjustment == 10.0
    assert [trial["value"] for trial in trials if trial.get("extended")] == [8.0, 10.0, 12.0]
    assert [trial["value"] for trial in trials if trial.get("chosen")] == [10.0]
    seen.clear()
    chosen, _ = search_decoding_grid(start, [("brand_adjustment", [2.0, 4.0, 6.0])], peak_at(100.0))
    assert seen == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0] and chosen.brand_adjustment == 14.0  # at most 4 more
    # Below the first value in the first step, until a value is invalid (a negative credit is never tried).
    seen.clear()
    chosen, trials = search_decoding_grid(start, [("brand_adjustment", [4.0, 6.0, 8.0])], peak_at(-1.0))
    assert seen == [4.0, 6.0, 8.0, 2.0, 0.0] and chosen.brand_adjustment == 0.0
    assert [trial["value"] for trial in trials] == [4.0, 6.0, 8.0, 2.0, 0.0]
    # Steps are the grid's own (0.2 - 0.1), the values written without float noise (0.3, not 0.30000000000000004).
    seen.clear()
    chosen, _ = search_decoding_grid(start, [("transition_adjustment", [0.1, 0.2])], lambda o: seen.append(o.transition_adjustment) or o.transition_adjustment)
    assert seen == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    # A best inside the grid is not extended.
    seen.clear()
    search_decoding_grid(start, [("brand_adjustment", [2.0, 4.0, 6.0])], peak_at(4.0))
    assert seen == [2.0, 4.0, 6.0]


def test_ties_go_to_the_value_listed_first():
    start = decoding_options_of(EvaluationArguments(**FUSED))
    chosen, trials = search_decoding_grid(
        start, [("rare_item_generative_weight", [20.0, 0.0, 10.0])], lambda options: 0.5
    )
    assert chosen.rare_item_generative_weight == 20.0
    assert [trial.get("chosen", False) for trial in trials] == [True, False, False]


def test_values_the_earlier_choice_makes_invalid_are_skipped_by_name():
    start = decoding_options_of(EvaluationArguments(**FUSED, transition_adjustment=1.0))
    grid = [("transition_adjustment", [0.0, 1.0]), ("transition_decay", [0.0, 0.5])]
    # transition_adjustment 0 wins, so a transition_decay of 0.5 is no longer valid.
    chosen, trials = search_decoding_grid(start, grid, lambda options: 1.0 - options.transition_adjustment)
    assert (chosen.transition_adjustment, chosen.transition_decay) == (0.0, 0.0)
    assert trials[-1]["value"] == 0.5 and "needs transition_adjustment > 0" in trials[-1]["skipped"]
    assert "metric" not in trials[-1]
    with pytest.raises(ValueError, match="no value of transition_decay is valid"):
        search_decoding_grid(
            start, [grid[0], ("transition_decay", [0.5])], lambda options: 1.0 - options.transition_adjustment
        )


SHAPED_CREDIT = {
    "transition_adjustment": 2.0,
    "transition_decay": 0.5,
    "transition_conditioning": 0.5,
    "transition_gap_decay": 0.5,
}
CREDIT_OFF = dict.fromkeys(SHAPED_CREDIT, 0.0)


def _transition_options(options) -> dict[str, float]:
    return {name: getattr(options, name) for name in SHAPED_CREDIT}


def test_a_credit_set_to_zero_by_the_grid_takes_its_shape_options_with_it():
    shaped = EvaluationArguments(**FUSED, **SHAPED_CREDIT)
    # Beside a credit of 0 a shape option > 0 is refused: the plain option change still says so ...
    with pytest.raises(ValueError, match="needs transition_adjustment > 0"):
        decoding_options_of(shaped, transition_adjustment=0.0)
    # ... while the grid's turns the credit off whole, and leaves a shaped credit > 0 as it is.
    assert _transition_options(grid_options_of(shaped, transition_adjustment=0.0)) == CREDIT_OFF
    assert _transition_options(grid_options_of(shaped, transition_adjustment=1.0)) == {**SHAPED_CREDIT, "transition_adjustment": 1.0}
    # A shape option the change names itself is kept (and refused beside 0, by name).
    assert with_credits_off({"transition_adjustment": 0.0, "transition_decay": 0.25}, {"transition_adjustment": ("transition_decay", "x")}) == {
        "x": 0.0, "transition_decay": 0.25, "transition_adjustment": 0.0,
    }
    assert grid_option_names([("transition_adjustment", [0.0, 1.0]), ("transition_decay", [0.5])]) == [
        "transition_adjustment", "transition_decay", "transition_conditioning", "transition_gap_decay",
    ]
    assert grid_option_names([("brand_adjustment", [1.0])]) == ["brand_adjustment"]
    # A config that shapes the credit can list 0 in its grid (before, the check refused it).
    check_decoding_grid(ModelArguments(), EvaluationArguments(**FUSED, **SHAPED_CREDIT, decoding_grid=["transition_adjustment=0,1,2"]))


def test_the_search_can_turn_a_shaped_credit_off_below_its_grid():
    start = decoding_options_of(EvaluationArguments(**FUSED, **SHAPED_CREDIT))
    seen = []

    def score(options):
        seen.append(_transition_options(options))
        return -options.transition_adjustment  # the less credit, the better

    chosen, trials = search_decoding_grid(start, [("transition_adjustment", [1.0, 1.5, 2.0])], score)
    # Below the grid in its step: 0.5, then 0 (the credit off, its shape with it); -0.5 is invalid and ends it.
    assert [options["transition_adjustment"] for options in seen] == [1.0, 1.5, 2.0, 0.5, 0.0]
    assert seen[-2] == {**SHAPED_CREDIT, "transition_adjustment": 0.5} and seen[-1] == CREDIT_OFF
    assert _transition_options(chosen) == CREDIT_OFF and trials[-1] == {
        "option": "transition_adjustment", "value": 0.0, "metric": 0.0, "extended": True, "chosen": True,
    }


@pytest.mark.slow
def test_the_main_job_chooses_on_validation_and_saves_the_choice(tmp_path):
    from training_support import tiny_fused_arguments

    from mindrec.pipeline import report, run
    from mindrec.training.model_io import load_trained_model
    from mindrec.training.trainer import make_accelerator

    # retrieval_weight's configured 1 is not a candidate: the choice differs, so best/ is saved again.
    grid = ["rare_item_generative_weight=0,50", "retrieval_weight=0.01,100"]
    arguments = tiny_fused_arguments(tmp_path, max_steps=4, decoding_grid=grid)
    result = run(*arguments, accelerator=make_accelerator("no"))
    trials = result.decoding_search
    assert [(trial["option"], trial["value"]) for trial in trials] == [
        ("rare_item_generative_weight", 0.0),
        ("rare_item_generative_weight", 50.0),
        ("retrieval_weight", 0.01),
        ("retrieval_weight", 100.0),
    ]
    chosen = {}
    for option in ("retrieval_weight", "rare_item_generative_weight"):
        tried = [trial for trial in trials if trial["option"] == option]
        chosen[option] = max(tried, key=lambda trial: trial["metric"])["value"]
        assert [trial["value"] for trial in tried if trial.get("chosen")] == [chosen[option]]
    # The first configuration tried is the model's own: it scores what checkpoint selection recorded.
    assert trials[0]["metric"] == pytest.approx(result.train.best_metric)
    saved = load_trained_model(tmp_path / "best")  # the folder re-saved whole: its manifest still verifies
    assert saved.generation_config.retrieval_weight == chosen["retrieval_weight"]
    assert saved.generation_config.rare_item_generative_weight == chosen["rare_item_generative_weight"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["decoding_search"] == trials
    assert metrics["run"]["evaluation"]["decoding_grid"] == arguments[4].decoding_grid
    assert saved.generation_config.retrieval_weight != arguments[4].retrieval_weight
    assert "Decoding options chosen on validation: rare_item_generative_weight" in report(
        result, arguments[4]
    )


def test_a_catalogue_without_brands_does_not_search_the_brand_credit(tmp_path, caplog):
    import dataclasses
    import logging

    from training_support import tiny_fused_arguments

    from mindrec.pipeline import run
    from mindrec.training.decoding_search import choose_decoding_on_validation, without_inert_options
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_fused_arguments(tmp_path, max_steps=2, do_test=False)
    result = run(*arguments, accelerator=make_accelerator("no"))
    eval_args = dataclasses.replace(
        arguments[4], brand_adjustment=5.0, decoding_grid=["brand_adjustment=0,2", "rare_item_generative_weight=0,50"]
    )
    brandless = dataclasses.replace(result.data, items=result.data.items.map(lambda _: {"brand": ""}))
    logging.getLogger().addHandler(caplog.handler)  # the run's logging set-up replaced the root handlers
    with caplog.at_level(logging.INFO, logger="mindrec.training.decoding_search"):
        chosen, trials = choose_decoding_on_validation(
            result.train.best_dir, brandless, eval_args, make_accelerator("no"), seed=0, show_progress=False
        )
    assert "No item of this catalogue has a brand" in caplog.text
    assert [trial["option"] for trial in trials] == ["rare_item_generative_weight"] * 2
    assert chosen.brand_adjustment == 5.0
    # With the brands, the credit is searched as listed.
    _, with_brands = choose_decoding_on_validation(
        result.train.best_dir, result.data, eval_args, make_accelerator("no"), seed=0, show_progress=False
    )
    assert [trial["option"] for trial in with_brands][:2] == ["brand_adjustment"] * 2
    # The benchmark's SASRec search drops it the same way, so both models search one grid.
    grid = [("brand_adjustment", [0.0, 2.0]), ("transition_adjustment", [1.0])]
    assert without_inert_options(grid, brandless.items) == [("transition_adjustment", [1.0])]
    assert without_inert_options(grid, result.data.items) == grid
