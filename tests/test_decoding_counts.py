"""The decoding priors' counts as of the targets being predicted: validation reads the training rows, test also the
validation rows (each test user's newest observed interaction), in the pipeline's evaluation and in the benchmark."""

import dataclasses

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
        plans["sasrec"], model={**plans["sasrec"].model, "transition_adjustment": 1.0}
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
        protocol, seeds=[0], models=["sasrec", "mindrec-onepass"], repo_root=tmp_path, work_dir=tmp_path / "w"
    )

    data, _ = load_protocol_data(protocol, None)
    as_of_validation = decoding_counts(data.splits, data.num_items, "validation")
    as_of_test = decoding_counts(data.splits, data.num_items, "test")
    for calls in (sasrec_tables, mindrec_tables):
        # Trained (and validated) with the training transitions, tested with those as of the test targets.
        first, last = calls[0][0], calls[-1][0]
        assert dense(first) == dense(as_of_validation["transition_counts"])
        assert dense(last) == dense(as_of_test["transition_counts"]) != dense(first)
    assert torch.equal(mindrec_counts[0][1], as_of_validation["recent_counts"])
    assert torch.equal(mindrec_counts[-1][1], as_of_test["recent_counts"])
    assert not torch.equal(mindrec_counts[-1][1], mindrec_counts[0][1])


@pytest.mark.slow
def test_the_main_job_tests_with_the_counts_as_of_the_test_targets(tmp_path, monkeypatch):
    from training_support import tiny_arguments

    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_arguments(
        tmp_path,
        max_steps=2,
        eval_steps=2,
        history_item_embeddings=True,
        prompt_attends_canvas=False,
        causal_prompt=True,
        num_path_views=1,
        item_retrieval_head=True,
        strategy="catalogue_scoring",
        retrieval_weight=1.0,
        transition_adjustment=1.0,
    )
    tables = recorded_calls(monkeypatch, MindRecForRecommendation, "set_item_transitions")
    counts = recorded_calls(monkeypatch, MindRecForRecommendation, "set_item_counts")
    result = run(*arguments, accelerator=make_accelerator("no"))
    as_of_test = decoding_counts(result.data.splits, result.data.num_items, "test")
    as_of_validation = decoding_counts(result.data.splits, result.data.num_items, "validation")
    assert dense(tables[0][0]) == dense(as_of_validation["transition_counts"])  # built and trained with these
    assert dense(tables[-1][0]) == dense(as_of_test["transition_counts"]) != dense(tables[0][0])
    assert torch.equal(counts[-1][1], as_of_test["recent_counts"])
    assert result.test["MindRec"].metrics["validity"] == 1.0
