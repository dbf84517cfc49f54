"""The evaluation loop: batching, exact metrics, validity, subsets, model decoding, scripts/evaluate.py."""

import json
import math

import pytest
import torch
from datasets import Dataset
from training_support import tiny_arguments

from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.pipeline import build_run, evaluate_main, generation_config_from, run_record
from mindrec.training.model_io import save_trained_model
from mindrec.training.trainer import make_accelerator


def split(histories, targets):
    return Dataset.from_dict(
        {"user_id": [f"u{i}" for i in range(len(targets))], "history": histories, "target": targets}
    )


def test_metrics_of_a_hand_made_recommender_in_batches():
    rows = split([[1], [2, 3], [4], [5, 6, 7]], [3, 7, 1, 0])
    lists = {1: [3, 9, 8], 2: [5, 7, 7], 4: [2, 4, 6], 5: [8, 6, 0]}  # ranks 1, 2, absent, 3
    calls = []

    def recommend(histories):
        calls.append(len(histories))
        return torch.tensor([lists[history[0]] for history in histories])

    result = evaluate_recommender(recommend, rows, num_items=10, ks=(1, 3), batch_size=3, show_progress=False)
    assert calls == [3, 1]
    assert result.item_lists.tolist() == [[3, 9, 8], [5, 7, 7], [2, 4, 6], [8, 6, 0]]
    assert result.user_ids == ["u0", "u1", "u2", "u3"] and result.targets.tolist() == [3, 7, 1, 0]
    metrics = result.metrics
    assert metrics["hr@1"] == 0.25 and metrics["hr@3"] == 0.75
    assert metrics["ndcg@3"] == pytest.approx((1 + 1 / math.log2(3) + 0 + 0.5) / 4)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 2 + 0 + 1 / 3) / 4)
    assert metrics["validity"] == pytest.approx(11 / 12)  # the repeated 7
    assert metrics["users_per_second"] > 0


def test_validation_subset_is_fixed_by_its_seed_and_bad_output_is_named():
    rows = split([[i] for i in range(20)], list(range(20)))

    def echo(histories):
        return torch.tensor([[history[0]] for history in histories])

    first = evaluate_recommender(echo, rows, 20, ks=(1,), max_users=5, subset_seed=3, show_progress=False)
    again = evaluate_recommender(echo, rows, 20, ks=(1,), max_users=5, subset_seed=3, show_progress=False)
    other = evaluate_recommender(echo, rows, 20, ks=(1,), max_users=5, subset_seed=4, show_progress=False)
    assert len(first.user_ids) == 5 and first.user_ids == again.user_ids != other.user_ids
    assert first.metrics["hr@1"] == 1.0
    with pytest.raises(ValueError, match=r"returned shape \(2,\) for a batch of 2 users \(rows 0\.\.1\)"):
        evaluate_recommender(
            lambda h: torch.zeros(len(h), dtype=torch.long),
            rows,
            20,
            ks=(1,),
            batch_size=2,
            show_progress=False,
        )
    with pytest.raises(ValueError, match="Cannot evaluate an empty split"):
        evaluate_recommender(echo, rows.select([]), 20, show_progress=False)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """An untrained tiny model saved as a training run would save it (decoding needs no training)."""
    folder = tmp_path_factory.mktemp("eval")
    arguments = tiny_arguments(folder, max_steps=1)
    data, model, tokenizer, generation_config, _, _ = build_run(*arguments, make_accelerator("no"))
    save_trained_model(folder / "best", model, tokenizer, generation_config, run_record(*arguments))
    return folder / "best", data, model.eval(), tokenizer, arguments


def test_model_decoding_gives_valid_lists_and_honours_exclusions(saved_model):
    _, data, model, tokenizer, arguments = saved_model
    eval_args = arguments[4]
    eval_args.exclude_history = True
    recommend = mindrec_recommender(model, tokenizer, generation_config_from(eval_args))
    test = data.splits["test"]
    result = evaluate_recommender(
        recommend, test, data.num_items, ks=(1, 5), batch_size=16, show_progress=False
    )
    assert result.item_lists.shape == (len(test), 5) and result.metrics["validity"] == 1.0
    for history, ranked in zip(test["history"], result.item_lists.tolist(), strict=True):
        assert not set(history) & set(ranked)


def test_evaluate_cli_writes_json_and_markdown(saved_model, tmp_path, capsys):
    model_dir, data, model, tokenizer, arguments = saved_model
    output = tmp_path / "test.json"
    argv = ["--model", str(model_dir), "--strategy", "parallel_denoising", "--num-beams", "5", "--num_return_items", "5",
            "--eval_ks", "1", "5", "--metrics-json", str(output), "--show_progress", "false"]  # fmt: skip
    metrics = evaluate_main(argv)  # data options come from the folder's mindrec_run.json
    saved = json.loads(output.read_text())
    assert saved["split"] == "test" and saved["metrics"] == json.loads(json.dumps(metrics))
    assert set(metrics) == {"MindRec", "popularity"} and metrics["MindRec"]["validity"] == 1.0
    table = output.with_suffix(".md").read_text()
    assert table.startswith("| test | hr@1 | hr@5 | ndcg@1 | ndcg@5 | mrr | validity | users_per_second |")
    assert "| MindRec |" in capsys.readouterr().out

    eval_args = arguments[4]
    eval_args.strategy, eval_args.exclude_history = "parallel_denoising", False
    direct = evaluate_recommender(
        mindrec_recommender(model, tokenizer, generation_config_from(eval_args)), data.splits["test"], data.num_items,
        ks=(1, 5), show_progress=False,
    )  # fmt: skip
    assert metrics["MindRec"]["ndcg@5"] == direct.metrics["ndcg@5"]

    with pytest.raises(ValueError, match=r"The model's catalogue has 60 items but the dataset has 50"):
        evaluate_main(["--model", str(model_dir), "--synthetic_num_items", "50", "--show_progress", "false"])
