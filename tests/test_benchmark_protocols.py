"""Benchmark protocols and the end-to-end runner on a scaled-down synthetic-small protocol."""

import dataclasses
import json
import math
import sys

import numpy as np
import pytest
import torch
from optional_extras import needs_matplotlib

from mindrec.baselines import SASRecModel
from mindrec.baselines.sasrec_training import evaluate_sasrec
from mindrec.benchmark.cli import benchmark_main, benchmark_parser, update_readme_main
from mindrec.benchmark.protocols import (
    BEAUTY_FULL,
    BEAUTY_MINDREC,
    DEFAULT_ROWS,
    PROTOCOLS,
    SELECTION_MAX_USERS,
    SYNTHETIC_SMALL,
    BenchmarkProtocol,
    ModelPlan,
    get_protocol,
)
from mindrec.benchmark.readme import END_MARKER, START_MARKER
from mindrec.benchmark.report import TABLE_METRICS, format_results_table, learning_curves, write_result_set
from mindrec.benchmark.runner import (
    check_plan_options,
    load_protocol_data,
    resolve_data_path,
    run_benchmark,
    sasrec_learning_curve,
)
from mindrec.modeling.modeling_deftrec import DeftRecForRecommendation


def test_protocol_lookup_and_row_planning():
    assert sorted(PROTOCOLS) == ["beauty-full", "beauty-mindrec", "synthetic-small"]
    assert get_protocol("beauty-mindrec") is BEAUTY_MINDREC
    with pytest.raises(ValueError, match="unknown protocol 'beauty'; choose from"):
        get_protocol("beauty")
    # Rows group by plan (each plan trains once), in plan order.
    assert SYNTHETIC_SMALL.plans_for(["mindrec-l2r", "popularity", "mindrec-dbs"]) == {
        "popularity": ["popularity"],
        "mindrec": ["mindrec-dbs", "mindrec-l2r"],
    }
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['bert4rec'\] for protocol 'synthetic-small'"):
        SYNTHETIC_SMALL.plans_for(["bert4rec"])
    # Every row runs by default except the fused one, which needs a plan that trains the retrieval head.
    assert [row for row in SYNTHETIC_SMALL.rows if row != "mindrec-fused"] == list(DEFAULT_ROWS)
    assert SYNTHETIC_SMALL.plans["mindrec-sid"].codes == {"num_category_levels": 0}
    assert BEAUTY_MINDREC.data == {"max_users": 5000, "max_history": 10}
    assert BEAUTY_MINDREC.evaluation["num_beams"] == 10 and BEAUTY_MINDREC.time_budget_minutes == 30
    assert SYNTHETIC_SMALL.smoke_test and not BEAUTY_MINDREC.smoke_test


def test_protocol_validation_and_json():
    with pytest.raises(ValueError, match="unknown model family 'bert'"):
        ModelPlan("bert", rows={"bert": {}})
    plan = ModelPlan("popularity", rows={"popularity": {}})
    with pytest.raises(ValueError, match="row 'popularity' belongs to plans 'a' and 'b'"):
        BenchmarkProtocol("p", "", None, {}, {}, {}, {"a": plan, "b": plan}, ("popularity",))
    with pytest.raises(ValueError, match=r"default rows \['sasrec'\] belong to no plan"):
        BenchmarkProtocol("p", "", None, {}, {}, {}, {"a": plan}, ("sasrec",))
    config = BEAUTY_MINDREC.to_json()
    assert json.loads(json.dumps(config)) == config
    assert config["plans"]["mindrec"]["rows"]["mindrec-cpd"] == {
        "strategy": "parallel_denoising", "retrieval_weight": 0.0, "popularity_adjustment": 0.0,
        "recency_adjustment": 0.0, "transition_adjustment": 0.0, "transition_decay": 0.0,
        "transition_conditioning": 0.0, "transition_gap_decay": 0.0, "brand_adjustment": 0.0,
        "rare_item_generative_weight": 0.0,
    }


@pytest.mark.parametrize("protocol", [BEAUTY_FULL, BEAUTY_MINDREC], ids=lambda protocol: protocol.name)
def test_beauty_protocols_give_sasrec_the_fused_rows_popularity_prior_and_transition_credit(protocol):
    """The baseline gets the decoding prior MindRec's fused row gets (each model with the weight its own validation
    chose; MindRec's counts conditioned on the previous item's successors, which SASRec's validation declined), and
    the popularity prior in its logits."""
    from mindrec.benchmark.protocols import (
        BEAUTY_MINDREC_TRANSITION_GAP_DECAY,
        FUSED_TRANSITION_ADJUSTMENT,
        FUSED_TRANSITION_CONDITIONING,
        FUSED_TRANSITION_GAP_DECAY,
        SASREC_TRANSITION_ADJUSTMENT,
        SASREC_TRANSITION_GAP_DECAY,
    )
    from mindrec.benchmark.runner import BenchmarkContext

    context = BenchmarkContext(protocol=protocol, data=None, data_args=None, work_dir=None)
    fused = context.evaluation_args(protocol.plans["mindrec"], "mindrec-fused")
    sasrec = protocol.plans["sasrec"].model
    assert (fused.transition_adjustment, fused.transition_conditioning) == (
        FUSED_TRANSITION_ADJUSTMENT,
        FUSED_TRANSITION_CONDITIONING,
    ) == (2.0, 0.5)
    assert (sasrec["transition_adjustment"], sasrec["transition_decay"]) == (
        SASREC_TRANSITION_ADJUSTMENT,
        fused.transition_decay,
    ) == (1.5, 0.5)
    assert "transition_conditioning" not in sasrec
    # Both count the items later in a sequence too, each at the decay its own validation chose on this protocol.
    gap_decays = {"beauty-full": (FUSED_TRANSITION_GAP_DECAY, SASREC_TRANSITION_GAP_DECAY)}
    gap_decays["beauty-mindrec"] = (BEAUTY_MINDREC_TRANSITION_GAP_DECAY, BEAUTY_MINDREC_TRANSITION_GAP_DECAY)
    assert (fused.transition_gap_decay, sasrec["transition_gap_decay"]) == gap_decays[protocol.name]
    assert gap_decays == {"beauty-full": (0.5, 0.75), "beauty-mindrec": (0.9, 0.9)}
    assert sasrec["popularity_prior"] == 1.0
    # Checkpoints are selected with the decoder the fused row ranks test with.
    validation = context.evaluation_args(protocol.plans["mindrec"])
    assert (validation.transition_adjustment, validation.transition_conditioning) == (2.0, 0.5)
    assert validation.transition_gap_decay == fused.transition_gap_decay


@pytest.mark.parametrize("protocol", [BEAUTY_FULL, BEAUTY_MINDREC], ids=lambda protocol: protocol.name)
def test_both_models_get_the_brand_credit_and_choose_their_shared_credits_on_validation_with_one_grid(protocol):
    """The brand credit and the decoding grids are the same for MindRec's fused decoder and SASRec (the credits, then
    the popularity and recency adjustments); MindRec's grid also weighs its generative score for rare items, which
    SASRec has not. Both search on all validation users."""
    from mindrec.benchmark.protocols import BRAND_ADJUSTMENT, FUSED_DECODING_GRID, SASREC_DECODING_GRID
    from mindrec.benchmark.runner import BenchmarkContext

    context = BenchmarkContext(protocol=protocol, data=None, data_args=None, work_dir=None)
    mindrec, sasrec = protocol.plans["mindrec"], protocol.plans["sasrec"]
    validation, fused = context.evaluation_args(mindrec), context.evaluation_args(mindrec, "mindrec-fused")
    assert validation.brand_adjustment == fused.brand_adjustment == sasrec.model["brand_adjustment"] == BRAND_ADJUSTMENT
    assert context.evaluation_args(mindrec, "mindrec-onepass").brand_adjustment == 0.0
    shared = ["brand_adjustment=0,2,4,6,8", "transition_adjustment=1,1.5,2,3"]
    adjustments = ["popularity_adjustment=0.25,0.5,0.75", "recency_adjustment=0.25,0.5,0.75"]
    assert list(SASREC_DECODING_GRID) == [*shared, *adjustments]
    assert list(FUSED_DECODING_GRID) == [*shared, "rare_item_generative_weight=0,10,20,30", *adjustments]
    assert validation.decoding_grid == list(FUSED_DECODING_GRID)
    assert context.evaluation_args(sasrec).decoding_grid == list(SASREC_DECODING_GRID)
    assert validation.validation_max_users == SELECTION_MAX_USERS


def test_only_beauty_full_weighs_the_generative_score_more_for_rare_items():
    """Its validation chose kappa 20; beauty-mindrec's, whose generative head ranks below popularity, declined it."""
    from mindrec.benchmark.protocols import FUSED_RARE_ITEM_GENERATIVE_WEIGHT, SYNTHETIC_SMALL
    from mindrec.benchmark.runner import BenchmarkContext

    assert FUSED_RARE_ITEM_GENERATIVE_WEIGHT == 20.0
    for protocol, kappa in ((BEAUTY_FULL, 20.0), (BEAUTY_MINDREC, 0.0), (SYNTHETIC_SMALL, 0.0)):
        context = BenchmarkContext(protocol=protocol, data=None, data_args=None, work_dir=None)
        plan = protocol.plans["mindrec"]
        fused, validation = context.evaluation_args(plan, "mindrec-fused"), context.evaluation_args(plan)
        assert (protocol.name, fused.rare_item_generative_weight) == (protocol.name, kappa)
        assert validation.rare_item_generative_weight == kappa
        assert context.evaluation_args(plan, "mindrec-onepass").rare_item_generative_weight == 0.0


def test_beauty_full_selects_mindrec_checkpoints_on_all_users_and_keeps_the_credit_to_the_fused_row():
    from mindrec.benchmark.runner import BenchmarkContext

    context = BenchmarkContext(protocol=BEAUTY_FULL, data=None, data_args=None, work_dir=None)
    # All of full Beauty's 22,363 validation users: the cap is above them.
    assert context.evaluation_args(BEAUTY_FULL.plans["mindrec"]).validation_max_users == SELECTION_MAX_USERS > 22_363
    onepass = context.evaluation_args(BEAUTY_FULL.plans["mindrec"], "mindrec-onepass")
    assert (onepass.retrieval_weight, onepass.transition_adjustment, onepass.transition_decay) == (0.0, 0.0, 0.0)
    assert onepass.transition_conditioning == onepass.transition_gap_decay == 0.0


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_row_of_every_protocol_has_valid_decoding_options(name):
    """A row's options are the protocol's, then its plan's, then its own: the merge must validate (a DBS row
    of a plan that validates with the fused decoder must not inherit its retrieval weight)."""
    from mindrec.benchmark.runner import BenchmarkContext

    protocol = get_protocol(name)
    context = BenchmarkContext(protocol=protocol, data=None, data_args=None, work_dir=None)
    for plan in protocol.plans.values():
        if plan.family != "mindrec":
            continue
        for row in plan.rows:
            options = context.evaluation_args(plan, row)
            assert options.retrieval_weight == plan.rows[row]["retrieval_weight"]
            if options.retrieval_weight and not plan.model.get("item_retrieval_head"):
                with pytest.raises(ValueError, match="item_retrieval_head"):
                    protocol.plans_for([row])
    assert protocol.plans_for(list(protocol.default_rows))  # every default row is runnable


def test_with_overrides_reaches_every_trainable_plan():
    smaller = SYNTHETIC_SMALL.with_overrides(data={"synthetic_num_users": 50}, max_steps=3, sasrec_num_epochs=2)
    assert smaller.data["synthetic_num_users"] == 50 and smaller.data["max_history"] == 10
    for name, plan in smaller.plans.items():
        if plan.family in ("tiger", "mindrec", "deftrec"):
            assert plan.training["max_steps"] == 3, name
    assert smaller.plans["sasrec"].training["num_epochs"] == 2
    assert "max_steps" not in smaller.plans["sasrec"].training
    assert smaller.plans["mindrec-ocn"].training["ocn"] is True
    assert SYNTHETIC_SMALL.plans["mindrec"].training.get("max_steps") is None  # the original is untouched


def test_resolve_data_path(tmp_path):
    assert resolve_data_path(SYNTHETIC_SMALL, None, tmp_path) is None
    repo = tmp_path / "repo"
    (tmp_path / "shared" / "data" / "amazon_beauty_2014").mkdir(parents=True)
    repo.mkdir()
    assert resolve_data_path(BEAUTY_MINDREC, None, repo) == tmp_path / "shared" / "data" / "amazon_beauty_2014"
    with pytest.raises(FileNotFoundError, match="reads its data from .*nowhere, which does not exist; pass --data"):
        resolve_data_path(BEAUTY_MINDREC, tmp_path / "nowhere", repo)


def test_cli_rejects_unknown_protocols_and_seeds(capsys):
    with pytest.raises(SystemExit):
        benchmark_parser().parse_args(["--protocol", "beauty"])
    assert "invalid choice: 'beauty'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"seeds must be distinct and at least one, got \[1, 1\]"):
        run_benchmark(SYNTHETIC_SMALL, seeds=[1, 1])


def tiny_synthetic_small():
    """synthetic-small cut to seconds: 40 users, 60 items, 2 optimizer steps per model, 1 SASRec epoch."""
    protocol = SYNTHETIC_SMALL.with_overrides(
        data={"synthetic_num_users": 40, "synthetic_num_items": 60}, max_steps=2, sasrec_num_epochs=1
    )
    return dataclasses.replace(protocol, evaluation={**protocol.evaluation, "validation_max_users": 10})


def test_sasrec_learning_curve_takes_training_seconds_and_drops_the_validation_prefix():
    history = [
        {"epoch": 1, "step": 4, "train_loss": 2.5, "seconds": 3.0, "train_seconds": 2.0, "validation_ndcg@10": 0.25,
         "validation_hr@1": 0.125},
        {"epoch": 2, "step": 8, "train_loss": 2.0, "seconds": 7.0, "train_seconds": 5.0, "validation_ndcg@10": 0.5,
         "validation_hr@1": 0.25},
    ]  # fmt: skip
    assert sasrec_learning_curve(history) == [
        {"step": 4, "epoch": 1, "seconds": 2.0, "ndcg@10": 0.25, "hr@1": 0.125},
        {"step": 8, "epoch": 2, "seconds": 5.0, "ndcg@10": 0.5, "hr@1": 0.25},
    ]


@pytest.mark.slow
@needs_matplotlib
def test_synthetic_small_end_to_end(tmp_path):
    result_set = run_benchmark(tiny_synthetic_small(), seeds=[0], repo_root=tmp_path, work_dir=tmp_path / "work")
    assert result_set["models"] == list(DEFAULT_ROWS)
    assert [row["model"] for row in result_set["summary"]] == list(DEFAULT_ROWS)
    assert result_set["data"]["users"] == 40 and result_set["data"]["items"] == 60
    assert result_set["git_commit"] is None  # tmp_path is no git checkout
    runs = {run["model"]: run for run in result_set["runs"]}
    for name, run in runs.items():
        metrics = run["metrics"]
        for k_small, k_large in ((1, 3), (3, 5), (5, 10)):
            assert metrics[f"hr@{k_small}"] <= metrics[f"hr@{k_large}"], name
        assert all(0.0 <= metrics[metric] <= 1.0 for metric in TABLE_METRICS), name
        assert metrics["validity"] == 1.0, name  # K distinct catalogue items for every user
        assert run["decode_users_per_second"] > 0 and math.isfinite(run["train_seconds"])
    # The four decoder rows reuse one trained model.
    decoders = [runs[f"mindrec-{name}"] for name in ("dbs", "cpd", "greedy", "l2r")]
    assert len({(run["train_seconds"], run["num_parameters"], run["details"]["best_step"]) for run in decoders}) == 1
    assert [run["details"]["decoding"] for run in decoders] == [
        "diffusion_beam_search", "parallel_denoising", "low_confidence", "left_to_right"
    ]
    assert runs["tiger"]["details"]["decoding"] == "left_to_right"
    assert runs["tiger"]["num_parameters"] == runs["mindrec-dbs"]["num_parameters"]  # same backbone and head
    assert runs["mindrec-sid"]["details"]["code_slot_sizes"] == [16, 16, 16]
    assert runs["mindrec-dbs"]["details"]["code_slot_sizes"][3:] == [16, 16, 16]
    assert runs["popularity"]["num_parameters"] == 0
    # One code table per layout (categories + SID, SID only), built once and shared.
    assert [table["num_category_levels"] for table in result_set["code_tables"]] == [3, 0]
    assert all(run["details"]["global_step"] == 2 for run in decoders)
    # Cost profiles: one training step of the plan's batch, one decoding step of test users x beams.
    profile = runs["mindrec-dbs"]["details"]["profile"]
    assert profile["training_step"]["rows"] == 128 and profile["decoding_step"]["rows"] == 40 * 10
    assert profile["decoding_step"]["gflop"] > 0 and "decoding_step" not in runs["deftrec"]["details"]["profile"]
    assert runs["mindrec-ocn"]["details"]["profile"]["training_step"]["rows"] == 32
    assert result_set["hardware"]["matmul_peak_gflops_fp32"] > 0
    # DeftRec diffuses over the item embeddings of the SASRec trained in the same seed.
    sasrec_vectors = np.load(tmp_path / "work" / "sasrec" / "seed0" / "item_vectors.npy")
    assert sasrec_vectors.shape == (60, 64)
    # The SASRec itself is kept as it ranked test: loaded again, it scores test's metrics to the digit.
    sasrec = SASRecModel.from_pretrained(tmp_path / "work" / "sasrec" / "seed0" / "model").eval()
    protocol = tiny_synthetic_small()
    data, _ = load_protocol_data(protocol, None)
    reloaded = evaluate_sasrec(sasrec, data.splits["test"], protocol.evaluation["exclude_history"])
    compared = sorted(set(reloaded) & set(runs["sasrec"]["metrics"]))
    assert {"hr@1", "ndcg@10", "hr@10"} <= set(compared)  # the comparison below covers the table's metrics
    assert [reloaded[metric] for metric in compared] == pytest.approx(
        [runs["sasrec"]["metrics"][metric] for metric in compared], abs=1e-12
    )
    # SASRec's per-epoch validation is its learning curve, on the generative models' axes, and the report draws it.
    sasrec_curve = runs["sasrec"]["details"]["validation"]
    assert len(sasrec_curve) == runs["sasrec"]["details"]["epochs"]
    assert max(entry["ndcg@10"] for entry in sasrec_curve) == runs["sasrec"]["details"]["best_validation_ndcg@10"]
    assert [entry["epoch"] for entry in sasrec_curve] == list(range(1, len(sasrec_curve) + 1))
    assert {"step", "seconds", "hr@1"} <= set(sasrec_curve[0])
    assert "sasrec seed 0" in learning_curves(result_set["runs"])
    deftrec = DeftRecForRecommendation.from_pretrained(tmp_path / "work" / "deftrec" / "seed0" / "final")
    torch.testing.assert_close(deftrec.item_vectors, torch.from_numpy(sasrec_vectors))

    paths = write_result_set(result_set, tmp_path / "results")
    table = format_results_table(result_set["summary"])
    page = paths["md"].read_text()
    assert table in page and "## Cost profile" in page
    assert json.loads(paths["json"].read_text())["summary"] == result_set["summary"]


def test_deftrec_on_sasrec_vectors_needs_the_sasrec_row(tmp_path):
    with pytest.raises(ValueError, match=r"run the sasrec row before it in the same benchmark"):
        run_benchmark(tiny_synthetic_small(), seeds=[0], models=["deftrec"], repo_root=tmp_path)


def test_cli_needs_matplotlib_before_it_trains(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the bench extra sees
    output = tmp_path / "results"
    with pytest.raises(ImportError, match=r"needs matplotlib, which the `bench` extra brings"):
        benchmark_main(["--protocol", "synthetic-small", "--output", str(output)], repo_root=tmp_path)
    assert not output.exists() and list(tmp_path.iterdir()) == []  # nothing trained, nothing written


@needs_matplotlib
def test_cli_writes_results_and_updates_the_readme(tmp_path, capsys):
    output = tmp_path / "docs" / "results"
    result_set = benchmark_main(
        ["--protocol", "synthetic-small", "--models", "popularity", "--output", str(output)], repo_root=tmp_path
    )
    assert result_set["command"] == (
        f"python scripts/benchmark.py --protocol synthetic-small --models popularity --output {output}"
    )
    assert capsys.readouterr().out == format_results_table(result_set["summary"])
    assert sorted(path.name for path in output.iterdir()) == [
        "synthetic-small.json", "synthetic-small.md", "synthetic-small.png"
    ]
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{START_MARKER}\n{END_MARKER}\n")
    section = update_readme_main([], repo_root=tmp_path)  # only a smoke test there: it is used
    assert readme.read_text() == f"# x\n{START_MARKER}\n{section}\n{END_MARKER}\n"
    assert "![NDCG@10 against decoding speed](docs/results/synthetic-small.png)" in section
    assert format_results_table(result_set["summary"]) in section + "\n"


def test_cli_max_steps_cuts_every_generative_budget_and_is_recorded(tmp_path):
    result_set = benchmark_main(
        ["--protocol", "synthetic-small", "--models", "tiger", "--max-steps", "3", "--output", str(tmp_path)],
        repo_root=tmp_path,
    )
    plans = result_set["protocol_config"]["plans"]
    assert plans["tiger"]["training"]["max_steps"] == 3 and plans["mindrec"]["training"]["max_steps"] == 3
    assert "max_steps" not in plans["sasrec"]["training"]  # SASRec keeps its own early-stopped budget
    (run,) = result_set["runs"]
    assert [entry["step"] for entry in run["details"]["validation"]][-1] == 3
    assert "--max-steps 3" in result_set["command"]
    # The trained row's validation curve is plotted next to the table.
    assert (tmp_path / "synthetic-small-curves.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_set_overrides_one_plan_and_is_recorded(tmp_path):
    result_set = benchmark_main(
        [
            "--protocol", "synthetic-small", "--models", "tiger", "--max-steps", "4",
            "--set", "tiger.training.max_train_minutes=1e-8", "--set", "mindrec.model.hidden_size=64",
            "--output", str(tmp_path),
        ],
        repo_root=tmp_path,
    )
    plans = result_set["protocol_config"]["plans"]
    assert plans["tiger"]["training"]["max_train_minutes"] == 1e-8 and plans["mindrec"]["model"]["hidden_size"] == 64
    assert plans["tiger"]["model"]["hidden_size"] == 128 and "max_train_minutes" not in plans["mindrec"]["training"]
    (run,) = result_set["runs"]
    # The time budget ends training at its first step, which is validated and kept.
    assert run["details"]["global_step"] == 1 and run["details"]["stopped_by_time"] is True
    assert [entry["step"] for entry in run["details"]["validation"]] == [1]
    assert "--set tiger.training.max_train_minutes=1e-8" in result_set["command"]


def test_cli_set_refuses_unknown_plans_and_sections(tmp_path):
    with pytest.raises(SystemExit, match=r"--set: unknown plan\(s\) \['tigre'\]"):
        benchmark_main(["--protocol", "synthetic-small", "--set", "tigre.training.num_epochs=2"], repo_root=tmp_path)
    with pytest.raises(SystemExit):  # argparse: PLAN.SECTION.KEY=VALUE with a known section
        benchmark_parser().parse_args(["--protocol", "synthetic-small", "--set", "tiger.weights.x=1"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("mindrec.training.max_steps=abc", r"plan 'mindrec': `max_steps` must be int, got 'abc'"),
        ("sasrec.training.num_epochs=many", r"plan 'sasrec': `num_epochs` must be int, got 'many'"),
        ("tiger.evaluation.decoding_grid=null", r"plan 'tiger': `decoding_grid` must be a list of str, got None"),
        ("mindrec.model.no_such_option=1", r"plan 'mindrec': .*no_such_option"),
    ],
)
def test_cli_refuses_a_bad_option_value_before_any_plan_trains(tmp_path, setting, message):
    # Popularity and SASRec come first in the row order: the bad MindRec value must not wait for them to train.
    with pytest.raises(SystemExit, match=rf"scripts/benchmark.py: {message}"):
        benchmark_main(
            ["--protocol", "synthetic-small", "--models", "popularity", "sasrec", "tiger", "mindrec-dbs", "--set", setting,
             "--output", str(tmp_path)],
            repo_root=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


def test_run_benchmark_checks_every_plan_before_reading_the_data(tmp_path):
    protocol = get_protocol("synthetic-small").with_plan_settings([("mindrec", "training", "learning_rate", "fast")])
    with pytest.raises(ValueError, match=r"plan 'mindrec': `learning_rate` must be a number, got 'fast'"):
        run_benchmark(protocol, models=["mindrec-dbs"], data_path=tmp_path / "no-such-folder", repo_root=tmp_path)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_shipped_protocol_passes_the_option_check(name):
    protocol = get_protocol(name)
    check_plan_options(protocol, protocol.plans_for(list(protocol.default_rows)))


def test_a_protocol_run_on_data_with_repeat_visits_warns_that_its_exclusion_hides_them(tmp_path, caplog):
    # u1 = A B A C: its validation target A repeats its history; the others never come back to an item.
    sequences = {"u1": "ABAC", "u2": "ABCD", "u3": "BCDA"}
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,item_id,timestamp\n"
        + "".join(f"{user},{item},{t}\n" for user, items in sequences.items() for t, item in enumerate(items))
    )
    excluding = dataclasses.replace(BEAUTY_FULL, data={"max_history": 20})
    with caplog.at_level("WARNING", logger="mindrec.pipeline"):
        load_protocol_data(excluding, events)
        load_protocol_data(dataclasses.replace(excluding, evaluation={**excluding.evaluation, "exclude_history": False}), events)
    warnings = [record.getMessage() for record in caplog.records if record.name == "mindrec.pipeline"]
    assert warnings == [
        "exclude_history=True, but 1 of 3 validation targets (33.3%) and 0 of 3 test targets (0.0%) repeat an item of "
        "their user's history: no recommendation can reach them (exclude_history=False lets history items be "
        "recommended)."
    ]
