"""MindRec: a LLaDA-style masked-diffusion transformer for generative recommendation.

Reads top-down from small parts to large: norm, rotary, MLP, attention, decoder layer, the
pre-trained base, the backbone (``MindRecModel``), then the task model
(``MindRecForRecommendation``). Module names follow Llama (``embed_tokens``, ``layers.N.self_attn.q_proj``,
``mlp.gate_proj``, ``norm``, ``lm_head``) so that PEFT targets, device maps and TP plans key on them.

Remote code: imports only torch, transformers and single-dot relative imports.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutput
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS, PreTrainedModel
from transformers.utils import ModelOutput, logging

from .canvas_scoring import MindRecCanvasScorer
from .configuration_mindrec import MindRecConfig
from .generation_mindrec import MindRecGenerationMixin
from .item_brands import UNSET_BRAND, brand_credit, check_item_brand_ids
from .item_transitions import install_transition_table, leave_one_out_transition_rows, transition_rows
from .scheduling_masked_diffusion import MaskedDiffusionSchedule

if TYPE_CHECKING:
    from .canvas_scoring import PromptKeyValueCache

logger = logging.get_logger(__name__)

IGNORE_INDEX = -100


class MindRecRMSNorm(nn.Module):
    """RMSNorm computed in fp32: ``weight * x / sqrt(mean(x^2) + eps)``."""

    def __init__(self, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)

    def extra_repr(self) -> str:
        return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}"


class MindRecRotaryEmbedding(nn.Module):
    """RoPE cos/sin tables for given positions (LLaMA's half-rotation convention, as LLaDA)."""

    def __init__(self, config: MindRecConfig):
        super().__init__()
        self.config = config
        self.rope_type = config.rope_parameters["rope_type"]
        rope_init_fn: Callable = self.compute_default_rope_parameters
        if self.rope_type != "default":
            rope_init_fn = ROPE_INIT_FUNCTIONS[self.rope_type]
        inv_freq, self.attention_scaling = rope_init_fn(config)
        self.inv_freq = nn.Buffer(inv_freq, persistent=False)
        self.original_inv_freq = nn.Buffer(inv_freq.clone(), persistent=False)

    @staticmethod
    def compute_default_rope_parameters(config: MindRecConfig, **kwargs) -> tuple[torch.Tensor, float]:
        """Inverse frequencies ``theta^(-2i/d)`` for ``i < head_dim / 2``; no attention scaling."""
        base = config.rope_parameters["rope_theta"]
        dim = config.head_dim
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        return inv_freq, 1.0

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.LongTensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``position_ids [batch, seq]`` -> ``(cos, sin)`` each ``[batch, seq, head_dim]`` in ``x.dtype``."""
        freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Rotate the two halves of the last dimension: ``[x1, x2] -> [-x2, x1]``."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    """Rotate ``q, k [batch, heads, seq, head_dim]`` by ``cos, sin [batch, seq, head_dim]``."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


class MindRecMLP(nn.Module):
    """SwiGLU: ``down_proj(silu(gate_proj(x)) * up_proj(x))`` (LLaDA's ff_proj / up_proj / ff_out)."""

    def __init__(self, config: MindRecConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        self.act_fn = ACT2FN[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


def repeat_kv(hidden_states: torch.Tensor, n_rep: int) -> torch.Tensor:
    """``[batch, kv_heads, seq, dim] -> [batch, kv_heads * n_rep, seq, dim]``."""
    if n_rep == 1:
        return hidden_states
    batch, kv_heads, seq, dim = hidden_states.shape
    hidden_states = hidden_states[:, :, None].expand(batch, kv_heads, n_rep, seq, dim)
    return hidden_states.reshape(batch, kv_heads * n_rep, seq, dim)


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain softmax attention. ``attention_mask`` is bool ``[batch, 1, q or 1, kv]`` (True = attend)."""
    key = repeat_kv(key, module.num_key_value_groups)
    value = repeat_kv(value, module.num_key_value_groups)
    attn_weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        attn_weights = attn_weights.masked_fill(~attention_mask, torch.finfo(attn_weights.dtype).min)
    attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_weights = nn.functional.dropout(attn_weights, p=dropout, training=module.training)
    attn_output = torch.matmul(attn_weights, value).transpose(1, 2).contiguous()
    return attn_output, attn_weights


class MindRecAttention(nn.Module):
    """Multi-head attention without a causal mask (unless ``config.is_causal``), RoPE on q and k."""

    def __init__(self, config: MindRecConfig, layer_idx: int):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.head_dim = config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        self.scaling = self.head_dim**-0.5
        self.attention_dropout = config.attention_dropout
        self.is_causal = config.is_causal
        self.q_proj = nn.Linear(config.hidden_size, config.num_attention_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(config.num_attention_heads * self.head_dim, config.hidden_size, bias=False)

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor],
        attention_mask: torch.Tensor | None = None,
        prompt_cache: "PromptKeyValueCache | None" = None,
        **kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        cos, sin = position_embeddings
        query, key = apply_rotary_pos_emb(query, key, cos, sin)
        if prompt_cache is not None:
            key, value = prompt_cache.update(key, value, self.layer_idx)

        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )
        attn_output, attn_weights = attention_interface(
            self,
            query,
            key,
            value,
            attention_mask,
            dropout=0.0 if not self.training else self.attention_dropout,
            scaling=self.scaling,
            is_causal=False,  # causality, when wanted, is already in the boolean mask
            **kwargs,
        )
        attn_output = self.o_proj(attn_output.reshape(*input_shape, -1).contiguous())
        return attn_output, attn_weights


class MindRecDecoderLayer(GradientCheckpointingLayer):
    """Pre-norm block: ``x + dropout(attn(norm(x)))`` then ``x + dropout(mlp(norm(x)))``."""

    def __init__(self, config: MindRecConfig, layer_idx: int):
        super().__init__()
        self.self_attn = MindRecAttention(config, layer_idx)
        self.mlp = MindRecMLP(config)
        self.input_layernorm = MindRecRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = MindRecRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor],
        attention_mask: torch.Tensor | None = None,
        prompt_cache: "PromptKeyValueCache | None" = None,
        **kwargs,
    ) -> torch.Tensor:
        residual = hidden_states
        hidden_states, _ = self.self_attn(
            self.input_layernorm(hidden_states),
            position_embeddings=position_embeddings,
            attention_mask=attention_mask,
            prompt_cache=prompt_cache,
            **kwargs,
        )
        hidden_states = residual + self.dropout(hidden_states)
        return hidden_states + self.dropout(self.mlp(self.post_attention_layernorm(hidden_states)))


class MindRecPreTrainedModel(PreTrainedModel):
    """Capability flags shared by the backbone and the task models."""

    config_class = MindRecConfig
    config: MindRecConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["MindRecDecoderLayer"]
    _supports_sdpa = True
    _supports_attention_backend = True

    #: Catalogue data kept as buffers, and the value that marks each as never set (their users check it).
    _unset_buffers = {
        "item_code_keys": -1,
        "item_features": float("nan"),
        "item_log_counts": float("nan"),
        "item_recent_log_counts": float("nan"),
        "item_transition_offsets": -1,
        "item_brand_ids": UNSET_BRAND,
    }

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        # These buffers hold data, not weights. A checkpoint that lacks one (saved before it existed) must load it
        # as "never set", so that a decoder needing it says so, rather than as whatever the loader's memory held.
        for name, unset in self._unset_buffers.items():
            buffer = module._buffers.get(name)
            if buffer is not None:
                init.constant_(buffer, unset)


def check_sequence_length(length: int, config) -> None:
    """Raise a ValueError when ``length`` positions (prompt + canvas) exceed ``config.max_position_embeddings``.

    RoPE has no hard limit, so a too-long history would otherwise run silently at positions the model never saw.
    """
    if length > config.max_position_embeddings:
        raise ValueError(
            f"The input has {length} positions (prompt + canvas) but the model allows max_position_embeddings="
            f"{config.max_position_embeddings}; keep fewer history items (the tokenizer's max_history) or build "
            "the model with a larger max_position_embeddings."
        )


def default_position_ids(attention_mask: torch.Tensor) -> torch.LongTensor:
    """Positions that ignore left padding: ``cumsum(mask) - 1``, clamped at 0. ``[batch, seq]``."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


class MindRecModel(MindRecPreTrainedModel):
    """The bidirectional LLaDA-style backbone: embeddings, ``num_hidden_layers`` blocks, final norm."""

    def __init__(self, config: MindRecConfig):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = nn.ModuleList(
            [MindRecDecoderLayer(config, layer_idx) for layer_idx in range(config.num_hidden_layers)]
        )
        self.norm = MindRecRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = MindRecRotaryEmbedding(config)
        self.embedding_dropout = nn.Dropout(config.hidden_dropout)
        self.item_embeddings = None
        if config.history_item_embeddings:
            self.item_embeddings = nn.Embedding(config.num_items, config.hidden_size)
            # Code key of every item, in item order (set by `set_item_codes`; saved with the weights).
            self.item_code_keys = nn.Buffer(torch.full((config.num_items,), -1, dtype=torch.long))
        if not config.item_feature_size:
            self.item_features = self.item_feature_proj = None
        else:
            # Fixed content vector of every item, in item order (set by `set_item_features`; saved with the
            # weights). NaN until set, so that a model without them fails loudly instead of reading zeros.
            self.item_features = nn.Buffer(torch.full((config.num_items, config.item_feature_size), float("nan")))
            self.item_feature_proj = nn.Linear(config.item_feature_size, config.hidden_size, bias=False)
        if not config.num_brands:
            self.brand_embeddings = self.item_brand_ids = None
        else:
            self.brand_embeddings = nn.Embedding(config.num_brands, config.hidden_size)
            # Every item's brand id (-1 = none), in item order: which row of `brand_embeddings` its vector adds.
            # Kept here as well as in the retrieval head's model (which reads it at decoding) so that the backbone
            # loaded alone embeds items as trained. Set by `set_item_brands`; UNSET_BRAND until then.
            self.item_brand_ids = nn.Buffer(torch.full((config.num_items,), UNSET_BRAND, dtype=torch.long))
        self.gradient_checkpointing = False
        self.post_init()

    def _code_keys(self, slot_values: torch.LongTensor) -> torch.LongTensor:
        """Mixed-radix key of codes ``[..., code_length]`` (slot values) -> ``[...]``; one-to-one with codes."""
        key = torch.zeros(slot_values.shape[:-1], dtype=torch.long, device=slot_values.device)
        for slot, size in enumerate(self.config.code_slot_sizes):
            key = key * size + slot_values[..., slot]
        return key

    @torch.no_grad()
    def set_item_codes(self, item_codes: torch.LongTensor) -> None:
        """Install the catalogue's codes ``[num_items, code_length]`` (slot values, row = item index)."""
        if self.item_embeddings is None:
            raise ValueError("`set_item_codes` is for models with `history_item_embeddings=True`.")
        item_codes = torch.as_tensor(item_codes, dtype=torch.long, device=self.item_code_keys.device)
        expected = (self.config.num_items, self.config.code_length)
        if tuple(item_codes.shape) != expected:
            raise ValueError(f"`item_codes` must be {list(expected)}, got {list(item_codes.shape)}.")
        keys = self._code_keys(item_codes)
        if keys.unique().numel() != keys.numel():
            raise ValueError("`item_codes` are not one-to-one with items: two items share a code.")
        self.item_code_keys.copy_(keys)

    @torch.no_grad()
    def set_item_features(self, item_features: torch.Tensor) -> None:
        """Install the catalogue's content vectors ``[num_items, item_feature_size]`` (row = item index)."""
        if self.item_features is None:
            raise ValueError("`set_item_features` is for models with `item_feature_size` > 0.")
        item_features = torch.as_tensor(item_features, dtype=self.item_features.dtype, device=self.item_features.device)
        expected = (self.config.num_items, self.config.item_feature_size)
        if tuple(item_features.shape) != expected:
            raise ValueError(f"`item_features` must be {list(expected)}, got {list(item_features.shape)}.")
        if not bool(torch.isfinite(item_features).all()):
            row = int((~torch.isfinite(item_features)).any(-1).nonzero()[0])
            raise ValueError(f"`item_features` is not finite at item index {row}.")
        self.item_features.copy_(item_features)

    @torch.no_grad()
    def set_item_brands(self, item_brand_ids: torch.Tensor) -> None:
        """Install every item's brand id ``[num_items]`` (row = item index; ids in ``[0, num_brands)``, -1 = no
        brand), which rows of ``brand_embeddings`` the items' vectors add (models with ``num_brands``)."""
        if self.item_brand_ids is None:
            raise ValueError("`set_item_brands` on the backbone is for models with `num_brands` > 0.")
        item_brand_ids = check_item_brand_ids(item_brand_ids, self.config.num_items)
        if item_brand_ids.numel() and int(item_brand_ids.max()) >= self.config.num_brands:
            raise ValueError(
                f"`item_brand_ids` holds brand id {int(item_brand_ids.max())}, but the model embeds "
                f"`num_brands`={self.config.num_brands} brands (ids 0..{self.config.num_brands - 1})."
            )
        self.item_brand_ids.copy_(item_brand_ids)

    def brand_vectors(self, item_indices: torch.LongTensor | None = None) -> torch.Tensor:
        """``[..., hidden]`` embedding of each item's brand (zeros for items without one; all items
        ``[num_items, hidden]`` when ``item_indices`` is None)."""
        if int(self.item_brand_ids[0]) == UNSET_BRAND:  # `set_item_brands` writes every row at once
            raise ValueError("This model embeds brands but the items' brands were never set: call `set_item_brands`.")
        brand_ids = self.item_brand_ids if item_indices is None else self.item_brand_ids[item_indices]
        vectors = self.brand_embeddings(brand_ids.clamp(min=0))
        return vectors * (brand_ids >= 0).unsqueeze(-1).to(vectors.dtype)

    def learned_item_vectors(self, item_indices: torch.LongTensor | None = None) -> torch.Tensor:
        """The item-specific part of item vectors ``[..., hidden]`` (all items ``[num_items, hidden]`` when
        ``item_indices`` is None): the learned item embedding, plus the projected content vector with
        ``item_feature_size``. In training, ``item_id_dropout`` zeroes each row with that probability. With
        ``num_brands``, plus the embedding of the item's brand (never dropped)."""
        vectors = self.item_embeddings.weight if item_indices is None else self.item_embeddings(item_indices)
        if self.item_features is not None:
            # `set_item_features` writes every row at once and refuses non-finite values, so one element tells
            # whether they were set; scanning the whole [num_items, size] buffer cost ~11 ms per call here.
            if bool(torch.isnan(self.item_features[0, 0])):
                raise ValueError(
                    "This model has item features but they were never set: call `set_item_features` first."
                )
            features = self.item_features if item_indices is None else self.item_features[item_indices]
            vectors = vectors + self.item_feature_proj(features.to(vectors.dtype))
        if self.training and self.config.item_id_dropout:
            # Not rescaled by 1 / (1 - p): a dropped item must look like an item never trained, not a louder one.
            keep = torch.rand(vectors.shape[:-1], device=vectors.device) >= self.config.item_id_dropout
            vectors = vectors * keep.unsqueeze(-1).to(vectors.dtype)
        if self.brand_embeddings is not None:
            # After the dropout: an item never trained still has its brand.
            vectors = vectors + self.brand_vectors(item_indices)
        return vectors

    def catalogue_item_vectors(self) -> torch.Tensor:
        """``[num_items, hidden]``: every catalogue item as the pooled history embeds it (the sum of its code
        tokens' embeddings plus :meth:`learned_item_vectors`); the retrieval head scores these."""
        if self.item_embeddings is None:
            raise ValueError("Catalogue item vectors need a model with `history_item_embeddings=True`.")
        if bool((self.item_code_keys < 0).any()):
            raise ValueError("Catalogue item vectors need the catalogue's codes: call `set_item_codes` first.")
        keys, values = self.item_code_keys, []
        for size in reversed(self.config.code_slot_sizes):  # undo the mixed-radix key, last slot first
            values.append(keys % size)
            keys = keys // size
        slot_values = torch.stack(values[::-1], dim=-1)  # [I, L]
        low, _ = self._code_token_ranges(slot_values.device)
        return self.embed_tokens(slot_values + low).sum(-2) + self.learned_item_vectors()

    def history_item_indices(self, history_code_ids: torch.LongTensor, valid_item: torch.BoolTensor) -> torch.LongTensor:
        """Item index of every valid history item ``[B, H]`` from its code tokens ``[B, H, L]`` (0 at padding)."""
        if bool((self.item_code_keys < 0).any()):
            raise ValueError("History item embeddings need the catalogue's codes: call `set_item_codes` first.")
        low, _ = self._code_token_ranges(history_code_ids.device)
        keys = self._code_keys((history_code_ids - low).clamp(min=0))
        sorted_keys, order = self.item_code_keys.sort()
        position = torch.searchsorted(sorted_keys, keys).clamp(max=sorted_keys.numel() - 1)
        found = sorted_keys[position] == keys
        if bool((valid_item & ~found).any()):
            raise ValueError("`history_code_ids` holds a code that is not in the model's catalogue.")
        return torch.where(valid_item, order[position], 0)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embed_tokens = value

    def embed_inputs(
        self, input_ids: torch.LongTensor, history_code_ids: torch.LongTensor | None = None
    ) -> torch.Tensor:
        """Token embeddings ``[batch, seq, hidden]``, with pooled history items filled in.

        With ``history_encoding="pooled"``, each ``[ITEM]`` placeholder in ``input_ids`` takes the sum
        of the code-token embeddings of the next history item in ``history_code_ids [batch, items,
        code_length]`` (rows made only of ``pad_token_id`` are padding and are skipped), plus the item's
        item's :meth:`learned_item_vectors` with ``history_item_embeddings``.
        """
        vocab = self.config.vocab_size
        if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab):
            bad = input_ids[(input_ids < 0) | (input_ids >= vocab)][:5].tolist()
            raise ValueError(f"`input_ids` holds ids outside the vocabulary [0, {vocab}): {bad}.")
        embeds = self.embed_tokens(input_ids)
        placeholder = self.config.item_placeholder_token_id
        if history_code_ids is None:
            if (
                placeholder is not None
                and self.config.history_encoding == "pooled"
                and bool((input_ids == placeholder).any())
            ):
                raise ValueError(
                    "`input_ids` holds [ITEM] placeholders but no `history_code_ids` were given."
                )
            return embeds
        if history_code_ids.dim() != 3 or history_code_ids.shape[0] != input_ids.shape[0]:
            raise ValueError(
                f"`history_code_ids` must be [batch={input_ids.shape[0]}, items, code_length], "
                f"got {tuple(history_code_ids.shape)}."
            )
        slots = self._code_token_ranges(history_code_ids.device)
        is_item = history_code_ids != self.config.pad_token_id  # [B, H, L]
        valid_item = is_item.any(-1)
        low, high = slots
        in_range = (history_code_ids >= low) & (history_code_ids < high)
        if bool((valid_item[..., None] & ~in_range).any()):
            raise ValueError("`history_code_ids` holds ids that are not the code tokens of their slots.")
        is_placeholder = input_ids == placeholder
        placeholders, items = is_placeholder.sum(1), valid_item.sum(1)
        if not torch.equal(placeholders, items):
            row = int((placeholders != items).nonzero()[0])
            raise ValueError(
                f"Row {row} has {int(placeholders[row])} [ITEM] placeholders but {int(items[row])} history items."
            )
        item_embeds = self.embed_tokens(history_code_ids).sum(-2)  # [B, H, d]; padding rows unused
        if self.item_embeddings is not None:
            item_embeds = item_embeds + self.learned_item_vectors(self.history_item_indices(history_code_ids, valid_item))
        return embeds.masked_scatter(is_placeholder[..., None], item_embeds[valid_item])

    def _code_token_ranges(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-slot ``[low, high)`` token-id bounds, each ``[code_length]``."""
        low = torch.tensor(self.config.code_slot_offsets, device=device)
        return low, low + torch.tensor(self.config.code_slot_sizes, device=device)

    def attention_mask_4d(
        self, attention_mask: torch.Tensor | None, query_length: int
    ) -> torch.Tensor | None:
        """Bool ``[batch, 1, q or 1, kv]`` mask (True = attend) from a 2-D padding mask ``[batch, kv]``.

        A 4-D mask is taken as given (cast to bool): it already holds every rule, causality included.
        Returns None when nothing is masked (lets SDPA take its fastest path).
        """
        if attention_mask is not None and attention_mask.dim() == 4:
            return attention_mask.bool()
        if self.config.is_causal:
            kv_length = attention_mask.shape[-1] if attention_mask is not None else query_length
            device = attention_mask.device if attention_mask is not None else self.embed_tokens.weight.device
            causal = torch.ones(query_length, kv_length, dtype=torch.bool, device=device).tril(
                kv_length - query_length
            )
            mask = causal[None, None]
            if attention_mask is not None:
                mask = mask & attention_mask.bool()[:, None, None, :]
            return mask
        if not self.config.prompt_attends_canvas:
            return self.prompt_isolation_mask(attention_mask, query_length)
        if attention_mask is None or bool(attention_mask.all()):
            return None
        return attention_mask.bool()[:, None, None, :]

    def prompt_isolation_mask(self, attention_mask: torch.Tensor | None, seq_length: int) -> torch.BoolTensor:
        """Bool ``[batch or 1, 1, seq, seq]``: prompt queries see the prompt only, canvas queries see all.

        The canvas is the last ``code_length`` positions (``prompt_attends_canvas=False``); padding keys
        (``attention_mask [batch, seq]`` zeros) are never attended.
        """
        device = attention_mask.device if attention_mask is not None else self.embed_tokens.weight.device
        positions = torch.arange(seq_length, device=device)
        is_canvas = positions >= seq_length - self.config.code_length
        layout = is_canvas[:, None] | ~is_canvas[None, :]  # [query, key]
        if self.config.causal_prompt:
            layout &= is_canvas[:, None] | (positions[None, :] <= positions[:, None])
        if attention_mask is None:
            return layout[None, None]
        return with_self_attention(layout[None, None] & attention_mask.bool()[:, None, None, :])

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        prompt_cache: "PromptKeyValueCache | None" = None,
        **kwargs,
    ) -> BaseModelOutput:
        """Run the backbone.

        Args:
            input_ids: ``[batch, seq]`` token ids (or pass ``inputs_embeds [batch, seq, hidden]``).
            attention_mask: ``[batch, kv_seq]`` 1 for tokens, 0 for padding; with a replaying
                ``prompt_cache`` it covers the cached prompt followed by the new tokens. Or a full bool
                mask ``[batch, 1, seq, kv_seq]`` (True = attend; needs ``position_ids``).
            position_ids: ``[batch, seq]``; default ``cumsum(attention_mask) - 1`` (padding-invariant).
            history_code_ids: ``[batch, items, code_length]`` for the pooled history encoding.
            prompt_cache: see :class:`PromptKeyValueCache` (decoding only).
        Returns:
            ``BaseModelOutput(last_hidden_state [batch, seq, hidden])``.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of `input_ids` or `inputs_embeds`.")
        if inputs_embeds is None:
            inputs_embeds = self.embed_inputs(input_ids, history_code_ids)
        batch, seq = inputs_embeds.shape[:2]
        if attention_mask is not None and attention_mask.shape[0] != batch:
            raise ValueError(f"`attention_mask` batch {attention_mask.shape[0]} != input batch {batch}.")
        if attention_mask is not None and attention_mask.dim() not in (2, 4):
            raise ValueError(
                f"`attention_mask` must be [batch, kv_seq] or [batch, 1, seq, kv_seq], got {tuple(attention_mask.shape)}."
            )
        if position_ids is None:
            if attention_mask is not None and attention_mask.dim() == 4:
                raise ValueError("A 4-D `attention_mask` needs explicit `position_ids`.")
            if attention_mask is None:
                position_ids = torch.arange(seq, device=inputs_embeds.device).expand(batch, seq)
            else:
                position_ids = default_position_ids(attention_mask)[:, -seq:]
        mask = self.attention_mask_4d(attention_mask, seq)
        position_embeddings = self.rotary_emb(inputs_embeds, position_ids)
        hidden_states = self.embedding_dropout(inputs_embeds)
        for layer in self.layers:
            hidden_states = layer(
                hidden_states,
                position_embeddings=position_embeddings,
                attention_mask=mask,
                prompt_cache=prompt_cache,
                **kwargs,
            )
        return BaseModelOutput(last_hidden_state=self.norm(hidden_states))


def log_one_plus_counts(counts: torch.Tensor, num_items: int, name: str) -> torch.FloatTensor:
    """``log(1 + counts)`` ``[num_items]`` (fp32) of per-item interaction counts, after checking them: one per item,
    finite and >= 0 (``name`` is the caller's argument, for the errors). The popularity buffers of MindRec's retrieval
    head and of SASRec's prior are built by it."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if tuple(counts.shape) != (num_items,):
        raise ValueError(f"`{name}` must be [{num_items}] (one per item), got {list(counts.shape)}.")
    bad = ~torch.isfinite(counts) | (counts < 0)
    if bool(bad.any()):
        item = int(bad.nonzero()[0])
        raise ValueError(f"`{name}` must be finite and >= 0; item {item} has {counts[item].item()}.")
    return torch.log1p(counts).float()


def with_self_attention(mask: torch.BoolTensor) -> torch.BoolTensor:
    """``mask [..., q, q]`` with every query also attending to itself: a left-padding query of a causal
    prompt would otherwise attend to nothing (an all-False row makes SDPA return NaN); its output is unused."""
    return mask | torch.eye(mask.shape[-1], dtype=torch.bool, device=mask.device)


def packed_views_mask(
    prompt_mask: torch.BoolTensor, num_views: int, code_length: int, causal_prompt: bool = False
) -> torch.BoolTensor:
    """Bool attention mask ``[B, 1, P + V*L, P + V*L]`` of a row packed as ``prompt | canvas_1 .. canvas_V``.

    Prompt queries attend to the prompt's tokens (``prompt_mask [B, P]``, 1 = token; with
    ``causal_prompt`` only to earlier ones and themselves); the queries of canvas ``v`` attend to the
    prompt's tokens and to canvas ``v``'s own ``code_length`` slots.
    """
    batch, prompt_length = prompt_mask.shape
    device = prompt_mask.device
    block = torch.arange(prompt_length + num_views * code_length, device=device)
    # Block id of every packed position: -1 = prompt, v = canvas v.
    view = torch.where(block < prompt_length, -1, (block - prompt_length) // code_length)
    is_prompt_key = view[None, :] < 0
    if causal_prompt:
        is_prompt_key = is_prompt_key & ((view[:, None] >= 0) | (block[None, :] <= block[:, None]))
    layout = is_prompt_key | ((view[:, None] == view[None, :]) & (view[:, None] >= 0))  # [q, k]
    keys = torch.cat([prompt_mask.bool(), prompt_mask.new_ones(batch, num_views * code_length, dtype=torch.bool)], 1)
    return with_self_attention(layout[None, None] & keys[:, None, None, :])


@dataclass
class MindRecOutput(ModelOutput):
    """Output of :class:`MindRecForRecommendation`.

    Attributes:
        loss: scalar training loss when ``labels`` were given: the masked-diffusion loss, plus
            ``retrieval_loss_weight * retrieval_loss`` with an item retrieval head (plus
            ``history_retrieval_loss_weight * history_retrieval_loss``).
        logits: ``[batch, seq or logits_to_keep, vocab]`` LM-head logits (None when a loss was computed,
            to save the full-vocabulary projection of every position).
        canvas_log_probs: ``[batch, code_length, max_slot_size]`` fp32 log-probabilities over each
            canvas slot's own values (``-inf`` past a slot's size); ``[batch, views, ...]`` for packed views.
        noise_mask: ``[batch, code_length]`` (or ``[batch, views, code_length]``) bool, the canvas slots
            that were masked for the loss.
        retrieval_loss: scalar full-softmax cross-entropy of the retrieval head on the target items
            (models with ``item_retrieval_head``).
        item_logits: ``[batch, num_items]`` fp32 retrieval-head logits of the fully masked canvas.
        history_retrieval_loss: scalar next-item cross-entropy of the retrieval head at every history item
            (models with ``history_retrieval_loss_weight > 0``).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    canvas_log_probs: torch.FloatTensor | None = None
    noise_mask: torch.BoolTensor | None = None
    retrieval_loss: torch.FloatTensor | None = None
    item_logits: torch.FloatTensor | None = None
    history_retrieval_loss: torch.FloatTensor | None = None


class MindRecForRecommendation(MindRecGenerationMixin, MindRecPreTrainedModel):
    """Backbone + untied LM head, trained to fill the masked item code at the end of the sequence.

    The canvas (the target item's ``code_length`` slots) is always the last ``code_length`` positions
    (inputs are left-padded). Loss (DESIGN §4): the canvas tokens are masked with probability
    ``p = eps + (1 - eps) t`` (at least one per row); the loss is the mean over rows of
    ``sum_{masked slots} CE / (p * code_length)``, the cross-entropy taken over each slot's own values.
    With ``item_retrieval_head``, a dense head (``retrieval_proj``) also scores every catalogue item from the
    fully masked canvas (:meth:`item_retrieval_logits`), trained with a full-softmax cross-entropy.
    """

    _tied_weights_keys: dict[str, str] = {}

    def __init__(self, config: MindRecConfig):
        super().__init__(config)
        self.model = MindRecModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.retrieval_proj = None
        if not config.item_retrieval_head:
            self.item_log_counts = self.item_recent_log_counts = self.item_transition_offsets = None
            self.item_brand_ids = None
        else:
            self.retrieval_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
            # log(1 + training interaction count) of every item, in item order: what the decoding option
            # `popularity_adjustment` subtracts from the head's logits. Set by `set_item_counts` and saved with
            # the weights; NaN until then.
            self.item_log_counts = nn.Buffer(torch.full((config.num_items,), float("nan")))
            # log(1 + how often the item is a user's newest training interaction): what `recency_adjustment` adds.
            self.item_recent_log_counts = nn.Buffer(torch.full((config.num_items,), float("nan")))
            # How often each item followed each other in the training sequences, what `transition_adjustment`
            # reads, as a compressed sparse row table: the next items of item i are
            # item_transition_items[offsets[i] : offsets[i + 1]], their log(1 + count) alongside. Set by
            # `set_item_transitions` (offsets -1 until then); config.num_item_transitions sizes it for loading.
            self.item_transition_offsets = nn.Buffer(torch.full((config.num_items + 1,), -1, dtype=torch.long))
            self.item_transition_items = nn.Buffer(torch.zeros(config.num_item_transitions, dtype=torch.long))
            self.item_transition_log_counts = nn.Buffer(torch.zeros(config.num_item_transitions))
            # Every item's brand id (-1 = none), what `brand_adjustment` reads: item metadata, saved with the weights
            # so that remote code needs no catalogue file. Set by `set_item_brands`; UNSET_BRAND until then.
            self.item_brand_ids = nn.Buffer(torch.full((config.num_items,), UNSET_BRAND, dtype=torch.long))
        self.noise_schedule = MaskedDiffusionSchedule(mask_token_id=config.mask_token_id, eps=config.mask_eps)
        self.post_init()

    @torch.no_grad()
    def set_item_counts(self, item_counts: torch.Tensor, recent_counts: torch.Tensor | None = None) -> None:
        """Install every item's training interaction count ``[num_items]`` (row = item index), which
        ``popularity_adjustment`` at decoding discounts the retrieval head by, and optionally how often each item
        is a user's newest training interaction ``recent_counts [num_items]``, which ``recency_adjustment``
        credits it with (models with the head)."""
        if self.item_log_counts is None:
            raise ValueError("`set_item_counts` is for models with an item retrieval head (`item_retrieval_head`).")
        num_items = self.config.num_items
        self.item_log_counts.copy_(log_one_plus_counts(item_counts, num_items, "item_counts"))
        if recent_counts is not None:
            self.item_recent_log_counts.copy_(log_one_plus_counts(recent_counts, num_items, "recent_counts"))

    @torch.no_grad()
    def set_item_transitions(self, transition_counts: torch.Tensor) -> None:
        """Install how often each item directly followed each other in the training sequences,
        ``transition_counts [num_items, num_items]`` (dense or sparse; row = previous item, column = next item;
        e.g. :func:`mindrec.baselines.transition_counts`), which ``transition_adjustment`` at decoding credits the
        retrieval head's logits with. Sets ``config.num_item_transitions`` (models with the head)."""
        if self.retrieval_proj is None:
            raise ValueError("`set_item_transitions` is for models with an item retrieval head (`item_retrieval_head`).")
        install_transition_table(self, transition_counts)

    @torch.no_grad()
    def set_item_brands(self, item_brand_ids: torch.Tensor) -> None:
        """Install every item's brand id ``[num_items]`` (row = item index; ids >= 0, -1 = no brand; e.g.
        :func:`mindrec.data.item_brand_ids`), which ``brand_adjustment`` at decoding reads (models with the head)
        and the brand embeddings add (models with ``num_brands``)."""
        if self.item_brand_ids is None and self.model.item_brand_ids is None:
            raise ValueError(
                "`set_item_brands` is for models with an item retrieval head (`item_retrieval_head`) or brand "
                "embeddings (`num_brands` > 0)."
            )
        if self.model.item_brand_ids is not None:
            self.model.set_item_brands(item_brand_ids)
        if self.item_brand_ids is not None:
            self.item_brand_ids.copy_(check_item_brand_ids(item_brand_ids, self.config.num_items))

    def brand_credit(self, history_items: torch.LongTensor) -> torch.FloatTensor:
        """``[N, num_items]`` fp32 ``1 / log(2 + size of the item's brand)`` for the items whose brand is among the
        brands of ``history_items [N, H]`` (-1 = padding), 0 elsewhere (see :func:`~.item_brands.brand_credit`)."""
        if self.item_brand_ids is None:
            raise ValueError("`brand_adjustment` reads the items' brands, which only a model with a retrieval head keeps.")
        return brand_credit(self.item_brand_ids, history_items)

    def transition_log_counts(
        self, history_items: torch.LongTensor, weights: torch.Tensor, conditioning: float = 0.0
    ) -> torch.FloatTensor:
        """``[N, num_items]`` fp32 ``sum_h weights[n, h] * log(1 + how often each item directly followed
        history_items[n, h] in the training sequences)`` over ``history_items [N, H]`` (-1 = padding); with
        ``conditioning`` p > 0 each count is scaled by ``(mean successor count / history_items[n, h]'s) ** p``
        first (see :func:`~.item_transitions.successor_scales`)."""
        return transition_rows(self, history_items, weights, conditioning)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.model.embed_tokens = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head = new_embeddings

    # ----------------------------------------------------------------------------------------------
    # Canvas helpers
    def slot_token_index(self, device: torch.device) -> tuple[torch.LongTensor, torch.BoolTensor]:
        """Token ids of every slot's values, padded: ``index [L, Vmax]`` and ``valid [L, Vmax]``."""
        sizes = torch.tensor(self.config.code_slot_sizes, device=device)
        values = torch.arange(int(sizes.max()), device=device)
        offsets = torch.tensor(self.config.code_slot_offsets, device=device)
        valid = values[None, :] < sizes[:, None]
        index = torch.where(valid, offsets[:, None] + values[None, :], offsets[:, None])
        return index, valid

    def canvas_log_probs(self, canvas_hidden: torch.Tensor, temperature: float = 1.0) -> torch.FloatTensor:
        """Per-slot log-probabilities from canvas hidden states.

        Args:
            canvas_hidden: ``[..., code_length, hidden]`` final hidden states at the canvas positions
                (``[N, L, hidden]``; packed training views ``[B, V, L, hidden]``).
            temperature: logits are divided by it before the per-slot softmax.
        Returns:
            ``[..., code_length, max_slot_size]`` fp32 log-softmax over each slot's own token slice,
            ``-inf`` where ``v >= code_slot_sizes[s]``.
        """
        index, valid = self.slot_token_index(canvas_hidden.device)
        if type(self.lm_head) is nn.Linear and self.lm_head.bias is None:
            # Each slot only needs its own rows of the head: [L, Vmax, d] instead of all vocab_size rows
            # (about code_length x less head work, in training and at every decoding step).
            slot_weight = self.lm_head.weight[index].to(canvas_hidden.dtype)  # [L, Vmax, d]
            logits = torch.einsum("...ld,lvd->...lv", canvas_hidden, slot_weight).float()
        else:
            # A wrapped head (PEFT) is run whole on the few canvas positions; the columns of other slots
            # and of text tokens are then dropped.
            logits = self.lm_head(canvas_hidden).float()  # [..., L, V]
            logits = logits.gather(-1, index.expand(*logits.shape[:-1], -1))
        slot_logits = (logits / temperature).masked_fill(~valid, float("-inf"))
        return torch.log_softmax(slot_logits, dim=-1)

    def item_retrieval_logits(
        self,
        canvas_hidden: torch.Tensor,
        item_vectors: torch.Tensor | None = None,
        history_items: torch.LongTensor | None = None,
        next_items: torch.LongTensor | None = None,
    ) -> torch.FloatTensor:
        """Retrieval-head logits of every catalogue item.

        Args:
            canvas_hidden: ``[N, code_length, hidden]`` final hidden states of fully masked canvases.
            item_vectors: :meth:`MindRecModel.catalogue_item_vectors` ``[num_items, hidden]`` when the caller
                already has them (computed here otherwise).
            history_items: ``[N, H]`` the users' history items (:meth:`history_items`), which models with
                ``retrieval_transition_prior`` need.
            next_items: ``[N]`` in training, the rows' target items (see :meth:`retrieval_transition_bias`).
        Returns:
            ``[N, num_items]`` fp32 dot products of the projected mean canvas state with the item vectors (plus the
            fixed priors the config sets).
        """
        return self._retrieval_logits(canvas_hidden.mean(dim=-2), item_vectors, history_items, next_items)

    def history_items(self, history_code_ids: torch.LongTensor) -> torch.LongTensor:
        """Catalogue index ``[B, H]`` of every history item in ``history_code_ids [B, H, code_length]``, -1 at
        padding."""
        valid = (history_code_ids != self.config.pad_token_id).any(-1)  # [B, H]
        return torch.where(valid, self.model.history_item_indices(history_code_ids, valid), -1)

    def retrieval_transition_bias(
        self, history_items: torch.LongTensor, next_items: torch.LongTensor | None = None
    ) -> torch.FloatTensor:
        """The head's transition prior ``[N, num_items]`` (fp32): ``retrieval_transition_prior`` x the decayed sum of
        log(1 + count) of each item after the history items ``history_items [N, H]`` (newest last, -1 = none); with
        the training rows' targets ``next_items [N]``, each row's own pair counted one less
        (:func:`leave_one_out_transition_rows`)."""
        config = self.config
        rows = leave_one_out_transition_rows(self, history_items, config.retrieval_transition_decay, next_items)
        return config.retrieval_transition_prior * rows

    def _retrieval_logits(
        self,
        states: torch.Tensor,
        item_vectors: torch.Tensor | None = None,
        history_items: torch.LongTensor | None = None,
        next_items: torch.LongTensor | None = None,
    ) -> torch.FloatTensor:
        """``[N, num_items]`` fp32 logits of the head's query ``retrieval_proj(states [N, hidden])`` against the
        item vectors, plus ``retrieval_popularity_prior`` x log(1 + training count) and the transition prior of
        ``history_items [N, H]`` (:meth:`retrieval_transition_bias`) when those are set."""
        if self.retrieval_proj is None:
            raise ValueError("This model has no retrieval head: build it with `item_retrieval_head=True`.")
        if item_vectors is None:
            item_vectors = self.model.catalogue_item_vectors()
        query = self.retrieval_proj(states)  # [N, d]
        logits = (query @ item_vectors.to(query.dtype).T).float()
        prior = self.config.retrieval_popularity_prior
        if prior:
            # A fixed bias, in the loss and at decoding alike: the popularity the learned part need not encode.
            if bool(torch.isnan(self.item_log_counts[0])):
                raise ValueError(
                    "`retrieval_popularity_prior` > 0 needs the items' training counts: call `set_item_counts` first."
                )
            logits = logits + prior * self.item_log_counts
        if self.config.retrieval_transition_prior:
            # A fixed bias too: what followed the user's last items elsewhere, which the learned part need not relearn.
            if history_items is None:
                raise ValueError(
                    "`retrieval_transition_prior` > 0 biases the head by the users' history items: pass `history_items`."
                )
            logits = logits + self.retrieval_transition_bias(history_items, next_items)
        return logits

    def build_canvas_scorer(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        history_cache: str = "exact",
        popularity_adjustment: float = 0.0,
        recency_adjustment: float = 0.0,
        transition_adjustment: float = 0.0,
        transition_decay: float = 0.0,
        transition_conditioning: float = 0.0,
        brand_adjustment: float = 0.0,
    ) -> MindRecCanvasScorer:
        """The scorer the decoders call once per step (see :class:`MindRecCanvasScorer`); its retrieval-head
        logits are discounted by ``popularity_adjustment`` x log(1 + training count) and credited with
        ``recency_adjustment`` x log(1 + count as a user's newest training interaction) and with
        ``transition_adjustment`` x log(1 + how often the item followed the user's last history item), plus
        ``transition_decay`` ** k times the same for the history item k places before it (each count scaled by
        ``(mean successor count / the history item's) ** transition_conditioning``), and with ``brand_adjustment``
        x :meth:`brand_credit`."""
        check_sequence_length(input_ids.shape[1], self.config)
        return MindRecCanvasScorer(
            self,
            input_ids,
            attention_mask,
            history_code_ids,
            history_cache=history_cache,
            popularity_adjustment=popularity_adjustment,
            recency_adjustment=recency_adjustment,
            transition_adjustment=transition_adjustment,
            transition_decay=transition_decay,
            transition_conditioning=transition_conditioning,
            brand_adjustment=brand_adjustment,
        )

    def _canvas_targets(self, labels: torch.LongTensor, input_ids: torch.LongTensor) -> torch.LongTensor:
        """Validate ``labels [batch, seq]`` and return the canvas slot values ``[batch, code_length]``."""
        if labels.shape != input_ids.shape:
            raise ValueError(
                f"`labels` shape {tuple(labels.shape)} != `input_ids` shape {tuple(input_ids.shape)}."
            )
        length = self.config.code_length
        if labels.shape[1] < length:
            raise ValueError(f"Sequences of length {labels.shape[1]} cannot hold a canvas of {length} slots.")
        if bool((labels[:, :-length] != IGNORE_INDEX).any()):
            raise ValueError(
                f"`labels` must be {IGNORE_INDEX} everywhere but the canvas (the last {length} positions): "
                "only response item tokens are maskable."
            )
        canvas_labels = labels[:, -length:]
        low, high = self.model._code_token_ranges(labels.device)
        bad = (canvas_labels < low) | (canvas_labels >= high)
        if bool(bad.any()):
            row, slot = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`labels` row {row} slot {slot} holds token {int(canvas_labels[row, slot])}, outside that slot's "
                f"code tokens [{int(low[slot])}, {int(high[slot])})."
            )
        return canvas_labels - low

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        noise_mask: torch.BoolTensor | None = None,
        loss_weights: torch.FloatTensor | None = None,
        generator: torch.Generator | None = None,
        logits_to_keep: int = 0,
        **kwargs,
    ) -> MindRecOutput:
        """Logits, or the conditional masked-diffusion loss when ``labels`` are given.

        Args:
            input_ids: ``[batch, seq]``, left-padded, canvas last (its content is ignored with labels).
            attention_mask: ``[batch, seq]``.
            history_code_ids: ``[batch, items, code_length]`` (pooled history encoding).
            labels: ``[batch, seq]``, ``-100`` except the canvas, which holds the target code tokens.
            noise_mask: ``[batch, code_length]`` bool, canvas slots to mask instead of sampling them
                (OCN views); rows then weigh ``loss_weights`` (default 1) instead of ``1 / p``. Or
                ``[batch, views, code_length]``: several views of each row, run packed in one pass
                (needs ``prompt_attends_canvas=False``). Without it, the config's ``num_random_views``
                and ``num_path_views`` say which views are drawn.
            loss_weights: ``[batch]`` (or ``[batch, views]``) loss weights (override ``1 / p``). The loss is
                the mean over rows and views of ``weight * sum_{masked} CE / code_length``.
            generator: ``torch.Generator`` for the noise draws.
            logits_to_keep: without labels, keep logits of the last ``logits_to_keep`` positions (0 = all).
        """
        if position_ids is None and (attention_mask is None or attention_mask.dim() == 2):
            # Default positions run 0 .. seq-1 on the longest row (explicit ones, e.g. a packed prompt cache,
            # are the caller's business).
            check_sequence_length((input_ids if input_ids is not None else inputs_embeds).shape[1], self.config)
        if labels is None:
            if noise_mask is not None or loss_weights is not None:
                raise ValueError("`noise_mask` and `loss_weights` only apply with `labels`.")
            hidden = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                inputs_embeds=inputs_embeds,
                history_code_ids=history_code_ids,
                **kwargs,
            ).last_hidden_state
            kept = hidden[:, -logits_to_keep:] if logits_to_keep else hidden
            return MindRecOutput(logits=self.lm_head(kept))

        if input_ids is None:
            raise ValueError("The training loss needs `input_ids` (the canvas is rebuilt from `labels`).")
        length = self.config.code_length
        targets = self._canvas_targets(labels, input_ids)  # [B, L] slot values
        target_tokens = labels[:, -length:]
        batch = targets.shape[0]
        config = self.config
        if noise_mask is None:
            if config.num_random_views == 1 and not config.num_path_views:
                noise = self.noise_schedule.add_noise(
                    target_tokens, maskable=torch.ones_like(target_tokens, dtype=torch.bool), generator=generator
                )
                noise_mask, weights = noise.noise_mask, 1.0 / noise.mask_prob
                loss_mask = noise_mask
            else:
                views = self.noise_schedule.sample_views(
                    batch,
                    length,
                    config.num_category_levels,
                    config.num_random_views,
                    config.num_path_views,
                    config.path_loss,
                    device=targets.device,
                    generator=generator,
                )
                noise_mask, weights, loss_mask = views.noise_mask, views.weights, views.loss_mask
        else:
            if noise_mask.shape[0] != batch or noise_mask.shape[-1] != length or noise_mask.dim() not in (2, 3):
                raise ValueError(
                    f"`noise_mask` must be [batch={batch}, {length}] or [batch={batch}, views, {length}], "
                    f"got {tuple(noise_mask.shape)}."
                )
            if not bool(noise_mask.any(dim=-1).all()):
                raise ValueError("Every row (and view) of `noise_mask` must mask at least one slot.")
            weights = torch.ones(noise_mask.shape[:-1], device=targets.device)
            loss_mask = noise_mask
        if loss_weights is not None:
            weights = loss_weights
        if weights.shape != noise_mask.shape[:-1]:
            raise ValueError(
                f"`loss_weights` must be {list(noise_mask.shape[:-1])} (one per row and view), got {list(weights.shape)}."
            )
        item_logits = None
        if config.item_retrieval_head:
            # The retrieval head reads the fully masked canvas: one more view packed after the noise views,
            # with no masked-diffusion loss of its own.
            views = noise_mask if noise_mask.dim() == 3 else noise_mask[:, None]
            all_masked = torch.ones_like(views[:, :1])
            prompt_hidden, hidden = self._packed_views_hidden(
                input_ids,
                target_tokens,
                torch.cat([views, all_masked], dim=1),
                attention_mask,
                position_ids,
                history_code_ids,
                **kwargs,
            )  # [B, P, d], [B, V + 1, L, d]
            # Item vectors once per step: both retrieval losses score against them.
            item_vectors = self.model.catalogue_item_vectors()  # [I, d]
            valid = torch.ones(batch, 1, dtype=torch.bool, device=targets.device)
            target_items = self.model.history_item_indices(target_tokens[:, None], valid)[:, 0]  # [B]
            history_items = None
            if config.retrieval_transition_prior:
                if history_code_ids is None:
                    raise ValueError("`retrieval_transition_prior` > 0 needs the rows' `history_code_ids`.")
                history_items = self.history_items(history_code_ids)  # [B, H]
            item_logits = self.item_retrieval_logits(hidden[:, -1], item_vectors, history_items, target_items)
            hidden = hidden[:, :-1] if noise_mask.dim() == 3 else hidden[:, 0]
        elif noise_mask.dim() == 3:
            _, hidden = self._packed_views_hidden(
                input_ids, target_tokens, noise_mask, attention_mask, position_ids, history_code_ids, **kwargs
            )  # [B, V, L, d]
        else:
            noisy_canvas = target_tokens.masked_fill(noise_mask, self.config.mask_token_id)
            noisy_input_ids = torch.cat([input_ids[:, :-length], noisy_canvas], dim=1)
            hidden = self.model(
                input_ids=noisy_input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                history_code_ids=history_code_ids,
                **kwargs,
            ).last_hidden_state[:, -length:]
        log_probs = self.canvas_log_probs(hidden)  # [B, (V,) L, Vmax]
        slot_targets = targets if noise_mask.dim() == 2 else targets[:, None].expand_as(noise_mask)
        nll = -log_probs.gather(-1, slot_targets[..., None]).squeeze(-1)  # [B, (V,) L]
        per_view = (nll * loss_mask).sum(-1) / length
        loss = (per_view * weights.to(per_view.dtype)).mean()
        retrieval_loss = history_retrieval_loss = None
        if item_logits is not None:
            retrieval_loss = nn.functional.cross_entropy(
                item_logits, target_items, label_smoothing=config.retrieval_label_smoothing
            )
            loss = loss + config.retrieval_loss_weight * retrieval_loss
            if config.history_retrieval_loss_weight > 0:
                history_retrieval_loss = self.history_retrieval_loss(
                    input_ids[:, : prompt_hidden.shape[1]], prompt_hidden, history_code_ids, target_items, item_vectors
                )
                loss = loss + config.history_retrieval_loss_weight * history_retrieval_loss
        return MindRecOutput(
            loss=loss,
            canvas_log_probs=log_probs,
            noise_mask=noise_mask,
            retrieval_loss=retrieval_loss,
            item_logits=item_logits,
            history_retrieval_loss=history_retrieval_loss,
        )

    def history_retrieval_loss(
        self,
        prompt_ids: torch.LongTensor,
        prompt_hidden: torch.Tensor,
        history_code_ids: torch.LongTensor,
        target_items: torch.LongTensor,
        item_vectors: torch.Tensor | None = None,
    ) -> torch.FloatTensor:
        """Mean next-item cross-entropy of the retrieval head at every history item of a causal prompt.

        Args:
            prompt_ids: ``[B, P]`` prompt token ids; history item ``j`` of a row is its ``j``-th ``[ITEM]``.
            prompt_hidden: ``[B, P, hidden]`` final prompt states (each has seen the history up to itself).
            history_code_ids: ``[B, H, code_length]`` the history items' codes, padding rows all pad tokens.
            target_items: ``[B]`` the rows' target items: what the last history item is scored on.
            item_vectors: the catalogue's item vectors ``[num_items, hidden]`` if the caller has them.
        Returns:
            Scalar: the head's full-softmax cross-entropy of item ``j + 1`` given the state at item ``j``,
            averaged over every history item of the batch (``history_retrieval_reduction="item"``) or within
            each row and then over the rows (``"row"``). With ``history_retrieval_window`` ``w`` > 0 only each
            row's last ``w`` history items are scored.
        """
        valid_item = (history_code_ids != self.config.pad_token_id).any(-1)  # [B, H]
        if not bool(valid_item.any()):
            raise ValueError("`history_retrieval_loss_weight` > 0 needs rows with history items; the batch has none.")
        history_items = torch.where(valid_item, self.model.history_item_indices(history_code_ids, valid_item), -1)
        items = history_items[valid_item]  # [N], row-major
        rows, columns = valid_item.nonzero().unbind(-1)  # [N] each
        is_last = torch.ones_like(rows, dtype=torch.bool)
        is_last[:-1] = rows[1:] != rows[:-1]
        next_items = torch.where(is_last, target_items[rows], items.roll(-1))  # [N]
        states = prompt_hidden[prompt_ids == self.config.item_placeholder_token_id]  # [N, d], row-major too
        row_sizes = valid_item.sum(-1)  # [B]
        window = self.config.history_retrieval_window
        if window:
            from_end = (row_sizes[:, None] - valid_item.long().cumsum(-1))[valid_item]  # [N]: 0 = the row's newest
            scored = from_end < window
            rows, columns, next_items, states = rows[scored], columns[scored], next_items[scored], states[scored]
            row_sizes = row_sizes.clamp(max=window)
        prefixes = None
        if self.config.retrieval_transition_prior:
            # Each state's own history: its row's items up to itself (the prompt is causal).
            later = torch.arange(valid_item.shape[1], device=rows.device) > columns[:, None]  # [N, H]
            prefixes = history_items[rows].masked_fill(later, -1)
        losses = nn.functional.cross_entropy(
            self._retrieval_logits(states, item_vectors, prefixes, next_items),
            next_items,
            label_smoothing=self.config.retrieval_label_smoothing,
            reduction="none",
        )  # [N]
        if self.config.history_retrieval_reduction == "item":
            return losses.mean()
        # Mean within each row, then over the rows that have history items: item weights 1 / (its row's scored items).
        return (losses / row_sizes[rows]).sum() / (row_sizes > 0).sum()

    def _packed_views_hidden(
        self,
        input_ids: torch.LongTensor,
        target_tokens: torch.LongTensor,
        noise_mask: torch.BoolTensor,
        attention_mask: torch.Tensor | None,
        position_ids: torch.LongTensor | None,
        history_code_ids: torch.LongTensor | None,
        **kwargs,
    ) -> torch.Tensor:
        """Final hidden states of the prompt ``[B, P, hidden]`` and of every view's canvas ``[B, V, L, hidden]``,
        from ONE backbone pass.

        The row becomes ``prompt | view 1 canvas | ... | view V canvas``: the prompt attends to itself
        only, each canvas to the prompt and to its own slots, and every canvas takes the positions the
        canvas has in the unpacked row. With ``prompt_attends_canvas=False`` each view's states then
        equal those of a separate forward of ``prompt + that canvas`` (tested), at the cost of one
        prompt encoding for all views.
        """
        if self.config.prompt_attends_canvas or self.config.is_causal:
            raise ValueError(
                "Several noise views per row (`noise_mask [batch, views, code_length]`) need "
                "`prompt_attends_canvas=False` on a bidirectional model."
            )
        batch, views, length = noise_mask.shape
        prompt_ids = input_ids[:, :-length]
        prompt_length = prompt_ids.shape[1]
        pad = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        if pad.dim() != 2:
            raise ValueError("Packed noise views take a 2-D `attention_mask` [batch, seq].")
        prompt_pad = pad[:, :prompt_length].bool()
        noisy = target_tokens[:, None].masked_fill(noise_mask, self.config.mask_token_id)  # [B, V, L]
        packed_ids = torch.cat([prompt_ids, noisy.reshape(batch, views * length)], dim=1)
        if position_ids is None:
            position_ids = default_position_ids(pad)
        packed_positions = torch.cat(
            [position_ids[:, :prompt_length], position_ids[:, -length:].repeat(1, views)], dim=1
        )
        hidden = self.model(
            input_ids=packed_ids,
            attention_mask=packed_views_mask(prompt_pad, views, length, self.config.causal_prompt),
            position_ids=packed_positions,
            history_code_ids=history_code_ids,
            **kwargs,
        ).last_hidden_state
        return hidden[:, :prompt_length], hidden[:, prompt_length:].reshape(batch, views, length, -1)


__all__ = [
    "log_one_plus_counts",
    "MindRecForRecommendation",
    "MindRecModel",
    "MindRecOutput",
    "MindRecPreTrainedModel",
]
