"""MindRec model configuration.

Remote code: imports only transformers / huggingface_hub, so that a saved checkpoint loads with
``trust_remote_code=True`` where mindrec is not installed.
"""

import math
from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig
from transformers.modeling_rope_utils import RopeParameters
from transformers.utils.type_validators import interval


@strict
class MindRecConfig(PreTrainedConfig):
    r"""Configuration of a LLaDA-style masked-diffusion transformer for generative recommendation.

    The backbone is LLaMA-shaped (pre-RMSNorm blocks, SwiGLU MLP, RoPE, no biases, untied LM head)
    with the causal mask removed. The defaults describe the small (~4.8M parameter) model that trains
    from scratch on item tokens on a CPU; LLaDA-8B is ``hidden_size=4096, num_hidden_layers=32,
    num_attention_heads=32, intermediate_size=12288, vocab_size=126464, rope_theta=500000``.

    Item codes. An item is written as ``code_length = num_category_levels + num_sid_digits`` slots:
    category levels coarse to fine, then semantic-ID digits. Slot ``s`` takes values
    ``0 .. code_slot_sizes[s] - 1`` and value ``v`` of slot ``s`` is token
    ``code_token_offset + sum(code_slot_sizes[:s]) + v``.

    Args:
        vocab_size: rows of the embedding and LM head (special + text + code tokens).
        hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads:
            backbone dimensions; ``num_key_value_heads`` defaults to ``num_attention_heads`` (no GQA, as LLaDA).
        max_position_embeddings: longest sequence the model is meant for (RoPE has no hard limit).
        rope_parameters: RoPE settings, e.g. ``{"rope_type": "default", "rope_theta": 10000.0}``.
        rms_norm_eps: epsilon of every RMSNorm.
        attention_dropout: dropout on the attention weights (training only), in ``[0, 1)``.
        hidden_dropout: dropout on the input embeddings and on each block's attention and MLP outputs
            before they join the residual stream (training only; SASRec's regulariser), in ``[0, 1)``.
        pad_token_id, mask_token_id, bos_token_id, eos_token_id, sep_token_id: special token ids.
        item_placeholder_token_id: the ``[ITEM]`` token whose embedding is replaced by the sum of a
            history item's code embeddings when ``history_encoding="pooled"``.
        num_category_levels: D, category slots per code (0 = semantic ID only).
        num_sid_digits: n, semantic-ID slots per code.
        code_slot_sizes: values per slot, ``D + n`` entries.
        code_token_offset: token id of slot 0 value 0.
        history_encoding: ``"tokens"`` writes each history item as its code tokens (MindRec);
            ``"pooled"`` gives each history item one position (sum of its code embeddings; 1/code_length
            of the sequence, DiffGRM-style).
        is_causal: use a causal mask (the autoregressive TIGER-style control); LLaDA is bidirectional.
        mask_eps: floor of the training mask rate, ``p = mask_eps + (1 - mask_eps) * t`` with t ~ U(0, 1).
        prompt_attends_canvas: ``True`` (LLaDA): every position attends to every other. ``False``: the
            prompt (history) attends only to the prompt, while the canvas (the last ``code_length``
            positions) attends to prompt and canvas. The prompt's keys/values then do not depend on the
            canvas, so one prompt encoding serves many noisy canvases in a training step
            (``num_random_views`` / ``num_path_views``) and the decoding prompt cache is exact.
        causal_prompt: with ``prompt_attends_canvas=False``, each prompt position attends only to itself
            and earlier prompt positions (a SASRec-style causal history encoder); the canvas still attends
            to the whole prompt and to itself.
        num_random_views: training noise draws per row and step, each with its own mask rate ``t``
            (views > 1 need ``prompt_attends_canvas=False``: they share the row's prompt encoding).
        num_path_views: also train on this many of the ``code_length`` nested states a coarse-to-fine
            decoder visits (drawn per row without replacement; ``code_length`` = all): category levels
            filled coarse to fine, then semantic-ID digits in a random order per row (state 0 is fully
            masked, the last has one slot masked). Needs ``prompt_attends_canvas=False``.
        path_loss: ``"masked"``: a path view's loss covers all its masked slots; ``"next"``: only the slot
            the path fills next (the decision a coarse-to-fine decoder takes in that state).
        num_items: catalogue size; needed by ``history_item_embeddings``.
        history_item_embeddings: with the pooled history encoding, add a learned per-item embedding to
            each history item's summed code embeddings (collaborative identity next to the shared code
            parts, as ID-based recommenders have). The model keeps the catalogue's codes
            (``item_code_keys`` buffer) to find a history item's index from its code; the output stays
            generative (the model still writes the next item's code).
        item_retrieval_head: also train a dense retrieval head beside the generative one (MaskGR's hybrid):
            the fully masked canvas's states, pooled and projected, are scored against every catalogue
            item's vector (its learned item embedding plus its summed code embeddings, the representation
            the history uses) with a full-softmax cross-entropy on the target item. Decoding may fuse its
            log-probs with the generative score (``retrieval_weight`` of the generation config). Needs
            ``history_item_embeddings`` and ``prompt_attends_canvas=False`` (the retrieval canvas is one
            more packed view of the row).
        retrieval_loss_weight: weight of the retrieval cross-entropy next to the masked-diffusion loss.
        history_retrieval_loss_weight: weight of a second retrieval cross-entropy, taken at every history
            item of the causal prompt on the item that follows it (the last one's is the row's target):
            SASRec's all-positions objective, scored by the same head. Each row then supervises the head
            once per history item instead of once, at no extra backbone cost. 0 turns it off; above 0 it
            needs ``item_retrieval_head`` and ``causal_prompt`` (a history item must not see its successor).
        history_retrieval_reduction: how the history cross-entropy is averaged. ``"item"``: over every history
            item of the batch, so a row weighs as many history items as it has, and a long sequence, which
            gives one training row per prefix, weighs about the square of its length. ``"row"``: within each
            row first, then over the rows: every row (one target each) weighs the same, as in the
            canvas losses.
        history_retrieval_window: how many of a row's history items, the newest ones, the history cross-entropy
            takes (0 = all of them). Training has one row per prefix of a user's sequence, so with all of them
            an item that opens a sequence of ``n`` training items is a next-item target in up to ``n`` rows and
            the newest one in a single row: the loss leans towards each user's oldest items. With a window of
            ``w`` every item is a target in at most ``w`` rows (SASRec, one row per user, scores every position
            once). Above 0 it needs ``history_retrieval_loss_weight`` > 0.
        retrieval_popularity_prior: ``tau`` of a fixed per-item bias ``tau * log(1 + training count)`` added to the
            retrieval head's logits, in training and at decoding alike (the counts are the ``item_log_counts``
            buffer, set by ``set_item_counts``). The learned part of the head then need not encode how popular an
            item was over the training period (logit adjustment in the loss, Menon et al. 2021), and spends its
            capacity on which items suit the user; at decoding the bias puts the popularity back, so
            ``popularity_adjustment`` and ``recency_adjustment`` keep their meaning. 0 = off.
        retrieval_transition_prior: ``rho`` of a fixed per-user bias on the retrieval head's logits, in training and
            at decoding alike: ``rho * sum_k retrieval_transition_decay ** k * log(1 + how often the item directly
            followed the user's k-th newest history item in the training sequences)`` (the ``item_transition_*``
            table, set by ``set_item_transitions``). The learned part of the head then scores what the first-order
            Markov prior misses, instead of relearning it (and a decoding credit on top of a head that already
            learnt it counting it twice). In training each scored pair (history item -> its next item) is one of the
            table's counts, so the pair is counted one less there (leave-one-out). 0 = off.
        retrieval_transition_decay: with ``retrieval_transition_prior``: the history item ``k`` places before the
            newest adds ``retrieval_transition_decay ** k`` times its own transitions, in ``[0, 1)``.
        num_item_transitions: how many (previous item, next item) pairs the model keeps a training count of, for
            the decoding option ``transition_adjustment`` (the ``item_transition_*`` buffers, a sparse table set by
            ``set_item_transitions``, which also sets this number so that a saved model loads its table). 0 = none;
            above 0 it needs ``item_retrieval_head``.
        retrieval_label_smoothing: label smoothing of both retrieval cross-entropies, in ``[0, 1)``: the
            target gets ``1 - s`` of the probability mass and every catalogue item ``s / num_items``.
        item_feature_size: size of a fixed content vector per item (e.g. the text and co-occurrence vector its
            semantic ID quantises), kept as the ``item_features`` buffer and added, through a learned linear
            projection, to the item's learned embedding wherever that is used (history items, the retrieval
            head's item vectors): the dense vector the 4 SID digits only approximate. 0 turns it off; above 0 it
            needs ``history_item_embeddings``.
        num_brands: size of a learned brand embedding table: every item's vector (history items, the retrieval
            head's item vectors) also gets the embedding of its brand (the ``item_brand_ids`` buffer of the
            backbone, set by ``set_item_brands``; items without a brand get none), so that what the model learns
            about one item of a brand reaches the brand's other items, rarely seen ones included. 0 turns it off;
            above 0 it needs ``history_item_embeddings``.
        item_id_dropout: in training, the probability that an item's learned (ID) part of its vector is
            zeroed, drawn per history position and per catalogue item at each step, so the item is seen as a
            new item is: by its codes alone (DropoutNet's input dropout for cold start). The codes, shared by
            warm and cold items alike, must then carry the item on their own, which is what a rarely seen
            item's vector rests on at inference. In ``[0, 1)``; needs ``history_item_embeddings``.
    """

    model_type = "mindrec"
    keys_to_ignore_at_inference = ["past_key_values"]
    base_model_tp_plan = {
        "layers.*.self_attn.q_proj": "colwise",
        "layers.*.self_attn.k_proj": "colwise",
        "layers.*.self_attn.v_proj": "colwise",
        "layers.*.self_attn.o_proj": "rowwise",
        "layers.*.mlp.gate_proj": "colwise",
        "layers.*.mlp.up_proj": "colwise",
        "layers.*.mlp.down_proj": "rowwise",
    }

    vocab_size: int = 1031
    hidden_size: int = 256
    intermediate_size: int = 1024
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 512
    initializer_range: float = interval(min=0.0, max=1.0)(default=0.02)
    rms_norm_eps: float = 1e-5
    rope_parameters: RopeParameters | dict | None = None
    attention_dropout: int | float | None = 0.0
    hidden_dropout: int | float = 0.0
    tie_word_embeddings: bool = False

    pad_token_id: int | None = 0
    mask_token_id: int = 1
    bos_token_id: int | None = 2
    eos_token_id: int | list[int] | None = 3
    sep_token_id: int | None = 4
    item_placeholder_token_id: int | None = 5

    num_category_levels: int = 0
    num_sid_digits: int = 4
    code_slot_sizes: list[int] | None = None
    code_token_offset: int = 7
    history_encoding: Literal["tokens", "pooled"] = "tokens"
    is_causal: bool = False
    mask_eps: float = 0.5
    prompt_attends_canvas: bool = True
    causal_prompt: bool = False
    num_random_views: int = 1
    num_path_views: int = 0
    path_loss: Literal["masked", "next"] = "masked"
    num_items: int | None = None
    history_item_embeddings: bool = False
    item_retrieval_head: bool = False
    retrieval_loss_weight: float = 1.0
    history_retrieval_loss_weight: float = 0.0
    retrieval_label_smoothing: int | float = 0.0
    history_retrieval_reduction: Literal["item", "row"] = "item"
    history_retrieval_window: int = 0
    retrieval_popularity_prior: int | float = 0.0
    retrieval_transition_prior: int | float = 0.0
    retrieval_transition_decay: int | float = 0.0
    num_item_transitions: int = 0
    item_feature_size: int = 0
    num_brands: int = 0
    item_id_dropout: int | float = 0.0

    def __post_init__(self, **kwargs):
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.code_slot_sizes is None:
            self.code_slot_sizes = [256] * (self.num_category_levels + self.num_sid_digits)
        self.code_slot_sizes = [int(size) for size in self.code_slot_sizes]
        super().__post_init__(**kwargs)

    # ----------------------------------------------------------------------------------------------
    # Derived layout
    @property
    def code_length(self) -> int:
        """Slots per item code: category levels + semantic-ID digits."""
        return self.num_category_levels + self.num_sid_digits

    @property
    def code_slot_offsets(self) -> list[int]:
        """Token id of value 0 of each slot, ``[code_length]``."""
        offsets, start = [], self.code_token_offset
        for size in self.code_slot_sizes:
            offsets.append(start)
            start += size
        return offsets

    # ----------------------------------------------------------------------------------------------
    # Validation (class validators run by @strict)
    def validate_architecture(self):
        """Backbone dimensions are positive and divide evenly."""
        for name in (
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
        if (
            self.hidden_size % self.num_attention_heads != 0
            and self.head_dim * self.num_attention_heads != self.hidden_size
        ):
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) is not a multiple of `num_attention_heads` "
                f"({self.num_attention_heads})."
            )
        if self.num_key_value_heads < 1 or self.num_attention_heads % self.num_key_value_heads != 0:
            raise ValueError(
                f"`num_attention_heads` ({self.num_attention_heads}) must be a multiple of "
                f"`num_key_value_heads` ({self.num_key_value_heads})."
            )
        if self.head_dim % 2 != 0:
            raise ValueError(f"`head_dim` must be even for RoPE, got {self.head_dim}.")
        if self.rms_norm_eps <= 0:
            raise ValueError(f"`rms_norm_eps` must be > 0, got {self.rms_norm_eps}.")
        for name in ("mask_eps", "attention_dropout", "hidden_dropout", "retrieval_label_smoothing", "item_id_dropout"):
            if not 0.0 <= (getattr(self, name) or 0.0) < 1.0:  # attention_dropout may be None (Llama's type)
                raise ValueError(f"`{name}` must be in [0, 1), got {getattr(self, name)}.")

    def validate_training_views(self):
        """Several noise views per row share one prompt encoding, so the prompt must not see the canvas."""
        if self.num_random_views < 0:
            raise ValueError(f"`num_random_views` must be >= 0, got {self.num_random_views}.")
        if not 0 <= self.num_path_views <= self.code_length:
            raise ValueError(f"`num_path_views` must be in [0, code_length={self.code_length}], got {self.num_path_views}.")
        if self.num_random_views + self.num_path_views == 0:
            raise ValueError("No training views: set `num_random_views` or `num_path_views` >= 1.")
        if self.causal_prompt and (self.prompt_attends_canvas or self.is_causal):
            raise ValueError("`causal_prompt=True` needs `prompt_attends_canvas=False` on a bidirectional model.")
        several = self.num_random_views + self.num_path_views > 1
        if several and (self.prompt_attends_canvas or self.is_causal):
            raise ValueError(
                f"`num_random_views={self.num_random_views}` + `num_path_views={self.num_path_views}` views "
                "need a bidirectional model whose prompt does not attend to the canvas "
                "(`prompt_attends_canvas=False`, `is_causal=False`)."
            )

    def validate_history_item_embeddings(self):
        """Per-item history embeddings need the pooled encoding, the catalogue size and codes that fit a key."""
        if self.num_items is not None and self.num_items < 1:
            raise ValueError(f"`num_items` must be >= 1, got {self.num_items}.")
        # Sizes of what is added to the learned item embedding, so they need one.
        for name, addition in (("item_feature_size", "the projected feature"), ("num_brands", "the brand embedding")):
            size = getattr(self, name)
            if size < 0:
                raise ValueError(f"`{name}` must be >= 0, got {size}.")
            if size and not self.history_item_embeddings:
                raise ValueError(
                    f"`{name}` > 0 needs `history_item_embeddings=True`: {addition} is added to the learned item "
                    "embedding."
                )
        if self.item_id_dropout and not self.history_item_embeddings:
            raise ValueError("`item_id_dropout` > 0 needs `history_item_embeddings=True`: it drops those embeddings.")
        if not self.history_item_embeddings:
            return
        if self.history_encoding != "pooled" or self.num_items is None:
            raise ValueError(
                f'`history_item_embeddings=True` needs history_encoding="pooled" (got {self.history_encoding!r}) '
                f"and `num_items` (got {self.num_items})."
            )
        key_space = 1
        for size in self.code_slot_sizes:
            key_space *= size
        if key_space >= 2**62:
            raise ValueError(f"The code space {self.code_slot_sizes} is too large to key items by their code in int64.")

    def validate_item_retrieval_head(self):
        """The retrieval head scores the items the history embeds, from one more packed canvas view."""
        if not self.retrieval_loss_weight > 0:
            raise ValueError(f"`retrieval_loss_weight` must be > 0, got {self.retrieval_loss_weight}.")
        if not self.history_retrieval_loss_weight >= 0:
            raise ValueError(
                f"`history_retrieval_loss_weight` must be >= 0, got {self.history_retrieval_loss_weight}."
            )
        if not self.history_retrieval_window >= 0:
            raise ValueError(f"`history_retrieval_window` must be >= 0, got {self.history_retrieval_window}.")
        if self.history_retrieval_window > 0 and not self.history_retrieval_loss_weight > 0:
            raise ValueError(
                "`history_retrieval_window` > 0 needs `history_retrieval_loss_weight` > 0 (it selects that loss's terms)."
            )
        if not (math.isfinite(self.retrieval_popularity_prior) and self.retrieval_popularity_prior >= 0):
            raise ValueError(
                f"`retrieval_popularity_prior` must be a finite number >= 0, got {self.retrieval_popularity_prior}."
            )
        if self.retrieval_popularity_prior > 0 and not self.item_retrieval_head:
            raise ValueError(
                "`retrieval_popularity_prior` > 0 needs `item_retrieval_head=True` (it biases that head's logits)."
            )
        if not (math.isfinite(self.retrieval_transition_prior) and self.retrieval_transition_prior >= 0):
            raise ValueError(
                f"`retrieval_transition_prior` must be a finite number >= 0, got {self.retrieval_transition_prior}."
            )
        if self.retrieval_transition_prior > 0 and not self.item_retrieval_head:
            raise ValueError(
                "`retrieval_transition_prior` > 0 needs `item_retrieval_head=True` (it biases that head's logits)."
            )
        if not 0 <= self.retrieval_transition_decay < 1:
            raise ValueError(
                f"`retrieval_transition_decay` must be in [0, 1), got {self.retrieval_transition_decay}."
            )
        if self.retrieval_transition_decay > 0 and not self.retrieval_transition_prior > 0:
            raise ValueError(
                "`retrieval_transition_decay` > 0 weighs the transitions of `retrieval_transition_prior`: it needs "
                "`retrieval_transition_prior` > 0."
            )
        if self.num_item_transitions < 0:
            raise ValueError(f"`num_item_transitions` must be an integer >= 0, got {self.num_item_transitions!r}.")
        if self.num_item_transitions > 0 and not self.item_retrieval_head:
            raise ValueError(
                "`num_item_transitions` > 0 needs `item_retrieval_head=True` (the transitions adjust that head's logits)."
            )
        if self.retrieval_label_smoothing > 0 and not self.item_retrieval_head:
            raise ValueError("`retrieval_label_smoothing` > 0 needs `item_retrieval_head=True` (it smooths that head's loss).")
        if self.history_retrieval_loss_weight > 0 and not (self.item_retrieval_head and self.causal_prompt):
            raise ValueError(
                "`history_retrieval_loss_weight` > 0 needs `item_retrieval_head=True` (its scores are the head's) "
                "and `causal_prompt=True` (each history item predicts the next, which it must not see)."
            )
        if not self.item_retrieval_head:
            return
        if not self.history_item_embeddings:
            raise ValueError(
                "`item_retrieval_head=True` needs `history_item_embeddings=True`: the head scores items by the "
                "learned item embeddings the history uses."
            )
        if self.prompt_attends_canvas or self.is_causal:
            raise ValueError(
                "`item_retrieval_head=True` needs a bidirectional model whose prompt does not attend to the canvas "
                "(`prompt_attends_canvas=False`, `is_causal=False`): its fully masked canvas is packed next to "
                "the training views."
            )

    def validate_code_layout(self):
        """The item-code slots fit in the vocabulary and agree with the slot counts."""
        if self.num_category_levels < 0 or self.num_sid_digits < 0:
            raise ValueError(
                f"`num_category_levels` ({self.num_category_levels}) and `num_sid_digits` "
                f"({self.num_sid_digits}) must be >= 0."
            )
        if self.code_length < 1:
            raise ValueError(
                "An item code needs at least one slot: num_category_levels + num_sid_digits >= 1."
            )
        if len(self.code_slot_sizes) != self.code_length:
            raise ValueError(
                f"`code_slot_sizes` has {len(self.code_slot_sizes)} entries {self.code_slot_sizes}, but "
                f"num_category_levels + num_sid_digits = {self.num_category_levels} + {self.num_sid_digits} "
                f"= {self.code_length}."
            )
        if any(size < 1 for size in self.code_slot_sizes):
            raise ValueError(f"Every entry of `code_slot_sizes` must be >= 1, got {self.code_slot_sizes}.")
        end = self.code_token_offset + sum(self.code_slot_sizes)
        if self.code_token_offset < 0 or end > self.vocab_size:
            raise ValueError(
                f"Code tokens occupy ids [{self.code_token_offset}, {end}) but `vocab_size` is {self.vocab_size}."
            )

    def validate_special_tokens(self):
        """Special ids lie in the vocabulary, outside the code-token block, and the mask is distinct."""
        code_block = range(self.code_token_offset, self.code_token_offset + sum(self.code_slot_sizes))
        named = {
            "pad_token_id": self.pad_token_id,
            "mask_token_id": self.mask_token_id,
            "bos_token_id": self.bos_token_id,
            "sep_token_id": self.sep_token_id,
            "item_placeholder_token_id": self.item_placeholder_token_id,
        }
        eos = self.eos_token_id if isinstance(self.eos_token_id, list) else [self.eos_token_id]
        named.update({f"eos_token_id[{i}]": value for i, value in enumerate(eos)})
        for name, value in named.items():
            if value is None:
                continue
            if not 0 <= value < self.vocab_size:
                raise ValueError(f"`{name}` ({value}) is outside the vocabulary [0, {self.vocab_size}).")
            if value in code_block:
                raise ValueError(
                    f"`{name}` ({value}) falls inside the code-token block "
                    f"[{code_block.start}, {code_block.stop})."
                )
        if self.mask_token_id in (self.pad_token_id, self.bos_token_id, self.sep_token_id):
            raise ValueError(f"`mask_token_id` ({self.mask_token_id}) must differ from pad/bos/sep.")
        if self.history_encoding == "pooled" and self.item_placeholder_token_id is None:
            raise ValueError('`history_encoding="pooled"` needs an `item_placeholder_token_id`.')


__all__ = ["MindRecConfig"]
