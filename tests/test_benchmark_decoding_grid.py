"""The benchmark chooses both models' shared decoding credits on validation after training (MindRec's fused decoder with
``decoding_grid``, SASRec with its own search over the same options), and decodes test with the choice."""

import dataclasses
import json

import pytest
import torch
from datasets import Dataset
from test_benchmark_protocols import tiny_synthetic_small

import mindrec.baselines.sasrec_decoding_search as search
import mindrec.benchmark.runner as runner
from mindrec.baselines import SASRecModel
from mindrec.baselines.sasrec import SASRecConfig
from mindrec.baselines.sasrec_decoding_search import (
    check_sasrec_decoding_grid,
    choose_sasrec_decoding_on_validation,
)
from mindrec.benchmark.runner import run_benchmark

# Descending, so that the search tries exactly these values (an ascending grid whose best is an end goes on past it).
GRID = ["brand_adjustment=1,0", "transition_adjustment=1,0.5"]


def fused_protocol():
    """tiny synthetic-small whose MindRec validates with a fused decoder and both models search GRID."""
    protocol = tiny_synthetic_small()
    plans = dict(protocol.plans)
    fused = {
        "strategy": "catalogue_scoring", "retrieval_weight": 10.0, "transition_adjustment": 1.0, "brand_adjustment": 1.0,
    }
    head = {"history_item_embeddings": True, "prompt_attends_canvas": False, "causal_prompt": True,
            "item_retrieval_head": True}
    plans["mindrec"] = dataclasses.replace(
        plans["mindrec"],
        model={**plans["mindrec"].model, **head},
        rows={**plans["mindrec"].rows, "mindrec-fused": fused},
        evaluation={**plans["mindrec"].evaluation, **fused, "decoding_grid": GRID},
    )
    plans["sasrec"] = dataclasses.replace(
        plans["sasrec"],
        model={**plans["sasrec"].model, "transition_adjustment": 1.0, "brand_adjustment": 1.0},
        evaluation={"decoding_grid": GRID},
    )
    return dataclasses.replace(protocol, plans=plans)


def chosen_of(trials):
    return {trial["option"]: trial["value"] for trial in trials if trial.get("chosen")}


@pytest.mark.slow
def test_the_benchmark_searches_both_models_credits_on_validation_and_tests_with_the_choice(tmp_path, monkeypatch):
    decoded = []  # (row generation config) per MindRec recommender built
    original_recommender = runner.mindrec_recommender

    def recording_recommender(model, tokenizer, config, **kwargs):
        decoded.append(config)
        return original_recommender(model, tokenizer, config, **kwargs)

    monkeypatch.setattr(runner, "mindrec_recommender", recording_recommender)
    scored = []  # SASRec's searched options at every scoring call
    original_scores = SASRecModel.item_scores

    def recording_scores(self, histories, first_row=0):
        scored.append((self.config.brand_adjustment, self.config.transition_adjustment))
        return original_scores(self, histories, first_row)

    monkeypatch.setattr(SASRecModel, "item_scores", recording_scores)
    result = run_benchmark(
        fused_protocol(), seeds=[0], models=["sasrec", "mindrec-onepass", "mindrec-fused"], repo_root=tmp_path,
        work_dir=tmp_path / "w",
    )
    runs = {run["model"]: run for run in result["runs"]}
    for row in ("sasrec", "mindrec-fused"):
        trials = runs[row]["details"]["decoding_search"]
        assert [(trial["option"], trial["value"]) for trial in trials] == [
            ("brand_adjustment", 1.0), ("brand_adjustment", 0.0), ("transition_adjustment", 1.0),
            ("transition_adjustment", 0.5),
        ], row
        assert all(0.0 <= trial["metric"] <= 1.0 for trial in trials)
        assert sorted(chosen_of(trials)) == ["brand_adjustment", "transition_adjustment"]
    assert "decoding_search" not in runs["mindrec-onepass"]["details"]  # a generative row is not searched
    # Test decodes with the choice: SASRec's last scoring calls (test) and MindRec's fused row.
    sasrec_choice = chosen_of(runs["sasrec"]["details"]["decoding_search"])
    assert scored[-1] == (sasrec_choice["brand_adjustment"], sasrec_choice["transition_adjustment"])
    saved_sasrec = SASRecConfig.from_pretrained(tmp_path / "w" / "sasrec" / "seed0" / "model")  # kept with the choice
    assert (saved_sasrec.brand_adjustment, saved_sasrec.transition_adjustment) == scored[-1]
    fused_choice = chosen_of(runs["mindrec-fused"]["details"]["decoding_search"])
    fused_config, onepass_config = decoded[-1], decoded[-2]
    assert (fused_config.brand_adjustment, fused_config.transition_adjustment) == (
        fused_choice["brand_adjustment"], fused_choice["transition_adjustment"],
    )
    assert (onepass_config.retrieval_weight, onepass_config.brand_adjustment) == (0.0, 0.0)
    # The saved best/ holds the choice (re-saved when it differs from the configured options).
    saved = json.loads((tmp_path / "w" / "mindrec" / "seed0" / "best" / "generation_config.json").read_text())
    assert (saved["brand_adjustment"], saved["transition_adjustment"]) == (
        fused_choice["brand_adjustment"], fused_choice["transition_adjustment"],
    )


def test_sasrecs_search_checks_its_grid_and_leaves_the_model_at_the_choice(monkeypatch):
    config = SASRecConfig(num_items=12, hidden_size=8, max_history=4, transition_adjustment=1.0)
    with pytest.raises(ValueError, match=r"cannot search 'rare_item_generative_weight'"):
        check_sasrec_decoding_grid(config, ["rare_item_generative_weight=0"])
    with pytest.raises(ValueError, match=r"searches brand_adjustment, which its config sets to 0"):
        check_sasrec_decoding_grid(config, ["brand_adjustment=0,1"])
    with pytest.raises(ValueError, match=r"transition_decay must be in \[0, 1\), got 1.0"):
        check_sasrec_decoding_grid(config, ["transition_decay=0.5,1"])
    assert check_sasrec_decoding_grid(config, ["transition_adjustment=1,2"]) == [("transition_adjustment", [1.0, 2.0])]
    with pytest.raises(ValueError, match=r"popularity_adjustment > 0 takes back part of popularity_prior's bias"):
        check_sasrec_decoding_grid(config, ["popularity_adjustment=0.5"])  # a model trained without the prior
    assert check_sasrec_decoding_grid(config, ["recency_adjustment=0,0.5"]) == [("recency_adjustment", [0.0, 0.5])]
    model = SASRecModel(config).eval()
    model.set_item_transitions(torch.zeros(12, 12))
    validation = Dataset.from_dict({"history": [[0, 1], [2, 3], [4]], "target": [2, 4, 5]})
    metrics = iter([0.2, 0.5, 0.5, 0.1])  # the scores the search sees, in its order

    def fixed_score(*args, **kwargs):
        return {"ndcg@10": next(metrics)}

    monkeypatch.setattr(search, "evaluate_sasrec", fixed_score)
    chosen, trials = choose_sasrec_decoding_on_validation(
        model, validation, [("transition_adjustment", [0.5, 1.0, 2.0]), ("transition_decay", [0.0])], True
    )
    # Ties go to the value listed first (1.0 before 2.0); the next option is searched from the choice.
    # The credit's other shape option (transition_gap_decay) is among the options too: a value of 0 would turn it off.
    assert chosen == {"transition_adjustment": 1.0, "transition_decay": 0.0, "transition_gap_decay": 0.0}
    assert [trial.get("chosen", False) for trial in trials] == [False, True, False, True]
    assert (model.config.transition_adjustment, model.config.transition_decay) == (1.0, 0.0)


def test_sasrecs_search_can_turn_a_shaped_transition_credit_off_and_restores_its_shape_when_it_loses(monkeypatch):
    shaped = {"transition_adjustment": 1.0, "transition_decay": 0.5, "transition_gap_decay": 0.5}
    config = SASRecConfig(num_items=12, hidden_size=8, max_history=4, **shaped)
    # 0 is a valid value of the grid although the config shapes the credit (its shape options go to 0 with it).
    grid = check_sasrec_decoding_grid(config, ["transition_adjustment=0,1"])
    model = SASRecModel(config).eval()
    model.set_item_transitions(torch.zeros(12, 12))
    validation = Dataset.from_dict({"history": [[0, 1]], "target": [2]})
    seen = []

    def score_of(metrics):
        def score(model, *args, **kwargs):
            seen.append({name: getattr(model.config, name) for name in shaped})
            return {"ndcg@10": metrics[len(seen) - 1]}

        return score

    monkeypatch.setattr(search, "evaluate_sasrec", score_of([0.1, 0.3, 0.2]))  # 2, past the grid's end, loses
    chosen, _ = choose_sasrec_decoding_on_validation(model, validation, grid, True)
    off = {name: 0.0 for name in shaped}
    # The trial at 1 after the one at 0 reads the configured shape again, and the model is left with it.
    assert seen == [off, shaped, {**shaped, "transition_adjustment": 2.0}] and chosen == shaped
    assert {name: getattr(model.config, name) for name in shaped} == shaped
    seen.clear()
    monkeypatch.setattr(search, "evaluate_sasrec", score_of([0.3, 0.1]))
    chosen, _ = choose_sasrec_decoding_on_validation(model, validation, grid, True)
    assert seen == [off, shaped] and chosen == off
    assert {name: getattr(model.config, name) for name in shaped} == off
