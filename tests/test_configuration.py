"""MindRecConfig: defaults, validation errors that quote the bad values, round trips, parameter counts."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError
from tiny import tiny_config

from mindrec.modeling import MindRecConfig, MindRecForRecommendation

CONFIG_ERRORS = (ValueError, StrictDataclassClassValidationError, StrictDataclassFieldValidationError)

LLADA_8B = dict(
    vocab_size=126464,
    hidden_size=4096,
    intermediate_size=12288,
    num_hidden_layers=32,
    num_attention_heads=32,
    rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
    mask_token_id=126336,
    eos_token_id=126081,
    pad_token_id=126081,
    bos_token_id=None,
    sep_token_id=None,
    item_placeholder_token_id=None,
    num_category_levels=0,
    num_sid_digits=1,
    code_slot_sizes=[1],
    code_token_offset=126463,
)


def count_parameters(config: MindRecConfig) -> int:
    with torch.device("meta"):
        model = MindRecForRecommendation(config)
    return sum(p.numel() for p in model.parameters())


def expected_parameters(vocab, hidden, mlp, layers, heads, kv_heads):
    head_dim = hidden // heads
    attention = hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim + heads * head_dim * hidden
    block = attention + 3 * hidden * mlp + 2 * hidden
    return 2 * vocab * hidden + layers * block + hidden


def test_defaults_are_the_small_cpu_model():
    config = MindRecConfig()
    assert config.code_slot_sizes == [256, 256, 256, 256]
    assert config.code_slot_offsets == [7, 263, 519, 775]
    assert config.code_length == 4
    assert config.rope_parameters == {"rope_type": "default", "rope_theta": 10000.0}
    assert config.num_key_value_heads == config.num_attention_heads
    assert not config.is_causal


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(hidden_size=30, num_attention_heads=4), r"`hidden_size` \(30\) is not a multiple of `num_attention_heads` \(4\)"),
        (dict(num_key_value_heads=3), r"`num_attention_heads` \(4\) must be a multiple of `num_key_value_heads` \(3\)"),
        (dict(code_slot_sizes=[3, 4]), r"`code_slot_sizes` has 2 entries \[3, 4\]"),
        (dict(code_slot_sizes=[3, 0, 8, 8, 8]), r"must be >= 1, got \[3, 0, 8, 8, 8\]"),
        (dict(vocab_size=30), r"Code tokens occupy ids \[7, 38\) but `vocab_size` is 30"),
        (dict(mask_token_id=8), r"`mask_token_id` \(8\) falls inside the code-token block \[7, 38\)"),
        (dict(pad_token_id=99), r"`pad_token_id` \(99\) is outside the vocabulary \[0, 38\)"),
        (dict(mask_token_id=0), r"`mask_token_id` \(0\) must differ from pad/bos/sep"),
        (dict(history_encoding="pooled", item_placeholder_token_id=None), r"needs an `item_placeholder_token_id`"),
        (dict(mask_eps=1.0), r"`mask_eps` must be in \[0, 1\), got 1.0"),
        (dict(hidden_dropout=1.0), r"`hidden_dropout` must be in \[0, 1\), got 1.0"),
        (dict(attention_dropout=-0.1), r"`attention_dropout` must be in \[0, 1\), got -0.1"),
        (dict(num_category_levels=0, num_sid_digits=0, code_slot_sizes=[]), r"at least one slot"),
    ],
)
def test_invalid_values_are_rejected_with_the_values_quoted(overrides, message):
    with pytest.raises(CONFIG_ERRORS, match=message):
        tiny_config(**overrides)


def test_wrong_types_are_rejected():
    with pytest.raises(CONFIG_ERRORS, match="hidden_size"):
        tiny_config(hidden_size="32")
    with pytest.raises(CONFIG_ERRORS, match="history_encoding"):
        tiny_config(history_encoding="bags")


def test_round_trip_through_config_json(tmp_path):
    config = tiny_config(history_encoding="pooled", mask_eps=0.3)
    config.save_pretrained(tmp_path)
    loaded = MindRecConfig.from_pretrained(tmp_path)
    for key in ("code_slot_sizes", "code_token_offset", "num_category_levels", "history_encoding", "mask_eps", "vocab_size"):
        assert getattr(loaded, key) == getattr(config, key)
    assert loaded.code_slot_offsets == config.code_slot_offsets


def test_parameter_counts_tiny_small_and_llada_8b():
    tiny = tiny_config()
    assert count_parameters(tiny) == expected_parameters(tiny.vocab_size, 32, 64, 2, 4, 2) == 21_024
    small = MindRecConfig(num_category_levels=3, code_slot_sizes=[8, 16, 32, 256, 256, 256, 256], vocab_size=7 + 1080)
    assert count_parameters(small) == expected_parameters(1087, 256, 1024, 4, 4, 4) == 4_753_152
    llada = MindRecConfig(**LLADA_8B)
    count = count_parameters(llada)
    assert count == expected_parameters(126464, 4096, 12288, 32, 32, 32) == 8_015_581_184
    assert abs(count / 1e9 - 8.02) < 0.01  # published: 8.02B
