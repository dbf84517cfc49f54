"""The decoding priors' counts as of the targets being predicted: validation reads the training rows, test also the
validation rows (each test user's newest observed interaction), in the pipeline's evaluation and in the benchmark."""

import dataclasses
import json

import pytest
import torch
from datasets import Dataset, DatasetDict
from test_benchmark_protocols import tiny_synthetic_small

from mindrec.baselines import SASRecModel, decoding_counts
from mindrec.benchmark.runner import load_protocol_data, run_benchmark
from mindrec.modeling import MindRecForRecommendation

# Two users, sequences 0 1 2 3 4 and 2 3 1 0, held out leave-one-out.
SPLITS = DatasetDict(
    {
        "train": Dataset.from_dict(
            {
                "user_id": ["a", "a", "a", "b", "b"],
                "history": [[0], [0, 1], [0, 1, 2], [2], [2, 3]],
                "target": [1, 2, 3, 3, 1],
            }
        ),
        "validation": Dataset.from_dict(
            {"user_id": ["a", "b"], "history": [[0, 1, 2], [2, 3]], "target": [3, 1]}
        ),
        "test": Dataset.from_dict(
            {"user_id": ["a", "b"], "history": [[0, 1, 2, 3], [2, 3, 1]], "target": [4, 0]}
        ),
    }
)


def dense(counts: torch.Tensor) -> list[list[int]]:
    return counts.to_dense().tolist()


def test_counts_as_of_each_splits_targets():
    validation = decoding_counts(SPLITS, 5, "validation")
    test = decoding_counts(SPLITS, 5, "test")
    for counts in (validation, test):  # the popularity the model trained with, whichever split is predicted
        assert counts["item_counts"].tolist() == [1, 2, 2, 2, 0]
    # Users' newest interaction before the targets: 2 and 3 before validation, 3 and 1 before test.
    assert validation["recent_counts"].tolist() == [0, 0, 1, 1, 0]
    assert test["recent_counts"].tolist() == [0, 1, 0, 1, 0]
    expected = torch.zeros(5, 5, dtype=torch.long)
    for previous, following in [(0, 1), (1, 2), (2, 3), (2, 3), (3, 1)]:
        expected[previous, following] += 1
    assert dense(validation["transition_counts"]) == expected.tolist()
    expected[2, 3] += 1  # validation's pairs 2 -> 3 and 3 -> 1 are observed before the test targets
    expected[3, 1] += 1
    assert dense(test["transition_counts"]) == expected.tolist()
    assert test["transition_counts"].is_coalesced()
    with pytest.raises(ValueError, match=r"`split` must be one of \['test', 'validation'\], got 'train'"):
        decoding_counts(SPLITS, 5, "train")


def test_gap_decay_counts_later_items_of_a_row_with_geometric_weights():
    """An item d places after h counts gap_decay**(d-1) towards c(h -> item); direct successors count 1 as before."""
    from mindrec.baselines import transition_counts

    expected = torch.zeros(5, 5, dtype=torch.float64)
    # The train rows' pairs (previous, next, places apart): [0] -> 1, [0, 1] -> 2, [0, 1, 2] -> 3, [2] -> 3, [2, 3] -> 1.
    pairs = [(0, 1, 1), (1, 2, 1), (0, 2, 2), (2, 3, 1), (1, 3, 2), (0, 3, 3), (2, 3, 1), (3, 1, 1), (2, 1, 2)]
    for previous, following, apart in pairs:
        expected[previous, following] += 0.5 ** (apart - 1)
    counts = transition_counts(SPLITS["train"], 5, gap_decay=0.5)
    assert counts.dtype == torch.float64 and counts.is_coalesced()
    assert dense(counts) == expected.tolist()
    # No gap: the direct pairs alone, as integers.
    direct = transition_counts(SPLITS["train"], 5)
    assert direct.dtype == torch.int64
    assert dense(direct) == dense(transition_counts(SPLITS["train"], 5, gap_decay=0.0))
    # Test's counts add the validation rows [0, 1, 2] -> 3 and [2, 3] -> 1 the same way.
    for previous, following, apart in [(2, 3, 1), (1, 3, 2), (0, 3, 3), (3, 1, 1), (2, 1, 2)]:
        expected[previous, following] += 0.5 ** (apart - 1)
    test = decoding_counts(SPLITS, 5, "test", transition_gap_decay=0.5)
    assert dense(test["transition_counts"]) == expected.tolist()
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=rf"`gap_decay` must be in \[0, 1\), got {bad}"):
            transition_counts(SPLITS["train"], 5, gap_decay=bad)


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3])
@pytest.mark.parametrize("gap_decay", [0.0, 0.5])
def test_transition_counts_read_in_chunks_equal_one_pass(monkeypatch, rows_per_chunk, gap_decay):
    """Chunks of any size (here 1-3 of the 5 train rows, merged in a binary counter's order) give the counts of the
    whole split read at once, and an out-of-range item is named by its row in the split, not in its chunk."""
    from mindrec.baselines import transition_counts

    whole = {name: transition_counts(SPLITS[name], 5, gap_decay) for name in ("train", "validation")}
    whole_test = decoding_counts(SPLITS, 5, "test", transition_gap_decay=gap_decay)["transition_counts"]
    monkeypatch.setattr("mindrec.baselines.popularity.ROWS_PER_CHUNK", rows_per_chunk)
    for name, expected in whole.items():
        chunked = transition_counts(SPLITS[name], 5, gap_decay)
        assert chunked.is_coalesced() and chunked.dtype == expected.dtype
        assert torch.equal(chunked.indices(), expected.indices()) and torch.equal(chunked.values(), expected.values())
    chunked_test = decoding_counts(SPLITS, 5, "test", transition_gap_decay=gap_decay)["transition_counts"]
    assert torch.equal(chunked_test.indices(), whole_test.indices())
    assert torch.equal(chunked_test.values(), whole_test.values())
    bad = Dataset.from_dict({"history": [[0], [1], [2]], "target": [1, 2, 9]})
    with pytest.raises(ValueError, match=r"row 2 pairs items 2 -> 9, outside 0\.\.4"):
        transition_counts(bad, 5, gap_decay)


def test_gap_decay_options_check_their_values_and_the_credit_they_count_for():
    from mindrec.baselines import SASRecConfig
    from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
    from mindrec.training.arguments import EvaluationArguments, ModelArguments, check_transition_counting

    fused = {"strategy": "catalogue_scoring", "retrieval_weight": 1.0}
    assert EvaluationArguments(**fused, transition_adjustment=1.0, transition_gap_decay=0.5).transition_gap_decay == 0.5
    with pytest.raises(ValueError, match=r"`transition_gap_decay` must be in \[0, 1\), got 1.0"):
        EvaluationArguments(**fused, transition_adjustment=1.0, transition_gap_decay=1.0)
    with pytest.raises(ValueError, match="`transition_gap_decay` > 0 counts the transitions of transition_adjustment"):
        EvaluationArguments(**fused, transition_gap_decay=0.5)
    generation = {"decoding_strategy": "catalogue_scoring", "retrieval_weight": 1.0}
    with pytest.raises(ValueError, match=r"`transition_gap_decay` must be a number in \[0, 1\), got -0.5"):
        RecommendationGenerationConfig(**generation, transition_adjustment=1.0, transition_gap_decay=-0.5)
    with pytest.raises(ValueError, match="`transition_gap_decay` counts the transitions of `transition_adjustment`"):
        RecommendationGenerationConfig(**generation, transition_gap_decay=0.5)
    with pytest.raises(ValueError, match=r"transition_gap_decay must be in \[0, 1\), got 1.5"):
        SASRecConfig(num_items=5, transition_adjustment=1.0, transition_gap_decay=1.5)
    with pytest.raises(ValueError, match="transition_gap_decay > 0 counts the transitions of transition_adjustment"):
        SASRecConfig(num_items=5, transition_gap_decay=0.5)
    with pytest.raises(ValueError, match="transition_gap_decay must be 0 with transition_prior > 0"):
        SASRecConfig(num_items=5, transition_adjustment=1.0, transition_prior=1.0, transition_gap_decay=0.5)
    # The training-time prior leaves out a row's direct pair only: a table counted with gaps would hand it the label.
    prior = ModelArguments(
        history_item_embeddings=True, prompt_attends_canvas=False, causal_prompt=True, item_retrieval_head=True,
        retrieval_transition_prior=1.0,
    )
    with pytest.raises(ValueError, match="`retrieval_transition_prior` > 0 .* needs transition_gap_decay = 0"):
        check_transition_counting(prior, EvaluationArguments(**fused, transition_adjustment=1.0, transition_gap_decay=0.5))
    check_transition_counting(prior, EvaluationArguments(**fused, transition_adjustment=1.0))


def recorded_calls(monkeypatch, model_class, method: str) -> list[tuple]:
    """The arguments of every call of ``model_class.<method>``, in order (the method still runs)."""
    calls, original = [], getattr(model_class, method)

    def record(self, *args):
        calls.append(args)
        return original(self, *args)

    monkeypatch.setattr(model_class, method, record)
    return calls


@pytest.mark.slow
def test_the_benchmark_decodes_test_with_the_counts_as_of_its_targets(tmp_path, monkeypatch):
    protocol = tiny_synthetic_small()
    plans = dict(protocol.plans)
    plans["sasrec"] = dataclasses.replace(
        plans["sasrec"], model={**plans["sasrec"].model, "transition_adjustment": 1.0, "transition_gap_decay": 0.5}
    )
    head = {
        "history_item_embeddings": True,
        "prompt_attends_canvas": False,
        "causal_prompt": True,
        "item_retrieval_head": True,
    }
    plans["mindrec"] = dataclasses.replace(plans["mindrec"], model={**plans["mindrec"].model, **head})
    protocol = dataclasses.replace(protocol, plans=plans)
    sasrec_tables = recorded_calls(monkeypatch, SASRecModel, "set_item_transitions")
    mindrec_tables = recorded_calls(monkeypatch, MindRecForRecommendation, "set_item_transitions")
    mindrec_counts = recorded_calls(monkeypatch, MindRecForRecommendation, "set_item_counts")
    run_benchmark(
        protocol, seeds=[0], models=["sasrec", "mindrec-onepass", "mindrec-fused"], repo_root=tmp_path,
        work_dir=tmp_path / "w",
    )

    data, _ = load_protocol_data(protocol, None)
    as_of_validation = decoding_counts(data.splits, data.num_items, "validation")
    as_of_test = decoding_counts(data.splits, data.num_items, "test")
    for calls, gap_decay in ((sasrec_tables, 0.5), (mindrec_tables[:-1], 0.0)):
        # Trained (and validated) with the training transitions, tested with those as of the test targets, each
        # counted as the model's options say (SASRec's with gaps here; MindRec's last row below).
        first, last = calls[0][0], calls[-1][0]
        validation_table = decoding_counts(data.splits, data.num_items, "validation", gap_decay)["transition_counts"]
        test_table = decoding_counts(data.splits, data.num_items, "test", gap_decay)["transition_counts"]
        assert dense(first) == dense(validation_table)
        assert dense(last) == dense(test_table) != dense(first)
    assert dense(sasrec_tables[0][0]) != dense(as_of_validation["transition_counts"])
    # Each MindRec test row decodes with the table its own options count: the fused row (the protocol's fused
    # options, transition_gap_decay 0.5) with gaps, the generative one-pass row (it reads none) without.
    assert protocol.plans["mindrec"].rows["mindrec-fused"]["transition_gap_decay"] == 0.5
    fused_table = decoding_counts(data.splits, data.num_items, "test", 0.5)["transition_counts"]
    assert dense(mindrec_tables[-1][0]) == dense(fused_table) != dense(mindrec_tables[-2][0])
    assert dense(mindrec_tables[-2][0]) == dense(as_of_test["transition_counts"])
    assert torch.equal(mindrec_counts[0][1], as_of_validation["recent_counts"])
    assert torch.equal(mindrec_counts[-1][1], as_of_test["recent_counts"])
    assert not torch.equal(mindrec_counts[-1][1], mindrec_counts[0][1])


@pytest.mark.slow
@pytest.mark.parametrize("gap_decay", [0.0, 0.5])
def test_the_main_job_tests_with_the_counts_as_of_the_test_targets(tmp_path, monkeypatch, gap_decay):
    from training_support import tiny_fused_arguments

    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_fused_arguments(tmp_path, transition_adjustment=1.0, transition_gap_decay=gap_decay)
    tables = recorded_calls(monkeypatch, MindRecForRecommendation, "set_item_transitions")
    counts = recorded_calls(monkeypatch, MindRecForRecommendation, "set_item_counts")
    result = run(*arguments, accelerator=make_accelerator("no"))
    as_of_test = decoding_counts(result.data.splits, result.data.num_items, "test", gap_decay)
    as_of_validation = decoding_counts(result.data.splits, result.data.num_items, "validation", gap_decay)
    assert dense(tables[0][0]) == dense(as_of_validation["transition_counts"])  # built and trained with these
    assert dense(tables[-1][0]) == dense(as_of_test["transition_counts"]) != dense(tables[0][0])
    assert torch.equal(counts[-1][1], as_of_test["recent_counts"])
    assert result.test["MindRec"].metrics["validity"] == 1.0
    # The saved model records how its table was counted, so that a later evaluation counts the same way.
    saved = json.loads((tmp_path / "best" / "generation_config.json").read_text())
    assert saved["transition_gap_decay"] == gap_decay
