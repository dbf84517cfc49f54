"""Tiny models and batches shared by the tests (the transformers ModelTester idea, in one place)."""

from __future__ import annotations

import torch

from mindrec.modeling import MindRecConfig, MindRecForRecommendation

SPECIAL = 7  # [PAD] [MASK] [BOS] [EOS] [SEP] [ITEM] [UNK]


def tiny_config(**overrides) -> MindRecConfig:
    """hidden 32, 2 layers, 4 heads (2 kv heads), code layout 2 category levels + 3 SID digits."""
    kwargs = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_category_levels=2,
        num_sid_digits=3,
        code_slot_sizes=[3, 4, 8, 8, 8],
        code_token_offset=SPECIAL,
    )
    kwargs.update(overrides)
    kwargs.setdefault("vocab_size", kwargs["code_token_offset"] + sum(kwargs["code_slot_sizes"]))
    return MindRecConfig(**kwargs)


def tiny_model(seed: int = 0, **overrides) -> MindRecForRecommendation:
    """A randomly initialised tiny model in eval mode (fp32)."""
    torch.manual_seed(seed)
    return MindRecForRecommendation(tiny_config(**overrides)).eval()


def random_batch(config: MindRecConfig, batch: int = 3, prompt: int = 9, seed: int = 0, pad: tuple[int, ...] = (0, 2, 4)):
    """Left-padded ``input_ids``/``attention_mask``/``labels`` with the canvas as the last slots.

    Row ``i`` has ``pad[i]`` padding positions, then ``[BOS]``, random code tokens, ``[SEP]`` and the
    ``[MASK]`` canvas. ``labels`` hold a random valid target code at the canvas, -100 elsewhere.
    """
    g = torch.Generator().manual_seed(seed)
    length = config.code_length
    low = torch.tensor(config.code_slot_offsets)
    sizes = torch.tensor(config.code_slot_sizes)
    input_ids = torch.randint(config.code_token_offset, config.vocab_size, (batch, prompt + length), generator=g)
    input_ids[:, -length:] = config.mask_token_id
    input_ids[:, -length - 1] = config.sep_token_id
    attention_mask = torch.ones_like(input_ids)
    for row in range(batch):
        n = pad[row % len(pad)]
        input_ids[row, :n] = config.pad_token_id
        attention_mask[row, :n] = 0
        input_ids[row, n] = config.bos_token_id
    targets = low + (torch.rand(batch, length, generator=g) * sizes).long()
    labels = torch.full_like(input_ids, -100)
    labels[:, -length:] = targets
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
