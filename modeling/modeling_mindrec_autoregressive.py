"""TIGER-style autoregressive control: the MindRec backbone with a causal mask, trained by teacher forcing.

The same item codes, tokenizer inputs (left padding, the canvas of ``code_length`` slots last) and
backbone as the diffusion model, with ``config.is_causal=True``. Slot ``j`` of the target code is
predicted from the hidden state of the position before it (``[SEP]`` for slot 0, slot ``j - 1``
otherwise), so the training input is the prompt followed by the target's code tokens and the loss is
next-token cross-entropy on the code slots only, each slot's over its own values.

Decoding reuses the diffusion model's machinery: :class:`MindRecAutoregressiveCanvasScorer` follows the
canvas-scorer contract (``docs/ARCHITECTURE.md``), and ``generate()`` runs the ``"left_to_right"``
constrained beam search over the catalogue index, i.e. the prefix-trie-constrained beam search of TIGER:
slot ``j`` may only take values that keep a catalogue item consistent with slots ``< j``. The other
strategies fill slots out of order, which a causal model cannot score, and are rejected.

Remote code: imports only torch, transformers and single-dot relative imports.
"""

import torch

from .canvas_scoring import MindRecCanvasScorer
from .configuration_mindrec import MindRecConfig
from .generation_mindrec import RecommendationGenerationConfig
from .modeling_mindrec import MindRecForRecommendation, MindRecOutput, check_sequence_length

AUTOREGRESSIVE_DECODING_STRATEGY = "left_to_right"


class MindRecAutoregressiveCanvasScorer(MindRecCanvasScorer):
    """Scores canvases with a causal model (same contract as :class:`MindRecCanvasScorer`).

    For every slot ``j`` the scorer returns the next-token log-probabilities read at the position before
    it, which (causal mask) sees only the prompt and canvas slots ``< j``: the log-probs of the *next*
    unfilled slot of a left-to-right fill are exact, and the still-masked later slots cannot change them.
    Entries of a slot whose earlier slots are not all filled are conditioned on ``[MASK]`` inputs and
    carry no meaning (left-to-right decoding never reads them).

    Causality also makes the prompt's keys/values independent of the canvas, so ``"prompt_cache"``
    (computed once per user, each call running only the ``code_length`` reading positions) is exact
    here, not an approximation as for the bidirectional model.

    Args:
        model: a :class:`MindRecForAutoregressiveRecommendation`.
        input_ids: ``[batch, seq]`` tokenized prompts whose last ``code_length`` positions are ``[MASK]``.
        attention_mask: ``[batch, seq]`` (left padding); None = no padding.
        history_code_ids: ``[batch, items, code_length]`` for the pooled history encoding.
        history_cache: ``"exact"`` (full sequence every call) or ``"prompt_cache"`` (also exact).
    """

    next_token_shift = 1

    def __init__(
        self,
        model: "MindRecForAutoregressiveRecommendation",
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        history_cache: str = "prompt_cache",
    ):
        super().__init__(model, input_ids, attention_mask, history_code_ids, history_cache)


class MindRecForAutoregressiveRecommendation(MindRecForRecommendation):
    """TIGER-style autoregressive recommender: causal MindRec backbone + untied LM head, teacher forcing.

    Inputs are those of :class:`MindRecForRecommendation` (the tokenizer's output, canvas last); the
    canvas content is replaced by the target's code tokens from ``labels``. Loss: mean over rows of
    ``sum_j CE_j / code_length``, ``CE_j`` the cross-entropy of slot ``j`` over its own values, read at the
    position before slot ``j``. ``generate()`` runs the prefix-constrained (left-to-right) beam search.

    Args:
        config: a :class:`MindRecConfig` with ``is_causal=True``.
    """

    # Its causal scorer is exact only for the next slot of a left-to-right fill.
    decoding_strategies = (AUTOREGRESSIVE_DECODING_STRATEGY,)

    def __init__(self, config: MindRecConfig):
        if not config.is_causal:
            raise ValueError(
                "MindRecForAutoregressiveRecommendation needs a causal backbone: build its config with "
                "`is_causal=True` (the bidirectional model is MindRecForRecommendation)."
            )
        super().__init__(config)
        self.generation_config = RecommendationGenerationConfig(
            decoding_strategy=AUTOREGRESSIVE_DECODING_STRATEGY, history_cache="prompt_cache"
        )

    def build_canvas_scorer(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        history_code_ids: torch.LongTensor | None = None,
        history_cache: str = "prompt_cache",
    ) -> MindRecAutoregressiveCanvasScorer:
        """The causal scorer the left-to-right decoder calls once per step."""
        check_sequence_length(input_ids.shape[1], self.config)
        return MindRecAutoregressiveCanvasScorer(
            self, input_ids, attention_mask, history_code_ids, history_cache=history_cache
        )

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
        """Logits, or the teacher-forced next-token loss on the code slots when ``labels`` are given.

        Args:
            input_ids: ``[batch, seq]``, left-padded, canvas last (its content is replaced by the labels).
            attention_mask: ``[batch, seq]``.
            history_code_ids: ``[batch, items, code_length]`` (pooled history encoding).
            labels: ``[batch, seq]``, ``-100`` except the canvas, which holds the target code tokens.
            noise_mask, loss_weights: masked-diffusion options; the autoregressive loss rejects them.
            generator: accepted for the trainer's uniform call and unused (the loss draws nothing).
            logits_to_keep: without labels, keep logits of the last ``logits_to_keep`` positions (0 = all).
        Returns:
            :class:`MindRecOutput` with ``loss`` and ``canvas_log_probs [batch, code_length, max_slot_size]``
            (each slot's log-probs read at the position before it), or ``logits`` without labels.
        """
        del generator  # teacher forcing is deterministic
        if input_ids is not None and position_ids is None:
            check_sequence_length(input_ids.shape[1], self.config)
        if labels is None:
            return super().forward(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                inputs_embeds=inputs_embeds,
                history_code_ids=history_code_ids,
                noise_mask=noise_mask,
                loss_weights=loss_weights,
                logits_to_keep=logits_to_keep,
                **kwargs,
            )
        if noise_mask is not None or loss_weights is not None:
            raise ValueError(
                "`noise_mask` and `loss_weights` are masked-diffusion options (e.g. OCN views); the "
                "autoregressive model is trained by teacher forcing on every code slot."
            )
        if input_ids is None:
            raise ValueError("The training loss needs `input_ids` (the canvas is rebuilt from `labels`).")
        length = self.config.code_length
        targets = self._canvas_targets(labels, input_ids)  # [B, L] slot values
        if attention_mask is not None and not bool(attention_mask[:, -length - 1 :].bool().all()):
            raise ValueError("The canvas and the position before it must not be padding: pad on the left.")
        teacher_forced = torch.cat([input_ids[:, :-length], labels[:, -length:]], dim=1)
        hidden = self.model(
            input_ids=teacher_forced,
            attention_mask=attention_mask,
            position_ids=position_ids,
            history_code_ids=history_code_ids,
            **kwargs,
        ).last_hidden_state
        log_probs = self.canvas_log_probs(hidden[:, -length - 1 : -1])  # [B, L, Vmax]
        nll = -log_probs.gather(-1, targets[..., None]).squeeze(-1)  # [B, L]
        loss = (nll.sum(-1) / length).mean()
        return MindRecOutput(loss=loss, canvas_log_probs=log_probs)


__all__ = [
    "AUTOREGRESSIVE_DECODING_STRATEGY",
    "MindRecAutoregressiveCanvasScorer",
    "MindRecForAutoregressiveRecommendation",
]
