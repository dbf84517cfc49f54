"""The canvas scorer: the one thing the decoders ask of a MindRec model.

A decoder holds many rows (users x beams), each a partially filled canvas of ``code_length`` slot
values (``-1`` = still masked). One call scores all rows with one batched forward pass and returns
per-slot log-probabilities. Two ways to treat the user's prompt (the history):

* ``"exact"``: every call runs the whole sequence (prompt + canvas) for every row. Bidirectional
  attention makes this the only exact option: the prompt's states depend on the canvas.
* ``"prompt_cache"``: the prompt's keys/values are computed once per user with a fully masked canvas
  and reused; each call runs only the ``code_length`` canvas tokens through the layers. Cheaper by
  about ``seq / code_length``; approximate (its quality difference is measured in the decoding benchmark).

Remote code: imports only torch and single-dot relative imports.
"""

from typing import TYPE_CHECKING

import torch

from .item_transitions import recency_weights

if TYPE_CHECKING:
    from .modeling_mindrec import MindRecForRecommendation

HISTORY_CACHE_MODES = ("exact", "prompt_cache")


class RowPacking:
    """The rows of one scorer call (users x hypotheses) packed per user: ``[U, W]`` slots.

    The prompt-cache replay runs each user's rows as one sequence of ``W * T`` new tokens that share one
    copy of the user's cached prompt keys/values (a block-diagonal mask keeps the rows apart), instead
    of copying the prompt keys/values once per row: that copy, not the matmuls, dominated a step.

    Attributes:
        users: ``[U]`` the distinct users of the call (sorted).
        row_user: ``[N]`` each row's index into ``users``.
        row_slot: ``[N]`` each row's place among its user's rows (``0 .. W-1``).
        width: ``W``, the most rows any user has (users with fewer get unused slots).
    """

    def __init__(self, row_to_user: torch.LongTensor):
        users, row_user, counts = torch.unique(row_to_user, return_inverse=True, return_counts=True)
        order = torch.argsort(row_user, stable=True)
        starts = counts.cumsum(0) - counts
        row_slot = torch.empty_like(row_user)
        row_slot[order] = torch.arange(row_user.numel(), device=row_user.device) - starts[row_user[order]]
        self.users, self.row_user, self.row_slot = users, row_user, row_slot
        self.width = int(counts.max())

    def pack(self, rows: torch.Tensor) -> torch.Tensor:
        """``[N, T, d]`` -> ``[U, W * T, d]`` (unused slots are zeros)."""
        _, tokens, dim = rows.shape
        packed = rows.new_zeros(self.users.numel(), self.width, tokens, dim)
        packed[self.row_user, self.row_slot] = rows
        return packed.view(self.users.numel(), self.width * tokens, dim)

    def unpack(self, packed: torch.Tensor, tokens: int) -> torch.Tensor:
        """``[U, W * T, d]`` -> ``[N, T, d]``."""
        return packed.view(self.users.numel(), self.width, tokens, -1)[self.row_user, self.row_slot]


class PromptKeyValueCache:
    """Keys/values of the prompt positions, computed once per user and reused at every decoding step.

    Bidirectional attention means the prompt's states depend on the canvas, so reusing them (computed
    with a fully masked canvas) is an approximation: the ``"prompt_cache"`` decoding mode trades that
    for running only the canvas tokens through the layers at each step. ``record`` keeps the first
    ``prompt_length`` positions of every layer's keys/values; after :meth:`replay` the layers prepend
    them (one copy per user of the call) to the packed new tokens' own keys/values.

    Args:
        prompt_mask: ``[B, P]`` padding mask of the cached prompt positions (1 = token).
    """

    def __init__(self, prompt_mask: torch.Tensor):
        self.prompt_mask = prompt_mask.bool()
        self.prompt_length = prompt_mask.shape[1]
        self.keys: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}
        self.recording = True
        self.users: torch.LongTensor | None = None

    def update(
        self, key: torch.Tensor, value: torch.Tensor, layer_idx: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Record (first pass) or prepend the cached prompt keys/values (later passes)."""
        if self.recording:
            self.keys[layer_idx] = key[:, :, : self.prompt_length]
            self.values[layer_idx] = value[:, :, : self.prompt_length]
            return key, value
        cached_k = self.keys[layer_idx][self.users]
        cached_v = self.values[layer_idx][self.users]
        return torch.cat([cached_k, key], dim=2), torch.cat([cached_v, value], dim=2)

    def replay(
        self, packing: RowPacking, tokens_per_row: int, causal: bool = False
    ) -> tuple[torch.BoolTensor, torch.LongTensor]:
        """Prepare a pass over packed rows (``[U, W * T]`` new tokens, see :class:`RowPacking`).

        Returns the backbone's inputs: a bool mask ``[U, 1, W*T, P + W*T]`` (True = attend: the user's
        unpadded prompt, and the tokens of the query's own row -- earlier ones only when ``causal``) and
        ``position_ids [U, W*T]`` (each row's tokens follow the user's prompt).
        """
        self.users = packing.users
        prompt = self.prompt_mask[packing.users]  # [U, P]
        num_users, new = prompt.shape[0], packing.width * tokens_per_row
        index = torch.arange(new, device=prompt.device)
        row, slot = index // tokens_per_row, index % tokens_per_row
        own_row = row[:, None] == row[None, :]
        if causal:
            own_row &= slot[None, :] <= slot[:, None]
        mask = torch.cat(
            [
                prompt[:, None, None, :].expand(num_users, 1, new, self.prompt_length),
                own_row[None, None].expand(num_users, 1, new, new),
            ],
            dim=-1,
        )
        return mask, prompt.sum(-1, keepdim=True) + slot[None]


def check_scorer_inputs(
    config,
    input_ids: torch.LongTensor,
    attention_mask: torch.Tensor | None,
    history_cache: str,
    unpadded_tail: int = 0,
) -> torch.Tensor:
    """Validate a scorer's prompts; return the attention mask (all ones when None was given).

    The canvas (last ``code_length`` positions, plus ``unpadded_tail`` positions before it) must be
    unpadded ``[MASK]`` tokens: inputs are left-padded.
    """
    if history_cache not in HISTORY_CACHE_MODES:
        raise ValueError(f"`history_cache` must be one of {HISTORY_CACHE_MODES}, got {history_cache!r}.")
    length = config.code_length
    if input_ids.dim() != 2 or input_ids.shape[1] <= length:
        raise ValueError(
            f"`input_ids` must be [batch, seq] with seq > code_length={length}, got {tuple(input_ids.shape)}."
        )
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"`attention_mask` shape {tuple(attention_mask.shape)} != `input_ids` shape {tuple(input_ids.shape)}."
        )
    if not bool(attention_mask[:, -length - unpadded_tail :].bool().all()):
        where = "The canvas (last code_length positions)" + (
            " and the position before it" if unpadded_tail else ""
        )
        raise ValueError(f"{where} must not be padding: pad on the left.")
    if not bool((input_ids[:, -length:] == config.mask_token_id).all()):
        raise ValueError("The canvas (last code_length positions) of `input_ids` must be [MASK] tokens.")
    return attention_mask


def replay_prompt_cache(
    backbone: torch.nn.Module,
    cache: PromptKeyValueCache,
    new_embeds: torch.Tensor,
    row_to_user: torch.LongTensor,
    causal: bool = False,
) -> torch.Tensor:
    """Run ``new_embeds [N, T, d]`` (rows of users ``row_to_user [N]``) after the cached prompts.

    Rows are packed per user (:class:`RowPacking`) so each user's prompt keys/values are gathered once
    per call, not once per row. Returns the last hidden states ``[N, T, d]``.
    """
    packing = RowPacking(row_to_user)
    tokens = new_embeds.shape[1]
    mask, position_ids = cache.replay(packing, tokens, causal=causal)
    hidden = backbone(
        inputs_embeds=packing.pack(new_embeds),
        attention_mask=mask,
        position_ids=position_ids,
        prompt_cache=cache,
    ).last_hidden_state
    return packing.unpack(hidden, tokens)


def history_items_and_weights(
    model: "MindRecForRecommendation", history_code_ids: torch.LongTensor | None, decay: float
) -> tuple[torch.LongTensor, torch.FloatTensor]:
    """Catalogue index ``[B, H]`` of every history item in ``history_code_ids [B, H, code_length]`` (-1 at padding)
    and its transition weight ``decay ** k`` ``[B, H]``, k = how many history items follow it (0 at padding)."""
    if history_code_ids is None:
        raise ValueError(
            "`transition_adjustment`, `brand_adjustment` and `retrieval_transition_prior` read the users' history items: "
            "they need `history_code_ids`."
        )
    indices = model.history_items(history_code_ids)
    return indices, recency_weights(indices >= 0, decay)


class MindRecCanvasScorer:
    """Scores canvases for the decoders (see ``docs/ARCHITECTURE.md``, "Canvas scorer").

    Args:
        model: the task model (its ``model`` backbone and ``canvas_log_probs`` are used).
        input_ids: ``[batch, seq]`` tokenized prompts with the canvas as the last ``code_length`` positions.
        attention_mask: ``[batch, seq]`` (left padding); None = no padding.
        history_code_ids: ``[batch, items, code_length]`` for the pooled history encoding.
        history_cache: ``"exact"`` or ``"prompt_cache"``.
        popularity_adjustment: :meth:`item_log_probs` subtracts this times log(1 + training count) from the
            retrieval head's logits (``item_log_counts``).
        recency_adjustment: :meth:`item_log_probs` adds this times log(1 + count as a user's newest training
            interaction) to them (``item_recent_log_counts``).
        transition_adjustment: :meth:`item_log_probs` adds this times log(1 + how often the item directly followed
            the user's last history item in the training sequences) to them (``item_transition_*``); needs the
            pooled ``history_code_ids``.
        transition_decay: the history item ``k`` places before the last one adds ``transition_decay ** k`` times
            its own transitions to that (0 = the last item alone).
        transition_conditioning: p in [0, 1]: each of those counts scaled by ``(mean successor count / the history
            item's) ** p`` first, from raw counts (0) towards the conditional frequency P(item | history item) (1).
        brand_adjustment: :meth:`item_log_probs` adds this times ``1 / log(2 + the item's brand size)`` to the logits
            of the items whose brand is among the user's history items' (``item_brand_ids``); needs the pooled
            ``history_code_ids``.

    Subclasses for a next-token (causal) model set ``next_token_shift = 1``: slot ``j`` is then read at
    the position before it, so the backbone sees the input without its last position, the last canvas
    slot is never an input, and the last prompt position is run with the canvas (it reads slot 0).
    """

    #: 0: slot ``j`` is read at its own position (masked diffusion); 1: at the position before it.
    next_token_shift = 0

    def __init__(
        self,
        model: "MindRecForRecommendation",
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
    ):
        config = model.config
        shift = self.next_token_shift
        self.model = model
        self.history_cache = history_cache
        self.popularity_adjustment = popularity_adjustment
        self.recency_adjustment = recency_adjustment
        self.transition_adjustment = transition_adjustment
        self.transition_conditioning = transition_conditioning
        self.brand_adjustment = brand_adjustment
        # [B, H] history item indices (-1 = padding) and their weights, read by the transition and brand adjustments.
        self.history_items = self.transition_weights = None
        if transition_adjustment or brand_adjustment or config.retrieval_transition_prior:
            self.history_items, self.transition_weights = history_items_and_weights(
                model, history_code_ids, transition_decay
            )
        self.code_slot_sizes = list(config.code_slot_sizes)
        self.num_category_levels = config.num_category_levels
        self.code_length = length = config.code_length
        attention_mask = check_scorer_inputs(config, input_ids, attention_mask, history_cache, unpadded_tail=shift)
        self.slot_offsets = torch.tensor(config.code_slot_offsets, device=input_ids.device)
        self._last_call: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # (canvas, users, hidden)
        # The sequence the backbone sees: the input without its last ``shift`` positions.
        self.attention_mask = attention_mask[:, : attention_mask.shape[1] - shift]
        with torch.no_grad():
            embeds = model.model.embed_inputs(input_ids, history_code_ids)  # [B, T, d]
            embeds = embeds[:, : embeds.shape[1] - shift]
            self.prompt_embeds = embeds[:, : input_ids.shape[1] - length]  # [B, T - L, d]
            self.cache = None
            if history_cache == "prompt_cache":
                # The positions before the first one that is run with the canvas.
                cached = self.prompt_embeds.shape[1] - shift
                self.cache = PromptKeyValueCache(self.attention_mask[:, :cached])
                model.model(inputs_embeds=embeds, attention_mask=self.attention_mask, prompt_cache=self.cache)
                self.cache.recording = False

    @property
    def num_users(self) -> int:
        return self.prompt_embeds.shape[0]

    def canvas_input_ids(self, canvas: torch.LongTensor) -> torch.LongTensor:
        """Slot values ``[N, L]`` (``-1`` = masked) -> token ids ``[N, L]``."""
        tokens = self.slot_offsets + canvas.clamp(min=0)
        return torch.where(canvas < 0, torch.full_like(tokens, self.model.config.mask_token_id), tokens)

    @torch.no_grad()
    def __call__(self, canvas: torch.LongTensor, row_to_user: torch.LongTensor) -> torch.FloatTensor:
        """Score ``canvas [N, L]`` of rows belonging to users ``row_to_user [N]``.

        Returns fp32 log-probabilities ``[N, L, max_slot_size]`` normalised within each slot's values.
        """
        hidden = self.canvas_hidden(canvas, row_to_user)
        # Kept for `item_log_probs`: a fused one-pass decoder asks for the head right after scoring the same
        # users' fully masked canvases, whose states the head reads (one backbone pass instead of two).
        self._last_call = (canvas, row_to_user, hidden)
        return self.model.canvas_log_probs(hidden)

    @torch.no_grad()
    def item_log_probs(self, user_ids: torch.LongTensor) -> torch.FloatTensor:
        """The retrieval head's fp32 log-softmax over the catalogue ``[N, num_items]`` for users
        ``user_ids [N]``, read at their fully masked canvases (models with ``item_retrieval_head``)."""
        if getattr(self.model, "retrieval_proj", None) is None:
            raise ValueError("The model has no item retrieval head (`item_retrieval_head=False`).")
        last_canvas, last_users, hidden = self._last_call or (None, None, None)
        if last_users is None or not torch.equal(last_users, user_ids) or not bool((last_canvas < 0).all()):
            canvas = torch.full((user_ids.shape[0], self.code_length), -1, dtype=torch.long, device=user_ids.device)
            hidden = self.canvas_hidden(canvas, user_ids)
        history_items = None if self.history_items is None else self.history_items[user_ids]
        logits = self.model.item_retrieval_logits(hidden, history_items=history_items)  # the model's priors included
        if self.popularity_adjustment:
            # Logit adjustment: the head learnt p(item | user) with the training popularity inside it; dividing
            # by count^beta before normalising moves probability from frequent items to rare ones.
            log_counts = self._training_log_counts("popularity_adjustment")
            logits = logits - self.popularity_adjustment * log_counts.to(logits.dtype)
        if self.recency_adjustment:
            # The held-out items are each user's newest; what users took last is a closer estimate of their
            # distribution than the popularity over the whole training period, which the head learnt.
            recent = self.model.item_recent_log_counts
            if recent is None or bool(torch.isnan(recent[0])):
                raise ValueError(
                    "`recency_adjustment` needs how often each item is a user's newest training interaction: call "
                    "`set_item_counts(item_counts, recent_counts)` first."
                )
            logits = logits + self.recency_adjustment * recent.to(logits.dtype)
        if self.transition_adjustment:
            # What followed the user's last item in other users' sequences: the item-to-item regularity a single
            # dense query blurs, most of all for items too rare for their embedding to have learnt it.
            transitions = self.model.transition_log_counts(
                self.history_items[user_ids], self.transition_weights[user_ids], self.transition_conditioning
            )
            logits = logits + self.transition_adjustment * transitions.to(logits.dtype)
        if self.brand_adjustment:
            # Users buy again from brands they bought from; a small brand narrows the catalogue more than a big one.
            credit = self.model.brand_credit(self.history_items[user_ids])
            logits = logits + self.brand_adjustment * credit.to(logits.dtype)
        return torch.log_softmax(logits, dim=-1)

    @torch.no_grad()
    def item_rarity(self) -> torch.FloatTensor:
        """``[num_items]`` fp32 ``1 / (1 + the item's training count)``, from the model's ``item_log_counts``
        (models with ``item_retrieval_head``; read by ``rare_item_generative_weight``)."""
        return torch.exp(-self._training_log_counts("rare_item_generative_weight").float())

    def _training_log_counts(self, option: str) -> torch.Tensor:
        """The model's ``item_log_counts [num_items]``, log(1 + training count); a clear error naming ``option``
        when the model has none or they were never set."""
        log_counts = getattr(self.model, "item_log_counts", None)
        if log_counts is None or bool(torch.isnan(log_counts[0])):
            raise ValueError(f"`{option}` needs the items' training counts: call `set_item_counts` first.")
        return log_counts

    def canvas_hidden(self, canvas: torch.LongTensor, row_to_user: torch.LongTensor) -> torch.Tensor:
        """Final hidden states ``[N, L, hidden]`` at the canvas positions of ``canvas [N, L]`` (rows of
        users ``row_to_user [N]``)."""
        length, shift = self.code_length, self.next_token_shift
        if canvas.dim() != 2 or canvas.shape[1] != length:
            raise ValueError(f"`canvas` must be [rows, {length}], got {tuple(canvas.shape)}.")
        canvas_embeds = self.model.model.embed_tokens(self.canvas_input_ids(canvas)[:, : length - shift])
        if self.cache is None:
            embeds = torch.cat([self.prompt_embeds[row_to_user], canvas_embeds], dim=1)
            mask = self.attention_mask[row_to_user]
            hidden = self.model.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state[:, -length:]
        else:
            uncached = self.prompt_embeds[:, self.prompt_embeds.shape[1] - shift :]  # [B, shift, d]
            new = torch.cat([uncached[row_to_user], canvas_embeds], dim=1)  # [N, L, d]
            hidden = replay_prompt_cache(self.model.model, self.cache, new, row_to_user, causal=shift > 0)
        return hidden


__all__ = [
    "HISTORY_CACHE_MODES",
    "MindRecCanvasScorer",
    "PromptKeyValueCache",
    "RowPacking",
    "check_scorer_inputs",
    "replay_prompt_cache",
]
