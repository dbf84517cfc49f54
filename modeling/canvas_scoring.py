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

if TYPE_CHECKING:
    from .modeling_mindrec import MindRecForRecommendation

HISTORY_CACHE_MODES = ("exact", "prompt_cache")


class PromptKeyValueCache:
    """Keys/values of the prompt positions, computed once per user and reused at every decoding step.

    Bidirectional attention means the prompt's states depend on the canvas, so reusing them (computed
    with a fully masked canvas) is an approximation: the ``"prompt_cache"`` decoding mode trades that
    for running only the canvas tokens through the layers at each step. ``record`` keeps the first
    ``prompt_length`` positions of every layer's keys/values; ``replay`` prepends them (gathered per
    row) to the canvas' own keys/values.
    """

    def __init__(self, prompt_length: int):
        self.prompt_length = prompt_length
        self.keys: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}
        self.recording = True
        self.row_to_user: torch.LongTensor | None = None

    def update(
        self, key: torch.Tensor, value: torch.Tensor, layer_idx: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Record (first pass) or prepend the cached prompt keys/values (later passes)."""
        if self.recording:
            self.keys[layer_idx] = key[:, :, : self.prompt_length]
            self.values[layer_idx] = value[:, :, : self.prompt_length]
            return key, value
        cached_k = self.keys[layer_idx][self.row_to_user]
        cached_v = self.values[layer_idx][self.row_to_user]
        return torch.cat([cached_k, key], dim=2), torch.cat([cached_v, value], dim=2)


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


class MindRecCanvasScorer:
    """Scores canvases for the decoders (see ``docs/ARCHITECTURE.md``, "Canvas scorer").

    Args:
        model: the task model (its ``model`` backbone and ``canvas_log_probs`` are used).
        input_ids: ``[batch, seq]`` tokenized prompts with the canvas as the last ``code_length`` positions.
        attention_mask: ``[batch, seq]`` (left padding); None = no padding.
        history_code_ids: ``[batch, items, code_length]`` for the pooled history encoding.
        history_cache: ``"exact"`` or ``"prompt_cache"``.
    """

    def __init__(
        self,
        model: "MindRecForRecommendation",
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        history_cache: str = "exact",
    ):
        config = model.config
        self.model = model
        self.history_cache = history_cache
        self.code_slot_sizes = list(config.code_slot_sizes)
        self.num_category_levels = config.num_category_levels
        self.code_length = length = config.code_length
        attention_mask = check_scorer_inputs(config, input_ids, attention_mask, history_cache)
        self.attention_mask = attention_mask
        self.slot_offsets = torch.tensor(config.code_slot_offsets, device=input_ids.device)
        with torch.no_grad():
            embeds = model.model.embed_inputs(input_ids, history_code_ids)  # [B, T, d]
            self.prompt_embeds = embeds[:, :-length]
            self.cache = None
            if history_cache == "prompt_cache":
                self.cache = PromptKeyValueCache(prompt_length=input_ids.shape[1] - length)
                model.model(inputs_embeds=embeds, attention_mask=attention_mask, prompt_cache=self.cache)
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
        if canvas.dim() != 2 or canvas.shape[1] != self.code_length:
            raise ValueError(f"`canvas` must be [rows, {self.code_length}], got {tuple(canvas.shape)}.")
        canvas_embeds = self.model.model.embed_tokens(self.canvas_input_ids(canvas))
        mask = self.attention_mask[row_to_user]
        if self.cache is None:
            embeds = torch.cat([self.prompt_embeds[row_to_user], canvas_embeds], dim=1)
            hidden = self.model.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
            hidden = hidden[:, -self.code_length :]
        else:
            # Positions of the canvas follow from the full (prompt + canvas) mask inside the backbone.
            self.cache.row_to_user = row_to_user
            hidden = self.model.model(
                inputs_embeds=canvas_embeds, attention_mask=mask, prompt_cache=self.cache
            ).last_hidden_state
        return self.model.canvas_log_probs(hidden)


__all__ = ["HISTORY_CACHE_MODES", "MindRecCanvasScorer", "PromptKeyValueCache", "check_scorer_inputs"]
