"""SASRec (Kang & McAuley, 2018): a causal self-attention next-item model, as a transformers model.

The strong variant (DESIGN.md §8): trained by default with a softmax cross-entropy over the whole
catalogue rather than the paper's binary cross-entropy with one sampled negative (kept as
``loss_type="bce"``), which the design notes found near zero after a few epochs.

Architecture, as in the paper:

* input ``e_i * sqrt(d) + p_pos`` (item embedding scaled as in the reference code, plus a learned
  position embedding), dropout, padding positions zeroed;
* ``num_hidden_layers`` blocks ``x + Dropout(Attn(LN(x)))``, ``x + Dropout(FFN(LN(x)))`` (pre-LN,
  the paper's eq. for residual connections; the reference TF code normalises only the queries),
  causal attention, ReLU FFN;
* a final LayerNorm; the score of item ``j`` is ``<h_last, e_j>`` with the **shared** item embedding.

Input layout: histories are **left-padded** with the padding item ``num_items`` (the embedding table
has ``num_items + 1`` rows), so the last position always holds the most recent item. Position ids
count back from the most recent item (0 = most recent), which for a left-padded window of width
``max_history`` is the reference code's right-aligned absolute position, and does not depend on how
much padding a batch carries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from huggingface_hub.dataclasses import strict
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

from ..evaluation.ranking import history_mask, top_k_items
from ..modeling.item_brands import UNSET_BRAND, brand_credit, check_item_brand_ids
from ..modeling.item_transitions import (
    install_transition_table,
    leave_one_out_transition_rows,
    recency_weights,
    transition_rows,
)
from ..modeling.modeling_mindrec import log_one_plus_counts

LOSS_TYPES = ("ce", "bce")


@strict
class SASRecConfig(PreTrainedConfig):
    r"""Configuration of :class:`SASRecModel`.

    Args:
        num_items: catalogue size; item indices are ``0 .. num_items-1`` and ``num_items`` is padding.
            ``None`` only for an unfinished config (``train_sasrec`` fills it in); a model needs it.
        hidden_size: embedding and hidden width ``d`` (DESIGN.md §8: 100).
        num_hidden_layers: self-attention blocks.
        num_attention_heads: heads per block; must divide ``hidden_size``.
        intermediate_size: FFN inner width; ``None`` means ``hidden_size`` as in the paper.
        max_history: longest history read (older items are dropped); size of the position table.
        hidden_dropout_prob: dropout on embeddings and on each sub-layer's output.
        attention_dropout_prob: dropout on attention weights.
        layer_norm_eps: LayerNorm epsilon (reference code: 1e-8).
        initializer_range: std of the normal init of embeddings and linear weights.
        loss_type: ``"ce"`` (softmax cross-entropy over all items) or ``"bce"`` (paper: binary
            cross-entropy on the target and one uniformly sampled negative).
        popularity_prior: ``tau`` of a fixed bias ``tau * log(1 + training count)`` on every item's logit, in
            training and at inference (logit adjustment in the loss; the counts are the ``item_log_counts``
            buffer, set by :meth:`SASRecModel.set_item_counts`). MindRec's retrieval head has the same option
            (``retrieval_popularity_prior``), so the two models can be compared with it. ``"ce"`` only; 0 = off.
        transition_adjustment: ``lambda`` of a bias ``lambda * log(1 + how often the item directly followed the
            user's last history item in the training sequences)`` on every item's score at inference
            (:meth:`SASRecModel.item_scores`, so validation and ``recommend``), never in the training loss: MindRec's
            decoding option of the same name, so the two models can be compared with it. The counts are a sparse
            table set by :meth:`SASRecModel.set_item_transitions` (``transition_gap_decay`` says whether it also counts
            items that came later). 0 = off.
        transition_decay: the history item ``k`` places before the last one adds ``transition_decay ** k`` times its
            own transitions to that bias, in ``[0, 1)`` (0 = the last item alone).
        transition_prior: ``rho`` of a fixed bias ``rho * sum_k transition_prior_decay ** k * log(1 + how often the
            item directly followed the user's k-th newest history item in the training sequences)`` on every item's
            logit, in training (each row's own pair counted one less) and at inference: MindRec's
            ``retrieval_transition_prior``, so the two models can be compared with it. ``"ce"`` only; 0 = off.
        transition_prior_decay: its weight decay over older history items, in ``[0, 1)``.
        transition_gap_decay: how that table counts, in ``[0, 1)``: an item ``d`` places after ``h`` in a training
            sequence counts ``transition_gap_decay ** (d - 1)`` towards ``c(h -> item)`` (0 = direct successors only;
            MindRec's decoding option of the same name). Needs ``transition_adjustment`` and no ``transition_prior``
            (the prior leaves a row's own direct pair out of the counts, which a table with gaps cannot do).
        brand_adjustment: ``mu`` of a bias ``mu / log(2 + the number of catalogue items of the item's brand)`` on the
            score of every item whose brand is among the user's history items' brands, at inference only (as
            ``transition_adjustment``): MindRec's decoding option of the same name. The brands are a buffer set by
            :meth:`SASRecModel.set_item_brands`. 0 = off.
        popularity_adjustment: ``beta`` of a bias ``-beta * log(1 + training count)`` on every item's score at
            inference only (:meth:`SASRecModel.item_scores`): MindRec's decoding option of the same name, which takes
            back part of ``popularity_prior``'s bias (whose counts it reads, so it needs ``popularity_prior`` > 0).
            0 = off.
        recency_adjustment: ``gamma`` of a bias ``gamma * log(1 + how often the item is a user's newest history item
            in the split read)`` on every item's score at inference only: MindRec's decoding option of the same name
            (the held-out items are users' newest, so what users took last is a closer estimate of their distribution).
            The counts are set by :meth:`SASRecModel.set_recent_counts` for the split decoded. 0 = off.
        num_item_transitions: the size of that table (set with it, so that a saved model loads it).
    """

    model_type = "sasrec"

    num_items: int | None = None
    hidden_size: int = 100
    num_hidden_layers: int = 2
    num_attention_heads: int = 1
    intermediate_size: int | None = None
    max_history: int = 50
    hidden_dropout_prob: float | int = 0.2
    attention_dropout_prob: float | int = 0.2
    layer_norm_eps: float = 1e-8
    initializer_range: float = 0.02
    loss_type: str = "ce"
    popularity_prior: float | int = 0.0
    transition_adjustment: float | int = 0.0
    transition_decay: float | int = 0.0
    transition_prior: float | int = 0.0
    transition_prior_decay: float | int = 0.0
    transition_gap_decay: float | int = 0.0
    brand_adjustment: float | int = 0.0
    popularity_adjustment: float | int = 0.0
    recency_adjustment: float | int = 0.0
    num_item_transitions: int = 0

    def __post_init__(self, **kwargs):
        # @strict's type validators check nothing here: this module's annotations are strings (postponed evaluation),
        # so a word or a None would first meet the range checks below as a TypeError. The annotations say the type.
        for name, annotation in SASRecConfig.__annotations__.items():
            value, kinds = getattr(self, name), annotation.split(" | ")
            if (value is None and "None" in kinds) or "str" in kinds:  # loss_type: its choice check names it
                continue
            integer = kinds[0] == "int"
            if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
                raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
        if self.intermediate_size is None:
            self.intermediate_size = self.hidden_size
        if self.num_items is not None and self.num_items < 1:
            raise ValueError(f"num_items must be >= 1, got {self.num_items}")
        for name in (
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_history",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads "
                f"({self.num_attention_heads})"
            )
        for name in ("hidden_dropout_prob", "attention_dropout_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.layer_norm_eps <= 0 or self.initializer_range <= 0:
            raise ValueError(
                f"layer_norm_eps ({self.layer_norm_eps}) and initializer_range ({self.initializer_range}) must be > 0"
            )
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {self.loss_type!r}")
        if not (math.isfinite(self.popularity_prior) and self.popularity_prior >= 0):
            raise ValueError(f"popularity_prior must be a finite number >= 0, got {self.popularity_prior}")
        if self.popularity_prior > 0 and self.loss_type != "ce":
            raise ValueError("popularity_prior > 0 biases the softmax logits: it needs loss_type='ce'")
        if not (math.isfinite(self.transition_adjustment) and self.transition_adjustment >= 0):
            raise ValueError(f"transition_adjustment must be a finite number >= 0, got {self.transition_adjustment}")
        if not 0 <= self.transition_decay < 1:
            raise ValueError(f"transition_decay must be in [0, 1), got {self.transition_decay}")
        if self.transition_decay and not self.transition_adjustment:
            raise ValueError(
                "transition_decay > 0 weighs the transitions of transition_adjustment: it needs transition_adjustment > 0"
            )
        if not (math.isfinite(self.transition_prior) and self.transition_prior >= 0):
            raise ValueError(f"transition_prior must be a finite number >= 0, got {self.transition_prior}")
        if self.transition_prior > 0 and self.loss_type != "ce":
            raise ValueError("transition_prior > 0 biases the softmax logits: it needs loss_type='ce'")
        if not 0 <= self.transition_prior_decay < 1:
            raise ValueError(f"transition_prior_decay must be in [0, 1), got {self.transition_prior_decay}")
        if self.transition_prior_decay and not self.transition_prior:
            raise ValueError("transition_prior_decay > 0 weighs the transitions of transition_prior: it needs transition_prior > 0")
        if not 0 <= self.transition_gap_decay < 1:
            raise ValueError(f"transition_gap_decay must be in [0, 1), got {self.transition_gap_decay}")
        if self.transition_gap_decay and not self.transition_adjustment:
            raise ValueError(
                "transition_gap_decay > 0 counts the transitions of transition_adjustment: it needs transition_adjustment > 0"
            )
        if self.transition_gap_decay and self.transition_prior:
            raise ValueError(
                "transition_prior leaves each training row's own direct pair out of the counts, which a table counted "
                "with gaps cannot do: transition_gap_decay must be 0 with transition_prior > 0"
            )
        if not (math.isfinite(self.brand_adjustment) and self.brand_adjustment >= 0):
            raise ValueError(f"brand_adjustment must be a finite number >= 0, got {self.brand_adjustment}")
        for name in ("popularity_adjustment", "recency_adjustment"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
        if self.popularity_adjustment and not self.popularity_prior:
            raise ValueError(
                "popularity_adjustment > 0 takes back part of popularity_prior's bias (it reads its training counts): "
                "it needs popularity_prior > 0"
            )
        if self.num_item_transitions < 0:
            raise ValueError(f"num_item_transitions must be >= 0, got {self.num_item_transitions}")
        super().__post_init__(**kwargs)

    @property
    def pad_item_id(self) -> int:
        """Index of the padding row of the item embedding (= ``num_items``)."""
        if self.num_items is None:
            raise ValueError("SASRecConfig.num_items is not set")
        return self.num_items


@dataclass
class SASRecOutput(ModelOutput):
    """Output of :meth:`SASRecModel.forward`.

    Args:
        loss: scalar training loss, when ``labels`` were given.
        logits: ``[batch, num_items]`` scores of every item for the next position; ``None`` when
            training with ``loss_type="bce"`` (that loss only scores the target and a negative).
        last_hidden_state: ``[batch, seq_len, hidden_size]`` final (normalised) hidden states.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None


def collate_histories(
    histories: Sequence[Sequence[int]], num_items: int, max_history: int, first_row: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad histories into model inputs, keeping each one's last ``max_history`` items.

    Args:
        histories: one chronological item-index list per user (may be empty).
        num_items: catalogue size; ``num_items`` is the padding id.
        max_history: window width.
        first_row: row number of ``histories[0]`` in the caller's list, for error messages.

    Returns:
        ``input_ids`` LongTensor ``[n, width]`` and ``attention_mask`` LongTensor ``[n, width]`` (1 = item),
        with ``width = min(max_history, longest history)`` (at least 1).
    """
    windows = [list(history)[-max_history:] for history in histories]
    width = max([1, *map(len, windows)])
    input_ids = torch.full((len(windows), width), num_items, dtype=torch.long)
    attention_mask = torch.zeros((len(windows), width), dtype=torch.long)
    for row, window in enumerate(windows):
        for item in window:
            if not 0 <= item < num_items:
                raise ValueError(
                    f"history of row {first_row + row} holds item {item}, outside 0..{num_items - 1}"
                )
        if window:
            input_ids[row, width - len(window) :] = torch.tensor(window, dtype=torch.long)
            attention_mask[row, width - len(window) :] = 1
    return input_ids, attention_mask


class SASRecAttention(nn.Module):
    """Multi-head causal self-attention with separate q/k/v/o projections (biases as in the paper)."""

    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.dropout = config.attention_dropout_prob
        self.q_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.k_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``hidden_states [B, L, d]``, bool ``attention_mask [B, 1, L, L]`` (True = may attend) -> ``[B, L, d]``."""
        batch, length, _ = hidden_states.shape

        def heads(projection: nn.Linear) -> torch.Tensor:
            return (
                projection(hidden_states).view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
            )

        attended = F.scaled_dot_product_attention(
            heads(self.q_proj),
            heads(self.k_proj),
            heads(self.v_proj),
            attn_mask=attention_mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.o_proj(attended.transpose(1, 2).reshape(batch, length, -1))


class SASRecFeedForward(nn.Module):
    """Point-wise feed-forward ``fc2(Dropout(ReLU(fc1(x))))`` (the paper's 1x1 convolutions)."""

    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.fc1(hidden_states))))


class SASRecBlock(nn.Module):
    """One pre-LN block: ``x + Dropout(Attn(LN(x)))`` then ``x + Dropout(FFN(LN(x)))``."""

    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self_attn = SASRecAttention(config)
        self.post_attention_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = SASRecFeedForward(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden_states = hidden_states + self.dropout(
            self.self_attn(self.input_layernorm(hidden_states), attention_mask)
        )
        return hidden_states + self.dropout(self.mlp(self.post_attention_layernorm(hidden_states)))


class SASRecPreTrainedModel(PreTrainedModel):
    config: SASRecConfig
    config_class = SASRecConfig
    base_model_prefix = "sasrec"
    main_input_name = "input_ids"
    _no_split_modules = ["SASRecBlock"]
    _supports_sdpa = True


class SASRecModel(SASRecPreTrainedModel):
    """SASRec encoder with the shared item embedding as its output layer.

    Module names: ``item_embeddings`` (``[num_items + 1, d]``, last row = padding),
    ``position_embeddings`` (``[max_history, d]``), ``layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
    post_attention_layernorm, mlp.fc1, mlp.fc2}``, ``norm``.
    """

    def __init__(self, config: SASRecConfig):
        super().__init__(config)
        if config.num_items is None:
            raise ValueError("SASRecConfig.num_items must be set to build a SASRecModel")
        self.item_embeddings = nn.Embedding(
            config.num_items + 1, config.hidden_size, padding_idx=config.pad_item_id
        )
        self.position_embeddings = nn.Embedding(config.max_history, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(SASRecBlock(config) for _ in range(config.num_hidden_layers))
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        if config.popularity_prior:
            # log(1 + training interaction count) per item, saved with the weights; NaN until set_item_counts.
            self.item_log_counts = nn.Buffer(torch.full((config.num_items,), float("nan")))
        else:
            self.item_log_counts = None
        if config.transition_adjustment or config.transition_prior:
            # The training transitions as MindRec keeps them (`transition_table`); offsets -1 until set.
            self.item_transition_offsets = nn.Buffer(torch.full((config.num_items + 1,), -1, dtype=torch.long))
            self.item_transition_items = nn.Buffer(torch.zeros(config.num_item_transitions, dtype=torch.long))
            self.item_transition_log_counts = nn.Buffer(torch.zeros(config.num_item_transitions))
        else:
            self.item_transition_offsets = None
        # log(1 + how often each item is a user's newest history item) in the split decoded, for recency_adjustment:
        # split data, not a weight, so it is not saved; None until set_recent_counts.
        self.item_recent_log_counts: torch.Tensor | None = None
        # Every item's brand id (-1 = none) for brand_adjustment; UNSET_BRAND until set_item_brands.
        self.item_brand_ids = (
            nn.Buffer(torch.full((config.num_items,), UNSET_BRAND, dtype=torch.long)) if config.brand_adjustment else None
        )
        self.post_init()

    @torch.no_grad()
    def set_item_counts(self, item_counts: torch.Tensor) -> None:
        """Install every item's training interaction count ``[num_items]`` (models with ``popularity_prior``)."""
        if self.item_log_counts is None:
            raise ValueError("`set_item_counts` is for models with popularity_prior > 0.")
        self.item_log_counts.copy_(log_one_plus_counts(item_counts, self.config.num_items, "item_counts"))

    @torch.no_grad()
    def set_recent_counts(self, recent_counts: torch.Tensor) -> None:
        """Install how often each item is a user's newest history item in the split decoded ``[num_items]`` (e.g.
        ``decoding_counts(...)["recent_counts"]``), for ``recency_adjustment``."""
        recent = log_one_plus_counts(recent_counts, self.config.num_items, "recent_counts")
        self.item_recent_log_counts = recent.to(self.item_embeddings.weight.device)

    @torch.no_grad()
    def set_item_transitions(self, transition_counts: torch.Tensor) -> None:
        """Install how often each item directly followed each other in the training sequences, ``[num_items,
        num_items]`` (dense or sparse; row = previous item), for ``transition_adjustment``; sets
        ``config.num_item_transitions``."""
        if self.item_transition_offsets is None:
            raise ValueError("`set_item_transitions` is for models with transition_adjustment or transition_prior > 0.")
        install_transition_table(self, transition_counts)

    @torch.no_grad()
    def set_item_brands(self, item_brand_ids: torch.Tensor) -> None:
        """Install every item's brand id ``[num_items]`` (-1 = no brand; e.g. :func:`mindrec.data.item_brand_ids`) for
        ``brand_adjustment``."""
        if self.item_brand_ids is None:
            raise ValueError("`set_item_brands` is for models with brand_adjustment > 0.")
        self.item_brand_ids.copy_(check_item_brand_ids(item_brand_ids, self.config.num_items))

    def _check_inputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must be [batch, seq_len], got shape {tuple(input_ids.shape)}")
        if input_ids.shape[1] > self.config.max_history:
            raise ValueError(
                f"input_ids has {input_ids.shape[1]} positions, more than max_history={self.config.max_history}"
            )
        if attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask shape {tuple(attention_mask.shape)} != input_ids shape {tuple(input_ids.shape)}"
            )
        # Left padding: once a row's mask turns on it stays on, so the last position is the latest item.
        if (attention_mask[:, 1:] < attention_mask[:, :-1]).any():
            row = int(torch.nonzero((attention_mask[:, 1:] < attention_mask[:, :-1]).any(dim=1))[0])
            raise ValueError(f"inputs must be left-padded; row {row} has padding after an item")

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states ``[batch, seq_len, d]`` for left-padded ``input_ids [batch, seq_len]``."""
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_item_id).long()
        self._check_inputs(input_ids, attention_mask)
        length = input_ids.shape[1]
        is_item = attention_mask.bool()  # [B, L]
        positions = torch.arange(length - 1, -1, -1, device=input_ids.device)  # 0 = most recent
        scale = math.sqrt(self.config.hidden_size)  # as in the reference code
        hidden = self.item_embeddings(input_ids) * scale + self.position_embeddings(positions)
        hidden = self.dropout(hidden) * is_item.unsqueeze(-1)

        causal = torch.ones(length, length, dtype=torch.bool, device=input_ids.device).tril()
        # Items attend to earlier items and themselves, never to padding. A padding query may attend
        # to itself only, so that no row of the mask is empty (SDPA would return NaN); its output is unused.
        eye = torch.eye(length, dtype=torch.bool, device=input_ids.device)
        mask = (causal & is_item[:, None, :]) | eye  # [B, L, L]
        mask = mask.unsqueeze(1)  # [B, 1, L, L], broadcast over heads
        for layer in self.layers:
            hidden = layer(hidden, mask) * is_item.unsqueeze(-1)
        return self.norm(hidden)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        negative_items: torch.Tensor | None = None,
    ) -> SASRecOutput:
        """Score the next item after each left-padded history.

        Args:
            input_ids: LongTensor ``[batch, seq_len]``, item indices, left-padded with ``num_items``.
            attention_mask: LongTensor ``[batch, seq_len]``, 1 = item; default ``input_ids != num_items``.
            labels: LongTensor ``[batch]``, the next item (target) of each row.
            negative_items: LongTensor ``[batch]``, ``loss_type="bce"`` only: one negative per row;
                drawn uniformly from the other items with the global torch RNG when omitted.

        Returns:
            :class:`SASRecOutput` with ``logits [batch, num_items]`` (``None`` for BCE training) and ``loss``.
        """
        hidden = self.encode(input_ids, attention_mask)
        user = hidden[:, -1]  # [B, d]: left padding puts the latest item last
        items = self.item_embeddings.weight[: self.config.num_items]  # [I, d], padding row excluded
        if labels is not None and self.config.loss_type == "bce":
            if negative_items is None:
                negative_items = sample_negatives(labels, self.config.num_items)
            positive = (user * items[labels]).sum(-1)
            negative = (user * items[negative_items]).sum(-1)
            # -log sigmoid(s+) - log sigmoid(-s-) per row, as in the paper, averaged over rows.
            loss = F.softplus(-positive).mean() + F.softplus(negative).mean()
            return SASRecOutput(loss=loss, logits=None, last_hidden_state=hidden)
        if negative_items is not None:
            raise ValueError("negative_items are only used with loss_type='bce' and labels")
        logits = user @ items.T  # [B, I]
        if self.item_log_counts is not None:
            if bool(torch.isnan(self.item_log_counts[0])):
                raise ValueError("popularity_prior > 0 needs the items' training counts: call `set_item_counts` first")
            logits = logits + self.config.popularity_prior * self.item_log_counts.to(logits.dtype)
        if self.config.transition_prior:
            is_item = input_ids != self.config.pad_item_id if attention_mask is None else attention_mask.bool()
            history = torch.where(is_item, input_ids, -1)  # newest last, -1 = padding
            rows = leave_one_out_transition_rows(self, history, self.config.transition_prior_decay, labels)
            logits = logits + self.config.transition_prior * rows.to(logits.dtype)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return SASRecOutput(loss=loss, logits=logits, last_hidden_state=hidden)

    @torch.no_grad()
    def item_scores(self, histories: Sequence[Sequence[int]], first_row: int = 0) -> torch.Tensor:
        """Scores ``[len(histories), num_items]`` (fp32) of every item as each user's next item (with
        ``popularity_adjustment`` and ``recency_adjustment``, minus and plus those multiples of the log counts; with
        ``transition_adjustment``, plus that multiple of log(1 + how often it followed the user's last item), and of
        ``transition_decay ** k`` times the same for the item ``k`` places before it; with ``brand_adjustment``, plus
        that multiple of :func:`~mindrec.modeling.item_brands.brand_credit` of the history)."""
        input_ids, attention_mask = collate_histories(
            histories, self.config.num_items, self.config.max_history, first_row=first_row
        )
        input_ids, attention_mask = input_ids.to(self.device), attention_mask.to(self.device)
        scores = self(input_ids, attention_mask).logits.float()
        if self.config.popularity_adjustment:
            scores = scores - self.config.popularity_adjustment * self.item_log_counts.float()
        if self.config.recency_adjustment:
            if self.item_recent_log_counts is None:
                raise ValueError("recency_adjustment > 0 needs the split's newest-item counts: call `set_recent_counts`.")
            scores = scores + self.config.recency_adjustment * self.item_recent_log_counts.float()
        if self.config.transition_adjustment:
            valid = attention_mask.bool()  # the history items the model reads, newest last
            weights = recency_weights(valid, self.config.transition_decay)
            transitions = transition_rows(self, torch.where(valid, input_ids, -1), weights)
            scores = scores + self.config.transition_adjustment * transitions
        if self.config.brand_adjustment:
            if self.item_brand_ids is None:
                raise ValueError("brand_adjustment > 0 needs a model built with it (its item_brand_ids buffer).")
            history = torch.where(attention_mask.bool(), input_ids, -1)
            scores = scores + self.config.brand_adjustment * brand_credit(self.item_brand_ids, history)
        return scores

    @torch.no_grad()
    def recommend(
        self,
        histories: Sequence[Sequence[int]],
        k: int,
        exclude_history: bool = False,
        batch_size: int = 1024,
        return_scores: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` items per user from a full ranking of the catalogue (model put in eval mode).

        Args:
            histories: one chronological item-index list per user.
            k: list length, ``1 <= k <= num_items``.
            exclude_history: never return an item already in the user's history.
            batch_size: users scored per forward pass.
            return_scores: also return each listed item's score (its logit; ``-inf`` on ``-1`` slots).

        Returns:
            LongTensor ``[len(histories), k]`` on the CPU, distinct items, best first; ``-1`` fills slots
            when fewer than ``k`` items remain after exclusion. With ``return_scores``, ``(items, scores)``
            with fp32 ``scores [len(histories), k]``.
        """
        if not 1 <= k <= self.config.num_items:
            raise ValueError(f"k must be in 1..{self.config.num_items} (the catalogue size), got {k}")
        was_training = self.training
        self.eval()
        blocks = [torch.empty(0, k, dtype=torch.long)]
        score_blocks = [torch.empty(0, k)]
        try:
            for start in range(0, len(histories), batch_size):
                chunk = histories[start : start + batch_size]
                scores = self.item_scores(chunk, first_row=start)
                exclude = (
                    history_mask(chunk, self.config.num_items, scores.device, start)
                    if exclude_history
                    else None
                )
                items = top_k_items(scores, k, exclude=exclude)
                blocks.append(items.cpu())
                if return_scores:
                    listed = scores.gather(1, items.clamp(min=0)).float()
                    score_blocks.append(listed.masked_fill(items < 0, float("-inf")).cpu())
        finally:
            self.train(was_training)
        if return_scores:
            return torch.cat(blocks), torch.cat(score_blocks)
        return torch.cat(blocks)


def sample_negatives(
    labels: torch.Tensor, num_items: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One item per row drawn uniformly from the ``num_items - 1`` items other than the row's label.

    (The reference code also avoided the rest of the user's history; with one target per row the
    difference is negligible and this needs no per-user state.)
    """
    if num_items < 2:
        raise ValueError(f"negative sampling needs at least 2 items, got num_items={num_items}")
    draws = torch.randint(0, num_items - 1, labels.shape, generator=generator, device=labels.device)
    return draws + (draws >= labels).long()  # skip the label: maps 0..I-2 onto the other I-1 items


__all__ = [
    "SASRecConfig",
    "SASRecModel",
    "SASRecOutput",
    "SASRecPreTrainedModel",
    "collate_histories",
    "sample_negatives",
]
