"""DeftRec: generative recommendation with continuous-token diffusion (DESIGN §6).

Reads top-down from small parts to large: the continuous item tokenizer, the timestep embedding,
the epsilon-prediction denoiser, the pre-trained base, then the recommender
(``DeftRecForRecommendation``):

1. every history item's collaborative vector becomes K continuous tokens (``ContinuousItemTokenizer``);
2. the MindRec backbone reads ``[tokens of item 1] ... [tokens of item H] [USER]`` through
   ``inputs_embeds``; the final hidden state at ``[USER]`` is the user condition;
3. a DDPM over item vectors, conditioned on it, is trained to denoise the target item's vector
   (MSE on the noise) and to denoise it better than the negatives' (a BPR term on the errors);
4. ``generate`` estimates the posterior-mean item vector from the user condition (or, with
   ``sampler="ddpm"``, samples one vector from noise) and retrieves the catalogue items scoring highest.

Remote code: imports only torch, transformers and single-dot relative imports.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import initialization as init
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import ModelOutput

from .catalogue_index import excluded_item_mask
from .configuration_deftrec import DeftRecConfig
from .modeling_mindrec import MindRecModel
from .scheduling_ddpm import DDPMSchedule

HISTORY_PADDING = -1


class ContinuousItemTokenizer(nn.Module):
    """Item vector ``[..., item_vector_dim]`` -> K continuous tokens ``[..., K, hidden_size]``.

    Additive K-way architecture: token ``k = base(v) + block_k(v)``, a projection shared by all
    tokens plus K parallel two-layer SiLU MLP blocks, each adding its own view of the item. The K
    blocks' weights are stacked (``[K, ...]``), so the K blocks run as one batched matmul and a
    checkpoint with another K fails to load with a size mismatch instead of silently dropping or
    re-initialising blocks. In training, each input feature is zeroed with probability
    ``feature_mask_prob`` (inverted-dropout scaling keeps the expected input unchanged), so the
    tokens do not hinge on any single collaborative dimension.

    Args:
        item_vector_dim: width of the input vectors.
        hidden_size: width of the tokens (the backbone's hidden size).
        num_tokens: K.
        intermediate_size: inner width of each block.
        feature_mask_prob: feature-masking probability in training, in ``[0, 1)``.
    """

    def __init__(
        self,
        item_vector_dim: int,
        hidden_size: int,
        num_tokens: int,
        intermediate_size: int,
        feature_mask_prob: float,
    ):
        super().__init__()
        self.num_tokens = num_tokens
        self.feature_mask_prob = feature_mask_prob
        self.base_proj = nn.Linear(item_vector_dim, hidden_size)
        self.up_weight = nn.Parameter(torch.empty(num_tokens, item_vector_dim, intermediate_size))
        self.up_bias = nn.Parameter(torch.empty(num_tokens, intermediate_size))
        self.down_weight = nn.Parameter(torch.empty(num_tokens, intermediate_size, hidden_size))
        self.down_bias = nn.Parameter(torch.empty(num_tokens, hidden_size))
        self.act_fn = nn.SiLU()

    def mask_features(
        self, item_vectors: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Zero each feature with probability ``feature_mask_prob`` and rescale the kept ones."""
        keep_prob = 1.0 - self.feature_mask_prob
        draws = torch.rand(item_vectors.shape, generator=generator, device=item_vectors.device)
        return item_vectors * (draws < keep_prob).to(item_vectors.dtype) / keep_prob

    def forward(
        self,
        item_vectors: torch.Tensor,
        feature_masking: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``item_vectors [..., item_vector_dim]`` -> tokens ``[..., K, hidden_size]``.

        ``feature_masking`` applies the training-time feature masking (draws from ``generator``).
        """
        if feature_masking and self.feature_mask_prob > 0:
            item_vectors = self.mask_features(item_vectors, generator)
        base = self.base_proj(item_vectors)  # [..., hidden]
        inner = self.act_fn(torch.einsum("...d,kdi->...ki", item_vectors, self.up_weight) + self.up_bias)
        blocks = (
            torch.einsum("...ki,kih->...kh", inner, self.down_weight) + self.down_bias
        )  # [..., K, hidden]
        return base.unsqueeze(-2) + blocks

    def extra_repr(self) -> str:
        num_tokens, vector_dim, inner = self.up_weight.shape
        return f"num_tokens={num_tokens}, in={vector_dim}, inner={inner}, feature_mask_prob={self.feature_mask_prob}"


class DeftRecTimestepEmbedding(nn.Module):
    """Diffusion timestep ``[N]`` -> ``[N, dim]``: sinusoidal features, then ``Linear-SiLU-Linear``."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.linear_1 = nn.Linear(dim, dim)
        self.linear_2 = nn.Linear(dim, dim)
        self.act_fn = nn.SiLU()

    def sinusoidal(self, timesteps: torch.Tensor) -> torch.Tensor:
        """Transformer-style features ``[sin(t w_i), cos(t w_i)]`` with ``w_i = 10000^(-i / (dim/2))``."""
        half = self.dim // 2
        exponent = torch.arange(half, dtype=torch.float32, device=timesteps.device) / half
        angles = timesteps.float()[:, None] * torch.exp(-math.log(10000.0) * exponent)[None]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        features = self.sinusoidal(timesteps).to(self.linear_1.weight.dtype)
        return self.linear_2(self.act_fn(self.linear_1(features)))


class DeftRecDenoiser(nn.Module):
    """Epsilon prediction ``eps(x_t, t, c)``: an MLP over ``[x_t, timestep embedding, condition]``.

    Args:
        item_vector_dim: width of ``x_t`` and of the output.
        condition_size: width of the user condition (the backbone's hidden size).
        hidden_size: width of the MLP and of the timestep embedding.
    """

    def __init__(self, item_vector_dim: int, condition_size: int, hidden_size: int):
        super().__init__()
        self.time_embedding = DeftRecTimestepEmbedding(hidden_size)
        self.in_proj = nn.Linear(item_vector_dim + hidden_size + condition_size, hidden_size)
        self.mid_proj = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, item_vector_dim)
        self.act_fn = nn.SiLU()

    def forward(self, sample: torch.Tensor, timesteps: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``sample [N, item_vector_dim]``, ``timesteps [N]``, ``condition [N, condition_size]`` -> ``[N, item_vector_dim]``."""
        features = torch.cat([sample, self.time_embedding(timesteps), condition], dim=-1)
        hidden = self.act_fn(self.in_proj(features))
        hidden = self.act_fn(self.mid_proj(hidden))
        return self.out_proj(hidden)


class DeftRecPreTrainedModel(PreTrainedModel):
    """Capability flags and weight initialisation of DeftRec models."""

    config_class = DeftRecConfig
    config: DeftRecConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["MindRecDecoderLayer"]
    _supports_sdpa = True
    _supports_attention_backend = True

    def _init_weights(self, module: nn.Module) -> None:
        """Normal(0, ``initializer_range``) weights and zero biases; item vectors N(0, 1) until set.

        ``transformers.initialization`` functions skip tensors already loaded from a checkpoint.
        """
        std = self.config.lm_config.initializer_range
        if isinstance(module, ContinuousItemTokenizer):
            init.normal_(module.up_weight, mean=0.0, std=std)
            init.zeros_(module.up_bias)
            init.normal_(module.down_weight, mean=0.0, std=std)
            init.zeros_(module.down_bias)
        elif isinstance(module, DeftRecForRecommendation):
            init.normal_(module.user_query, mean=0.0, std=std)
            init.normal_(module.item_vectors, mean=0.0, std=1.0)
            init.copy_(module.item_vector_scale, _inverse_rms(module.item_vectors))
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)


def _inverse_rms(vectors: torch.Tensor) -> torch.Tensor:
    """``1 / sqrt(mean(vectors^2))`` as a 0-d fp32 tensor (the global scale diffusion runs at)."""
    return vectors.float().pow(2).mean().rsqrt()


@dataclass
class DeftRecOutput(ModelOutput):
    """Output of :meth:`DeftRecForRecommendation.forward`.

    Attributes:
        loss: scalar ``mse_loss + bpr_weight * bpr_loss`` (when ``target_items`` were given).
        mse_loss: scalar mean squared error of the predicted noise on the target item vectors.
        bpr_loss: scalar ``mean(-log sigmoid(err_neg - err_pos))`` over rows and negatives (when
            ``negative_items`` were given).
        condition: ``[batch, hidden_size]`` the user condition (final hidden state at ``[USER]``).
    """

    loss: torch.FloatTensor | None = None
    mse_loss: torch.FloatTensor | None = None
    bpr_loss: torch.FloatTensor | None = None
    condition: torch.FloatTensor | None = None


@dataclass
class DeftRecGenerationOutput(ModelOutput):
    """Output of :meth:`DeftRecForRecommendation.generate`.

    Attributes:
        item_indices: ``[batch, K]`` int64 distinct catalogue items, best first.
        scores: ``[batch, K]`` fp32 retrieval scores (inner product, negative L2 distance, cosine or
            centered cosine).
        vectors: ``[batch, item_vector_dim]`` fp32 generated item vectors (in the item vectors' scale).
    """

    item_indices: torch.LongTensor | None = None
    scores: torch.FloatTensor | None = None
    vectors: torch.FloatTensor | None = None


class DeftRecForRecommendation(DeftRecPreTrainedModel):
    """DeftRec recommender: item tokenizer + MindRec backbone + ``[USER]`` query + DDPM denoiser.

    Input: ``history_items [batch, H]`` item indices, chronological, left-padded with -1,
    ``H <= max_history``. The backbone sequence is the K tokens of every history item then the
    ``[USER]`` query (``H * K + 1`` positions, padding masked, positions counted from the first item).

    Buffers: ``item_vectors [num_items, item_vector_dim]`` (set with :meth:`set_item_vectors`) and
    ``item_vector_scale`` (0-d, ``1 / RMS`` of the vectors): the diffusion, the tokenizer and the
    loss see ``item_vectors * item_vector_scale``; retrieval scores use the vectors as given.
    """

    _tied_weights_keys: dict[str, str] = {}

    def __init__(self, config: DeftRecConfig):
        super().__init__(config)
        hidden_size = config.lm_config.hidden_size
        self.model = MindRecModel(config.lm_config)
        self.item_tokenizer = ContinuousItemTokenizer(
            config.item_vector_dim,
            hidden_size,
            config.num_continuous_tokens,
            config.tokenizer_hidden_size,
            config.feature_mask_prob,
        )
        self.user_query = nn.Parameter(torch.empty(hidden_size))
        self.denoiser = DeftRecDenoiser(config.item_vector_dim, hidden_size, config.denoiser_hidden_size)
        self.register_buffer("item_vectors", torch.empty(config.num_items, config.item_vector_dim))
        self.register_buffer("item_vector_scale", torch.empty(()))
        self.noise_schedule = DDPMSchedule(config.num_train_timesteps, config.beta_start, config.beta_end)
        self.post_init()

    # ----------------------------------------------------------------------------------------------
    # Item vectors
    def set_item_vectors(self, vectors: torch.Tensor) -> None:
        """Install the catalogue's collaborative vectors ``[num_items, item_vector_dim]``.

        E.g. ``sasrec.item_embeddings.weight[:num_items]`` of a trained SASRec. Also sets the global
        scale at which diffusion runs. Raises ValueError on a wrong shape, non-finite or all-zero values.
        """
        expected = (self.config.num_items, self.config.item_vector_dim)
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2:
            shape = tuple(vectors.shape) if isinstance(vectors, torch.Tensor) else type(vectors).__name__
            raise ValueError(
                f"Item vectors must be a 2-D tensor [num_items, item_vector_dim] = {expected}, got {shape}."
            )
        if vectors.shape[0] != expected[0]:
            raise ValueError(
                f"Got {vectors.shape[0]} item vectors but the config has num_items={expected[0]} "
                "(one row per item index; drop a padding row if the source has one)."
            )
        if vectors.shape[1] != expected[1]:
            raise ValueError(
                f"Item vectors have dimension {vectors.shape[1]} but the config has item_vector_dim={expected[1]}."
            )
        if not bool(torch.isfinite(vectors).all()):
            row = int((~torch.isfinite(vectors)).any(-1).nonzero()[0])
            raise ValueError(f"Item vector of item {row} holds non-finite values.")
        if not bool(vectors.any()):
            raise ValueError("All item vectors are zero: there is nothing to generate or retrieve.")
        with torch.no_grad():
            self.item_vectors.copy_(vectors.detach().to(self.item_vectors.device, self.item_vectors.dtype))
            self.item_vector_scale.copy_(_inverse_rms(vectors.detach()).to(self.item_vector_scale.device))

    def scaled_item_vectors(self, items: torch.LongTensor) -> torch.Tensor:
        """Diffusion-space vectors ``[..., item_vector_dim]`` of valid item indices ``items [...]``."""
        return self.item_vectors[items] * self.item_vector_scale.to(self.item_vectors.dtype)

    # ----------------------------------------------------------------------------------------------
    # Input checks
    def _check_items(self, name: str, items: torch.Tensor, allow_padding: bool) -> None:
        if items.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"`{name}` must hold integer item indices, got dtype {items.dtype}.")
        low = HISTORY_PADDING if allow_padding else 0
        bad = (items < low) | (items >= self.config.num_items)
        if bool(bad.any()):
            position = tuple(int(i) for i in bad.nonzero()[0])
            allowed = f"[0, {self.config.num_items})" + (" or -1 (padding)" if allow_padding else "")
            raise ValueError(
                f"`{name}` at {position} holds item index {int(items[position])}, outside {allowed}."
            )

    def _check_history(self, history_items: torch.Tensor) -> None:
        if history_items.dim() != 2:
            raise ValueError(
                f"`history_items` must be [batch, history], got shape {tuple(history_items.shape)}."
            )
        if history_items.shape[1] > self.config.max_history:
            raise ValueError(
                f"`history_items` holds {history_items.shape[1]} items per row but max_history is "
                f"{self.config.max_history}; keep the most recent ones."
            )
        self._check_items("history_items", history_items, allow_padding=True)
        valid = history_items != HISTORY_PADDING
        if bool((valid[:, :-1] & ~valid[:, 1:]).any()):
            row = int((valid[:, :-1] & ~valid[:, 1:]).any(-1).nonzero()[0])
            raise ValueError(
                f"`history_items` row {row} is not left-padded (padding -1 after an item): {history_items[row].tolist()}."
            )
        if self.item_tokenizer.num_tokens != self.config.num_continuous_tokens:
            raise ValueError(
                f"The item tokenizer writes {self.item_tokenizer.num_tokens} continuous tokens per item but "
                f"config.num_continuous_tokens is {self.config.num_continuous_tokens}."
            )

    # ----------------------------------------------------------------------------------------------
    # User condition
    def encode_users(
        self,
        history_items: torch.LongTensor,
        feature_masking: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """User conditions ``[batch, hidden_size]``: the backbone's final hidden state at ``[USER]``.

        Args:
            history_items: ``[batch, H]`` left-padded with -1 (a row may be all padding).
            feature_masking: apply the tokenizer's training-time feature masking.
            generator: ``torch.Generator`` for the feature masking draws.
        """
        self._check_history(history_items)
        batch, num_history = history_items.shape
        valid = history_items != HISTORY_PADDING  # [B, H]
        vectors = self.scaled_item_vectors(history_items.clamp(min=0))  # [B, H, d_v]; padding reads item 0
        tokens = self.item_tokenizer(vectors, feature_masking=feature_masking, generator=generator)
        hidden_size = tokens.shape[-1]
        tokens = tokens.reshape(batch, num_history * self.config.num_continuous_tokens, hidden_size)
        query = self.user_query.to(tokens.dtype).expand(batch, 1, hidden_size)
        inputs_embeds = torch.cat([tokens, query], dim=1).to(self.model.embed_tokens.weight.dtype)
        attention_mask = torch.cat(
            [
                valid.repeat_interleave(self.config.num_continuous_tokens, dim=1),
                torch.ones(batch, 1, dtype=torch.bool, device=valid.device),
            ],
            dim=1,
        ).long()
        hidden = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
        return hidden[:, -1]

    # ----------------------------------------------------------------------------------------------
    # Training
    def forward(
        self,
        history_items: torch.LongTensor,
        target_items: torch.LongTensor | None = None,
        negative_items: torch.LongTensor | None = None,
        generator: torch.Generator | None = None,
    ) -> DeftRecOutput:
        """User conditions, and the negative-aware denoising loss when ``target_items`` are given.

        For each row: ``t ~ U{0..T-1}``, ``eps ~ N(0, I)``; the target vector ``x_0`` is noised to
        ``x_t`` and ``err_pos = mean_d (eps_hat - eps)^2`` (``prediction_type="epsilon"``) or
        ``mean_d (x_0_hat - x_0)^2`` (``"sample"``); every negative's vector is noised with the same
        ``t`` and ``eps`` and gives ``err_neg`` likewise (same condition). Then
        ``mse_loss = mean(err_pos)``, ``bpr_loss = mean(-log sigmoid(err_neg - err_pos))`` and
        ``loss = mse_loss + bpr_weight * bpr_loss``.

        Args:
            history_items: ``[batch, H]`` item indices, left-padded with -1.
            target_items: ``[batch]`` next-item indices.
            negative_items: ``[batch, N]`` negative item indices (needed when ``bpr_weight > 0``).
            generator: ``torch.Generator`` on the inputs' device for every random draw (feature
                masking, timesteps, noise).
        """
        condition = self.encode_users(history_items, feature_masking=self.training, generator=generator)
        if target_items is None:
            if negative_items is not None:
                raise ValueError("`negative_items` only apply with `target_items`.")
            return DeftRecOutput(condition=condition)

        batch = history_items.shape[0]
        if target_items.shape != (batch,):
            raise ValueError(
                f"`target_items` must be [batch={batch}], got shape {tuple(target_items.shape)}."
            )
        self._check_items("target_items", target_items, allow_padding=False)
        device = condition.device
        x_0 = self.scaled_item_vectors(target_items).to(condition.dtype)  # [B, d_v]
        timesteps = torch.randint(
            0, self.config.num_train_timesteps, (batch,), generator=generator, device=device
        )
        noise = torch.randn(x_0.shape, generator=generator, device=device, dtype=x_0.dtype)
        x_t = self.noise_schedule.add_noise(x_0, noise, timesteps)
        sample_prediction = self.config.prediction_type == "sample"
        target = x_0 if sample_prediction else noise
        err_pos = (self.denoiser(x_t, timesteps, condition) - target).float().pow(2).mean(-1)  # [B]
        mse_loss = err_pos.mean()

        bpr_loss = None
        if negative_items is not None and negative_items.numel():
            if negative_items.dim() != 2 or negative_items.shape[0] != batch:
                raise ValueError(
                    f"`negative_items` must be [batch={batch}, num_negatives], got shape {tuple(negative_items.shape)}."
                )
            self._check_items("negative_items", negative_items, allow_padding=False)
            num_negatives = negative_items.shape[1]
            neg_x_0 = self.scaled_item_vectors(negative_items).to(condition.dtype).flatten(0, 1)  # [B*N, d_v]
            neg_noise = noise.repeat_interleave(num_negatives, dim=0)
            neg_timesteps = timesteps.repeat_interleave(num_negatives, dim=0)
            neg_x_t = self.noise_schedule.add_noise(neg_x_0, neg_noise, neg_timesteps)
            neg_output = self.denoiser(neg_x_t, neg_timesteps, condition.repeat_interleave(num_negatives, dim=0))
            neg_target = neg_x_0 if sample_prediction else neg_noise
            err_neg = (neg_output - neg_target).float().pow(2).mean(-1).view(batch, num_negatives)
            bpr_loss = -nn.functional.logsigmoid(err_neg - err_pos[:, None]).mean()
        elif self.config.bpr_weight > 0:
            raise ValueError(
                f"bpr_weight is {self.config.bpr_weight} but no `negative_items` were given "
                "(use DeftRecCollator with num_negatives >= 1, or set bpr_weight=0)."
            )

        loss = mse_loss if bpr_loss is None else mse_loss + self.config.bpr_weight * bpr_loss
        return DeftRecOutput(loss=loss, mse_loss=mse_loss, bpr_loss=bpr_loss, condition=condition)

    # ----------------------------------------------------------------------------------------------
    # Generation
    def sample_vectors(
        self,
        condition: torch.Tensor,
        generator: torch.Generator | None = None,
        num_inference_steps: int | None = None,
    ) -> torch.Tensor:
        """DDPM sampling from ``N(0, I)`` to ``x_0`` given conditions ``[batch, hidden]``.

        Returns fp32 vectors ``[batch, item_vector_dim]`` in the item vectors' own scale.
        """
        steps = self.config.num_inference_steps if num_inference_steps is None else num_inference_steps
        schedule = DDPMSchedule(self.config.num_train_timesteps, self.config.beta_start, self.config.beta_end)
        schedule.set_timesteps(steps)
        batch, device = condition.shape[0], condition.device
        sample = torch.randn(batch, self.config.item_vector_dim, generator=generator, device=device)
        for timestep in schedule.timesteps.tolist():
            eps = self.predicted_noise(sample, timestep, condition)
            sample = schedule.step(eps, timestep, sample, generator=generator).prev_sample
        return sample / self.item_vector_scale.float()

    def denoiser_output(self, sample: torch.Tensor, timestep: int, condition: torch.Tensor) -> torch.Tensor:
        """The denoiser's fp32 output ``[batch, d_v]`` (``eps_hat`` or ``x_0_hat``, per ``prediction_type``) at
        ``x_t = sample [batch, d_v]``, one timestep for the batch."""
        dtype = self.denoiser.out_proj.weight.dtype
        timesteps = torch.full((sample.shape[0],), timestep, dtype=torch.long, device=sample.device)
        return self.denoiser(sample.to(dtype), timesteps, condition.to(dtype)).float()

    def predicted_noise(self, sample: torch.Tensor, timestep: int, condition: torch.Tensor) -> torch.Tensor:
        """fp32 ``eps_hat [batch, d_v]`` at ``x_t = sample [batch, d_v]`` (diffusion scale), one timestep for
        the batch; a ``"sample"`` model's ``x_0_hat`` becomes ``(x_t - sqrt(ab) x_0_hat) / sqrt(1 - ab)``."""
        output = self.denoiser_output(sample, timestep, condition)
        if self.config.prediction_type == "epsilon":
            return output
        alpha_bar = self.noise_schedule.alpha_bar(timestep)
        return (sample.float() - alpha_bar**0.5 * output) / (1.0 - alpha_bar) ** 0.5

    def posterior_mean_vectors(self, condition: torch.Tensor) -> torch.Tensor:
        """The denoiser's estimate of ``E[x_0 | condition]``: fp32 ``[batch, item_vector_dim]`` in the item
        vectors' own scale.

        At the last training timestep ``T-1`` the noisy sample carries almost no trace of ``x_0``
        (``alpha_bar[T-1]`` ~ 4e-5 for the default schedule), so the denoiser's ``x_0`` estimate there,
        taken at the prior's mean ``x_T = 0``, is a function of the condition alone: the output of a
        ``"sample"`` model, or ``-sqrt(1 - ab) eps_hat(0, T-1, c) / sqrt(ab)`` of an ``"epsilon"`` one
        (which divides the condition's tiny share of ``eps_hat`` by ``sqrt(ab)`` ~ 0.006). One
        deterministic denoiser call.
        """
        last = self.config.num_train_timesteps - 1
        sample = torch.zeros(condition.shape[0], self.config.item_vector_dim, device=condition.device)
        if self.config.prediction_type == "sample":
            x_0 = self.denoiser_output(sample, last, condition)  # the estimate itself: no round trip via eps_hat
        else:
            alpha_bar = self.noise_schedule.alpha_bar(last)
            x_0 = -((1.0 - alpha_bar) ** 0.5) * self.predicted_noise(sample, last, condition) / alpha_bar**0.5
        return x_0 / self.item_vector_scale.float()

    def retrieval_scores(self, vectors: torch.Tensor) -> torch.FloatTensor:
        """fp32 scores ``[batch, num_items]`` of every catalogue item against ``vectors [batch, d_v]``."""
        catalogue = self.item_vectors.float()
        vectors = vectors.float()
        if self.config.retrieval == "inner_product":
            return vectors @ catalogue.T
        if self.config.retrieval == "centered_cosine":
            # The catalogue mean is a direction every item shares (and so does a mean-like generated
            # vector); removing it leaves the part that tells items apart.
            mean = catalogue.mean(0)
            vectors, catalogue = vectors - mean, catalogue - mean
        if self.config.retrieval in ("cosine", "centered_cosine"):
            return nn.functional.normalize(vectors, dim=-1) @ nn.functional.normalize(catalogue, dim=-1).T
        return -torch.cdist(vectors, catalogue)

    @torch.no_grad()
    def generate(
        self,
        history_items: torch.LongTensor,
        num_return_items: int = 10,
        exclude_history: bool = True,
        generator: torch.Generator | None = None,
        num_inference_steps: int | None = None,
    ) -> DeftRecGenerationOutput:
        """Recommend ``num_return_items`` distinct catalogue items per user.

        Generates an item vector per user as ``config.sampler`` says -- the posterior-mean estimate
        (deterministic) or one DDPM sample conditioned on the user (``num_inference_steps``, default
        ``config.num_inference_steps``, evenly strided over the training chain) -- then ranks all
        catalogue items by ``config.retrieval`` against it. Feature masking is never applied here.

        Args:
            history_items: ``[batch, H]`` item indices, left-padded with -1.
            num_return_items: K items per user; ``1 <= K <= num_items`` (minus the history when excluded).
            exclude_history: never return an item of the user's history.
            generator: ``torch.Generator`` on the inputs' device (initial noise and sampling noise of
                the DDPM sampler; the posterior mean draws nothing).
            num_inference_steps: DDPM sampling steps (``sampler="ddpm"`` only).
        """
        num_items = self.config.num_items
        if not 1 <= num_return_items <= num_items:
            raise ValueError(
                f"`num_return_items` must be in [1, num_items={num_items}], got {num_return_items}."
            )
        if self.config.sampler != "ddpm" and num_inference_steps is not None:
            raise ValueError(
                f"`num_inference_steps` applies to sampler='ddpm' only; this model's sampler is "
                f"{self.config.sampler!r} (one deterministic denoiser call)."
            )
        condition = self.encode_users(history_items)
        if self.config.sampler == "ddpm":
            vectors = self.sample_vectors(condition, generator=generator, num_inference_steps=num_inference_steps)
        else:
            vectors = self.posterior_mean_vectors(condition)
        scores = self.retrieval_scores(vectors)  # [B, I]
        if exclude_history and history_items.shape[1]:
            excluded = excluded_item_mask(history_items, 0, num_items)  # padding (-1) excludes nothing
            available = num_items - excluded.sum(1)
            if bool((available < num_return_items).any()):
                row = int((available < num_return_items).nonzero()[0])
                raise ValueError(
                    f"Row {row} leaves {int(available[row])} items once its history is excluded, fewer than "
                    f"num_return_items={num_return_items}."
                )
            scores = scores.masked_fill(excluded, float("-inf"))
        top_scores, top_items = scores.topk(num_return_items, dim=1)
        return DeftRecGenerationOutput(item_indices=top_items, scores=top_scores, vectors=vectors)


__all__ = [
    "ContinuousItemTokenizer",
    "DeftRecDenoiser",
    "DeftRecForRecommendation",
    "DeftRecGenerationOutput",
    "DeftRecOutput",
    "DeftRecPreTrainedModel",
]
