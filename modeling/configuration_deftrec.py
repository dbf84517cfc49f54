"""DeftRec model configuration (continuous-token diffusion recommendation, DESIGN §6).

Remote code: imports only transformers / huggingface_hub and a single-dot relative import, so that
a saved checkpoint loads with ``trust_remote_code=True`` where mindrec is not installed.
"""

import dataclasses
from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig, SubConfigSpec

from .configuration_mindrec import MindRecConfig

# DeftRec feeds the backbone ``inputs_embeds`` only, so the backbone's token vocabulary is never
# read; the default keeps it to the smallest valid MindRec layout (the special ids + one code token)
# instead of carrying an unused 1031-row embedding.
_DEFAULT_LM_CONFIG = {
    "vocab_size": 8,
    "num_sid_digits": 1,
    "code_slot_sizes": [1],
    "code_token_offset": 7,
    "hidden_size": 128,
    "intermediate_size": 384,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "max_position_embeddings": 64,
}


def _backbone_only_options() -> set[str]:
    """The backbone's own options (``MindRecConfig`` fields that neither DeftRec nor every config has), token ids and
    embedding tying excepted: generic code may pass those to any config."""
    names = {field.name for field in dataclasses.fields(MindRecConfig)}
    names -= {field.name for field in dataclasses.fields(PreTrainedConfig)}
    names -= {field.name for field in dataclasses.fields(DeftRecConfig)}
    return {name for name in names if not name.endswith("_token_id") and name != "tie_word_embeddings"}


@strict
class DeftRecConfig(PreTrainedConfig):
    r"""Configuration of :class:`DeftRecForRecommendation`.

    A user's history items are each written as ``num_continuous_tokens`` (K) continuous tokens by an
    item tokenizer over fixed collaborative **item vectors**; the MindRec backbone reads them plus a
    learned ``[USER]`` query, whose final hidden state conditions a DDPM that generates the next
    item's vector; recommendations are the catalogue items scoring highest against that vector.

    The defaults are the published DeftRec (epsilon prediction, one DDPM sample, inner product), which
    is also how a config saved before ``sampler`` / ``prediction_type`` existed loads. On full Beauty
    validation (SASRec vectors) that design ranks like popularity: one stochastic sample is a single
    draw from the model's distribution of next items, and an epsilon model's ``x_0`` estimate at high
    noise -- where the condition matters -- is the condition's tiny share of ``eps_hat`` divided by
    ``sqrt(alpha_bar)``. What ``mindrec`` trains (``ModelArguments``, the benchmark protocols) is
    ``prediction_type="sample"``, ``sampler="posterior_mean"``, ``retrieval="centered_cosine"``: the denoiser's
    estimate of ``E[x_0 | user]`` (one deterministic call), whose inner product with an item is the
    *expected* inner product over the model's samples (docs/experiments/README.md, "DeftRec: why it
    ranked like popularity, and the fix").

    Where the item vectors come from: any ``[num_items, item_vector_dim]`` matrix of collaborative
    embeddings, set with ``model.set_item_vectors(weight)``. The intended source is a trained
    SASRec's item embedding, ``sasrec.item_embeddings.weight[:num_items]`` (``mindrec.baselines.sasrec``;
    its last row is padding), or LightGCN vectors as in the paper. Until set, the model holds random
    Gaussian vectors (then it is DeftRec over random item codes). The vectors are a buffer, not
    trained; diffusion runs on them divided by their global RMS (one scalar, which changes no
    ranking), so DDPM's unit-variance noise suits vectors of any scale.

    Args:
        lm_config: the backbone :class:`MindRecConfig` (a sub-config; dict or config). Its
            ``hidden_size`` is the width of the continuous tokens and of the user condition; its
            token vocabulary is unused. Default: hidden 128, 3 layers, 4 heads, MLP 384, a minimal
            vocabulary; a partial dict is completed from these defaults.
        num_items: catalogue size; item indices are ``0 .. num_items-1`` (``-1`` = history padding).
        item_vector_dim: width of the item vectors, the diffusion's data dimension.
        num_continuous_tokens: K, continuous tokens per history item (the paper's K = 2).
        tokenizer_hidden_size: inner width of each of the K tokenizer MLP blocks.
        feature_mask_prob: in training, each item-vector feature entering the tokenizer is zeroed
            with this probability (inverted-dropout scaling), for robustness; in ``[0, 1)``.
        num_train_timesteps: T, length of the DDPM forward chain.
        num_inference_steps: sampling steps of ``generate`` with ``sampler="ddpm"`` (evenly strided
            subset), ``<= T``.
        beta_start, beta_end: the linear beta schedule, ``0 < beta_start <= beta_end < 1``.
        denoiser_hidden_size: width of the denoiser MLP and of its timestep embedding (even).
        prediction_type: what the denoiser predicts and the MSE is taken on: ``"epsilon"`` (the noise,
            as in DDPM) or ``"sample"`` (``x_0``, the clean item vector, as DreamRec does).
        bpr_weight: weight of the negative-aware term ``-log sigmoid(err_neg - err_pos)`` added to
            the denoising MSE; 0 trains on the MSE alone.
        num_negatives: negatives per training row (what the collator samples); >= 1 when
            ``bpr_weight > 0``.
        sampler: the vector ``generate`` retrieves with: ``"ddpm"`` (one ancestral DDPM sample from
            ``N(0, I)``, ``num_inference_steps`` steps; the published sampler) or ``"posterior_mean"``
            (the denoiser's ``x_0`` estimate at ``t = T-1`` from ``x_T = 0``; deterministic, see above).
        retrieval: ``"inner_product"``, ``"neg_l2"`` (negative Euclidean distance), ``"cosine"`` or
            ``"centered_cosine"`` (cosine once the catalogue's mean vector is subtracted from both)
            between the generated vector and every catalogue vector.
        max_history: most history items a row may hold (the sequence is ``max_history * K + 1`` long).
    """

    model_type = "deftrec"
    sub_configs_defaults = {
        "lm_config": SubConfigSpec(config_class=MindRecConfig, init_kwargs=_DEFAULT_LM_CONFIG),
    }

    lm_config: dict | PreTrainedConfig | None = None
    num_items: int = 1000
    item_vector_dim: int = 64
    num_continuous_tokens: int = 2
    tokenizer_hidden_size: int = 256
    feature_mask_prob: float = 0.1
    num_train_timesteps: int = 1000
    num_inference_steps: int = 100
    beta_start: float = 1e-4
    beta_end: float = 0.02
    denoiser_hidden_size: int = 256
    prediction_type: Literal["epsilon", "sample"] = "epsilon"
    bpr_weight: float = 1.0
    num_negatives: int = 1
    sampler: Literal["ddpm", "posterior_mean"] = "ddpm"
    retrieval: Literal["inner_product", "neg_l2", "cosine", "centered_cosine"] = "inner_product"
    max_history: int = 20

    def __post_init__(self, **kwargs):
        misplaced = sorted(set(kwargs) & _backbone_only_options())
        if misplaced:
            # PreTrainedConfig keeps unknown keywords as attributes; these would be kept and never read, leaving a
            # user who asked for a wider or deeper backbone with the default one.
            listed = ", ".join(f"`{name}`" for name in misplaced)
            raise ValueError(
                f"{listed} {'is an option' if len(misplaced) == 1 else 'are options'} of DeftRec's backbone: pass "
                f"{'it' if len(misplaced) == 1 else 'them'} in `lm_config`, e.g. "
                f"DeftRecConfig(lm_config={{{', '.join(f'{name!r}: ...' for name in misplaced)}}})."
            )
        if isinstance(self.lm_config, dict):
            # A partial backbone dict keeps the DeftRec defaults for what it leaves out (notably the
            # minimal unused vocabulary); a saved config.json always holds every key.
            self.lm_config = {**_DEFAULT_LM_CONFIG, **self.lm_config}
        super().__post_init__(**kwargs)

    @property
    def sequence_length(self) -> int:
        """Backbone positions of a full row: ``max_history * K`` item tokens + the ``[USER]`` query."""
        return self.max_history * self.num_continuous_tokens + 1

    # ----------------------------------------------------------------------------------------------
    # Validation (class validators run by @strict)
    def validate_sizes(self):
        """Counts and widths are positive; the backbone is long enough for a full history."""
        for name in (
            "num_items",
            "item_vector_dim",
            "num_continuous_tokens",
            "tokenizer_hidden_size",
            "denoiser_hidden_size",
            "max_history",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
        if self.denoiser_hidden_size % 2:
            raise ValueError(
                f"`denoiser_hidden_size` must be even (sinusoidal timestep embedding), got {self.denoiser_hidden_size}."
            )
        if not isinstance(self.lm_config, MindRecConfig):
            raise ValueError(f"`lm_config` must be a MindRecConfig, got {type(self.lm_config).__name__}.")
        if self.lm_config.max_position_embeddings < self.sequence_length:
            raise ValueError(
                f"`lm_config.max_position_embeddings` ({self.lm_config.max_position_embeddings}) is shorter than "
                f"max_history * num_continuous_tokens + 1 = {self.max_history} * {self.num_continuous_tokens} + 1 "
                f"= {self.sequence_length}."
            )

    def validate_diffusion(self):
        """The DDPM schedule is well defined and sampling visits at most every training timestep."""
        if self.num_train_timesteps < 1:
            raise ValueError(f"`num_train_timesteps` must be >= 1, got {self.num_train_timesteps}.")
        if not 1 <= self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"`num_inference_steps` must be in [1, num_train_timesteps={self.num_train_timesteps}], "
                f"got {self.num_inference_steps}."
            )
        if not 0.0 < self.beta_start <= self.beta_end < 1.0:
            raise ValueError(
                f"Need 0 < beta_start <= beta_end < 1, got beta_start={self.beta_start}, beta_end={self.beta_end}."
            )

    def validate_objective(self):
        """Feature masking is a probability; the BPR term has negatives to work with."""
        if not 0.0 <= self.feature_mask_prob < 1.0:
            raise ValueError(f"`feature_mask_prob` must be in [0, 1), got {self.feature_mask_prob}.")
        if self.bpr_weight < 0:
            raise ValueError(f"`bpr_weight` must be >= 0, got {self.bpr_weight}.")
        if self.num_negatives < 0:
            raise ValueError(f"`num_negatives` must be >= 0, got {self.num_negatives}.")
        if self.bpr_weight > 0 and self.num_negatives < 1:
            raise ValueError(
                f"`bpr_weight` is {self.bpr_weight} but `num_negatives` is {self.num_negatives}: the BPR term "
                "needs at least one negative per row (or set bpr_weight=0)."
            )


__all__ = ["DeftRecConfig"]
