"""Learning-curve runs: plan overrides parse and apply exactly; bad overrides are refused."""

import argparse

import pytest

from mindrec.benchmark.curves import parse_override, parse_plan_override
from mindrec.benchmark.protocols import BEAUTY_FULL


def test_overrides_are_read_as_yaml_and_applied_to_a_copy():
    assert parse_override("model.prompt_attends_canvas=false") == ("model", "prompt_attends_canvas", False)
    assert parse_override("training.learning_rate=3e-3") == ("training", "learning_rate", 3e-3)
    assert parse_override("evaluation.history_cache=prompt_cache") == ("evaluation", "history_cache", "prompt_cache")
    plan = BEAUTY_FULL.plans["mindrec"]
    changed = plan.with_settings([("model", "hidden_size", 256), ("training", "max_steps", 10)])
    assert changed.model["hidden_size"] == 256 and changed.training["max_steps"] == 10
    assert changed.training["learning_rate"] == plan.training["learning_rate"]
    assert plan.model["hidden_size"] == 128 and "max_steps" not in plan.training  # the protocol is untouched


@pytest.mark.parametrize("text", ["hidden_size=3", "weights.hidden_size=3", "model.hidden_size"])
def test_malformed_overrides_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="SECTION.KEY=VALUE|unknown section"):
        parse_override(text)


def test_plan_overrides_name_the_plan_first():
    assert parse_plan_override("mindrec-sid.training.num_epochs=40") == ("mindrec-sid", "training", "num_epochs", 40)
    with pytest.raises(argparse.ArgumentTypeError, match="PLAN.SECTION.KEY=VALUE"):
        parse_plan_override("training.num_epochs=40")
    with pytest.raises(ValueError, match="unknown plan section 'weights'"):
        BEAUTY_FULL.plans["tiger"].with_settings([("weights", "x", 1)])
