"""Options: YAML config < command line, unknown keys are errors, shipped configs parse; the LR schedule."""

from pathlib import Path

import pytest
import torch

from mindrec.pipeline import MAIN_JOB_DEFAULTS
from mindrec.training.arguments import (
    TRAIN_ARGUMENT_TYPES,
    EvaluationArguments,
    ModelArguments,
    TrainingArguments,
)
from mindrec.training.config_loading import argument_fields, parse_arguments, read_yaml_config
from mindrec.training.lr_schedule import build_lr_scheduler, lr_multiplier

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_yaml_values_then_command_line_overrides(tmp_path):
    config = write(
        tmp_path / "run.yaml",
        "learning_rate: 1.0e-4\nmax_users: null\nocn: true\neval_ks: [1, 5]\nnum_return_items: 5\n"
        "num_beams: 5\nselection_metric: ndcg@5\nmax_history: 7\n",
    )
    data, codes, model, training, evaluation = parse_arguments(
        TRAIN_ARGUMENT_TYPES, ["--config", config, "--learning-rate", "3e-4", "--max_history", "4"]
    )
    assert training.learning_rate == 3e-4  # command line wins (hyphen alias accepted)
    assert data.max_history == 4
    assert data.max_users is None and training.ocn is True
    assert evaluation.eval_ks == [1, 5] and evaluation.num_beams == 5
    assert model.model_type == "mindrec" and codes.num_sid_digits == 4  # dataclass defaults


def test_an_empty_list_in_a_config_empties_the_option(tmp_path):
    # A list option takes one value or more on a command line, so `[]` cannot become tokens: it is the option's value.
    config = write(tmp_path / "run.yaml", "decoding_grid: []\nreport_to: []\n")
    *_, training, evaluation = parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", config])
    assert evaluation.decoding_grid == [] and training.report_to == []
    grid = write(tmp_path / "grid.yaml", "decoding_grid:\n  - transition_adjustment=1,2\n")
    *_, evaluation = parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", grid, "--decoding_grid", "retrieval_weight=1,10"])
    assert evaluation.decoding_grid == ["retrieval_weight=1,10"]  # the command line still wins


def test_none_on_the_command_line_lifts_a_limit_the_config_sets(tmp_path):
    config = write(tmp_path / "run.yaml", "max_users: 5000\nmax_train_minutes: 30\nvalidation_max_users: 100\n")
    data, _, _, training, evaluation = parse_arguments(
        TRAIN_ARGUMENT_TYPES, ["--config", config, "--max_users", "none", "--max-train-minutes", "NULL"]
    )
    assert (data.max_users, training.max_train_minutes, evaluation.validation_max_users) == (None, None, 100)
    data, _, _, training, _ = parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", config, "--max_train_minutes", "2.5"])
    assert (data.max_users, training.max_train_minutes) == (5000, 2.5)
    with pytest.raises(ValueError, match=r"argument --max_users/--max-users: invalid int or none value: 'all'"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--max_users", "all"])
    with pytest.raises(ValueError, match=r"invalid int value: 'none'"):  # a number that is never None stays a number
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--num_beams", "none"])


def test_integers_given_to_float_options_become_floats(tmp_path):
    """A YAML ``1`` (or ``--set ...=1``) reaches the typed model config, which refuses an int for a float."""
    from mindrec.training.arguments import ModelArguments

    config = write(tmp_path / "run.yaml", "retrieval_loss_weight: 2\nlearning_rate: 1\nnum_epochs: 3\n")
    _, _, model, training, _ = parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", config])
    assert type(model.retrieval_loss_weight) is float and model.retrieval_loss_weight == 2.0
    assert type(training.learning_rate) is float and type(training.num_epochs) is int
    direct = ModelArguments(
        history_retrieval_loss_weight=1, item_retrieval_head=True, history_item_embeddings=True,
        prompt_attends_canvas=False, causal_prompt=True,
    )
    assert type(direct.history_retrieval_loss_weight) is float
    assert type(ModelArguments(hidden_size=64).hidden_size) is int


def test_dropout_options_reach_the_small_model_and_bad_rates_are_refused():
    from hub_support import make_tokenizer

    from mindrec.training.arguments import ModelArguments
    from mindrec.training.model_setup import build_small_model

    model_args = ModelArguments(hidden_size=16, intermediate_size=32, hidden_dropout=0.2, attention_dropout=0.1)
    model = build_small_model(make_tokenizer(), model_args)
    assert (model.config.hidden_dropout, model.config.attention_dropout) == (0.2, 0.1)
    assert model.model.embedding_dropout.p == 0.2 and model.model.layers[0].dropout.p == 0.2
    assert model.model.layers[0].self_attn.attention_dropout == 0.1
    for name, rate in (("hidden_dropout", 1.0), ("attention_dropout", -0.5), ("lora_dropout", 1.0), ("retrieval_label_smoothing", 1.0)):
        with pytest.raises(ValueError, match=rf"`{name}` must be in \[0, 1\), got {rate}"):
            ModelArguments(**{name: rate})
    with pytest.raises(ValueError, match="retrieval_label_smoothing > 0 needs item_retrieval_head=True"):
        ModelArguments(retrieval_label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"`history_retrieval_reduction` must be one of \['item', 'row'\], got 'user'"):
        ModelArguments(history_retrieval_reduction="user")
    with pytest.raises(ValueError, match="history_retrieval_window > 0 needs history_retrieval_loss_weight > 0"):
        ModelArguments(history_retrieval_window=3)
    with pytest.raises(ValueError, match=r"`history_retrieval_window` must be >= 0, got -1"):
        ModelArguments(history_retrieval_window=-1)


def test_unknown_yaml_key_is_named_with_its_line_and_a_suggestion(tmp_path):
    config = write(tmp_path / "bad.yaml", "seed: 1\nlearning_rat: 0.1\n")
    with pytest.raises(
        ValueError, match=r"bad\.yaml:2: unknown config key 'learning_rat'.*Did you mean 'learning_rate'"
    ):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", config])


def test_unknown_command_line_option_and_bad_values_are_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unrecognized arguments: --no_such_option 1"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--no_such_option", "1"])
    with pytest.raises(ValueError, match=r"unrecognized arguments: --num_beam 4 Did you mean '--num_beams'\?"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--num_beam", "4"])
    with pytest.raises(ValueError, match=r"invalid choice: 'beam' .* Did you mean 'diffusion_beam_search'\?"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--strategy", "beam"])
    with pytest.raises(ValueError, match=r"`strategy` must be one of .*got 'beam'"):
        EvaluationArguments(strategy="beam")
    with pytest.raises(ValueError, match=r"`eval_ks` \[1, 20\] asks for K=20 but only num_return_items=10"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--eval_ks", "1", "20"])
    for value in (None, 10, [1, "5"], [1, True]):
        with pytest.raises(ValueError, match=r"`eval_ks` must be a list of int, got "):
            EvaluationArguments(eval_ks=value)
    config = write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ValueError, match=r"a config must be a mapping"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", config])
    with pytest.raises(FileNotFoundError, match="missing.yaml does not exist"):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", str(tmp_path / "missing.yaml")])


def test_llm_setting_requires_its_folders():
    with pytest.raises(
        ValueError, match=r"model_setting='llm' needs \['backbone_path', 'text_tokenizer_path'\]"
    ):
        parse_arguments(TRAIN_ARGUMENT_TYPES, ["--model_setting", "llm", "--history_encoding", "tokens"])


def test_every_option_is_declared_once():
    owners = argument_fields(TRAIN_ARGUMENT_TYPES)
    assert len(owners) == sum(len(cls.__dataclass_fields__) for cls in TRAIN_ARGUMENT_TYPES)


@pytest.mark.parametrize(
    "name",
    ["default_synthetic.yaml", "mindrec_small_beauty.yaml", "mindrec_small_beauty_full.yaml", "mindrec_llada8b_beauty.yaml"],
)
def test_shipped_configs_use_only_known_options(name):
    values = read_yaml_config(CONFIGS / name, TRAIN_ARGUMENT_TYPES)
    assert values
    extra = []
    if values.get("model_setting") == "llm":
        extra = ["--backbone_path", "backbone", "--text_tokenizer_path", "text"]
    parse_arguments(TRAIN_ARGUMENT_TYPES, ["--config", str(CONFIGS / name), *extra])


@pytest.mark.parametrize(
    ("arguments", "values", "message"),
    [
        (TrainingArguments, {"max_steps": "abc"}, r"`max_steps` must be int, got 'abc'"),
        (TrainingArguments, {"max_steps": 2.5}, r"`max_steps` must be int, got 2.5"),
        (TrainingArguments, {"learning_rate": "fast"}, r"`learning_rate` must be a number, got 'fast'"),
        (TrainingArguments, {"learning_rate": True}, r"`learning_rate` must be a number, got True"),
        (TrainingArguments, {"seed": None}, r"`seed` must be int, got None"),
        (EvaluationArguments, {"retrieval_weight": None}, r"`retrieval_weight` must be a number, got None"),
        (EvaluationArguments, {"transition_adjustment": [1, 2]}, r"`transition_adjustment` must be a number, got \[1, 2\]"),
        (ModelArguments, {"item_retrieval_head": "yes"}, r"`item_retrieval_head` must be bool, got 'yes'"),
        (ModelArguments, {"backbone_dtype": "fp16"}, r"`backbone_dtype` must be one of \['float32', 'bfloat16'\], got 'fp16'"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(arguments, values, message):
    # YAML files, the benchmark's --set and Python callers hand values over unconverted (the command line converts).
    with pytest.raises(ValueError, match=message):
        arguments(**values)


def test_an_annotation_the_type_check_cannot_read_is_a_developer_error():
    import dataclasses

    from mindrec.training.arguments import check_field_types

    @dataclasses.dataclass
    class Options:
        weights: "dict[str, float]" = dataclasses.field(default_factory=dict)

    with pytest.raises(TypeError, match=r"cannot check the annotation 'dict\[str, float\]'; extend _is_of_type"):
        check_field_types(Options())


def test_numbers_given_to_float_options_become_floats():
    import numpy as np

    arguments = TrainingArguments(learning_rate=1, weight_decay=np.float32(0.5), max_train_minutes=None)
    assert (type(arguments.learning_rate), arguments.learning_rate) == (float, 1.0)
    assert (type(arguments.weight_decay), arguments.weight_decay) == (float, 0.5)
    assert arguments.max_train_minutes is None


def test_llada_config_has_the_published_hyper_parameters():
    values = read_yaml_config(CONFIGS / "mindrec_llada8b_beauty.yaml", TRAIN_ARGUMENT_TYPES)
    published = {
        "learning_rate": 1e-4,
        "train_batch_size": 8,
        "num_epochs": 3,
        "warmup_steps": 50,
        "max_history": 10,
        "max_users": 5000,
        "lora_r": 8,
        "lora_alpha": 32,
        "lora_dropout": 0.05,
        "weight_decay": 0.01,
        "lr_schedule": "mindrec",
        "decay_fraction": 0.1,
        "final_lr_ratio": 0.1,
    }
    assert {key: values[key] for key in published} == published
    assert 0.4 <= values["mask_eps"] <= 0.7


def test_default_synthetic_config_is_the_main_job():
    assert read_yaml_config(CONFIGS / "default_synthetic.yaml", TRAIN_ARGUMENT_TYPES) == MAIN_JOB_DEFAULTS


def test_mindrec_schedule_warms_up_then_decays_the_last_tenth():
    values = [lr_multiplier(step, "mindrec", 100, warmup_steps=4) for step in range(100)]
    assert values[:5] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert values[4:90] == [1.0] * 86
    assert values[90:] == pytest.approx([1.0 - 0.9 * k / 10 for k in range(1, 11)])
    assert values[-1] == pytest.approx(0.1)


def test_linear_and_constant_schedules_and_the_scheduler_object():
    assert [
        lr_multiplier(s, "linear", 6, warmup_steps=1, final_lr_ratio=0.0) for s in range(6)
    ] == pytest.approx([0.5, 1.0, 0.75, 0.5, 0.25, 0.0])
    assert [lr_multiplier(s, "constant", 6, warmup_steps=2) for s in range(6)] == pytest.approx(
        [1 / 3, 2 / 3, 1, 1, 1, 1]
    )
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = build_lr_scheduler(optimizer, "mindrec", 10, warmup_steps=1)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.25] + [0.5] * 8 + [0.05])
    with pytest.raises(ValueError, match="Unknown lr_schedule 'cosine'"):
        build_lr_scheduler(optimizer, "cosine", 10, 1)


FUSED_DECODING_KEYS = (
    "popularity_adjustment", "recency_adjustment", "transition_adjustment", "transition_decay", "transition_conditioning",
    "transition_gap_decay", "brand_adjustment", "rare_item_generative_weight", "decoding_grid", "validation_max_users",
)


@pytest.mark.parametrize(
    "config_name, protocol_name, training_keys, decoding_keys",
    [
        (
            "mindrec_small_beauty_full.yaml", "beauty-full",
            (
                "learning_rate", "train_batch_size", "num_epochs", "evals_per_epoch", "early_stopping_patience", "mask_eps",
                "ema_decay",
            ),
            FUSED_DECODING_KEYS,
        ),
        # The protocol cuts the epochs to fit its time budget; the config trains with early stopping instead.
        (
            "mindrec_small_beauty.yaml", "beauty-mindrec", ("learning_rate", "train_batch_size", "mask_eps"),
            FUSED_DECODING_KEYS,
        ),
    ],
)
def test_beauty_configs_match_their_benchmark_protocols(config_name, protocol_name, training_keys, decoding_keys):
    """A shipped Beauty config is the design its protocol measured (one source of truth would be better; until
    then this keeps the two from drifting apart)."""
    from mindrec.benchmark.protocols import get_protocol

    protocol = get_protocol(protocol_name)
    values = read_yaml_config(CONFIGS / config_name, TRAIN_ARGUMENT_TYPES)
    plan = protocol.plans["mindrec"]
    for key, value in {**plan.model, **protocol.codes, **plan.codes, **protocol.data}.items():
        assert values[key] == value, key
    for key in training_keys:
        assert values[key] == plan.training[key], key
    for key in ("strategy", "retrieval_weight", "history_cache", *decoding_keys):  # the decoder selecting checkpoints
        assert values[key] == plan.evaluation[key], key
