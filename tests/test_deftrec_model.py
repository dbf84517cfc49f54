"""DeftRec: config, tokenizer, loss, sampling on a toy, retrieval, errors, save/load and remote code."""

import json
import math

import pytest
import torch
from remote_loading import run_without_mindrec
from transformers import AutoConfig, AutoModel

from mindrec.modeling.configuration_deftrec import DeftRecConfig
from mindrec.modeling.modeling_deftrec import ContinuousItemTokenizer, DeftRecForRecommendation
from mindrec.training.deftrec_collator import DeftRecCollator

# Until mindrec.modeling registers DeftRec itself (idempotent, so harmless afterwards).
AutoConfig.register(DeftRecConfig.model_type, DeftRecConfig, exist_ok=True)
AutoModel.register(DeftRecConfig, DeftRecForRecommendation, exist_ok=True)
DeftRecConfig.register_for_auto_class()
DeftRecForRecommendation.register_for_auto_class("AutoModel")

TINY_LM = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)



def tiny_config(**overrides) -> DeftRecConfig:
    """hidden 32, 2 layers, 20 items, vector dim 8, K = 2, histories of at most 5 items."""
    kwargs = dict(
        lm_config=dict(TINY_LM),
        num_items=20,
        item_vector_dim=8,
        num_continuous_tokens=2,
        tokenizer_hidden_size=16,
        denoiser_hidden_size=32,
        max_history=5,
        num_negatives=2,
        num_inference_steps=20,
    )
    kwargs.update(overrides)
    return DeftRecConfig(**kwargs)


def tiny_model(seed: int = 0, **overrides) -> DeftRecForRecommendation:
    torch.manual_seed(seed)
    model = DeftRecForRecommendation(tiny_config(**overrides)).eval()
    model.set_item_vectors(3.0 * torch.randn(20, 8, generator=torch.Generator().manual_seed(seed)))
    return model


HISTORY = torch.tensor([[-1, -1, 3, 4, 5], [1, 2, 3, 4, 5], [-1, -1, -1, -1, -1]])


# --------------------------------------------------------------------------------------------------
# Config
def test_config_defaults_and_round_trip():
    config = DeftRecConfig()
    assert config.lm_config.hidden_size == 128 and config.lm_config.vocab_size == 8
    assert (config.num_train_timesteps, config.num_inference_steps) == (1000, 100)
    assert (config.beta_start, config.beta_end, config.num_continuous_tokens) == (1e-4, 0.02, 2)
    # The published DeftRec (and how a config saved before these fields loads); mindrec trains the fix.
    assert (config.sampler, config.prediction_type, config.retrieval) == ("ddpm", "epsilon", "inner_product")
    partial = tiny_config()
    assert partial.lm_config.vocab_size == 8 and partial.lm_config.hidden_size == 32  # completed from defaults
    again = DeftRecConfig.from_dict(partial.to_dict())
    assert again.to_dict() == partial.to_dict()
    assert type(again.lm_config).__name__ == "MindRecConfig"


def test_backbone_options_given_to_deftrec_itself_are_refused():
    # PreTrainedConfig would keep them as attributes nobody reads: the backbone would stay 128 wide.
    with pytest.raises(ValueError, match=r"^`hidden_size` is an option of DeftRec's backbone: pass it in `lm_config`, "
                                         r"e\.g\. DeftRecConfig\(lm_config=\{'hidden_size': \.\.\.\}\)\.$"):
        DeftRecConfig(hidden_size=256)
    with pytest.raises(ValueError, match=r"^`num_attention_heads`, `num_hidden_layers` are options of DeftRec's backbone"):
        DeftRecConfig(num_hidden_layers=4, num_attention_heads=8)
    assert DeftRecConfig(lm_config={"hidden_size": 64}).lm_config.hidden_size == 64
    # Options every config shares still pass through, as PreTrainedConfig intends.
    assert DeftRecConfig(pad_token_id=0).pad_token_id == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(num_inference_steps=1001), r"`num_inference_steps` must be in \[1, num_train_timesteps=1000\], got 1001"),
        (dict(beta_start=0.03), r"beta_start=0.03, beta_end=0.02"),
        (dict(feature_mask_prob=1.0), r"`feature_mask_prob` must be in \[0, 1\), got 1.0"),
        (dict(bpr_weight=0.5, num_negatives=0), "`bpr_weight` is 0.5 but `num_negatives` is 0"),
        (dict(num_items=0), "`num_items` must be >= 1, got 0"),
        (dict(denoiser_hidden_size=33), "`denoiser_hidden_size` must be even"),
        (dict(max_history=40), r"max_position_embeddings` \(64\) is shorter than .* = 81"),
        (dict(retrieval="dot"), "retrieval"),
        (dict(sampler="ddim"), "sampler"),
        (dict(prediction_type="v_prediction"), "prediction_type"),
    ],
)
def test_config_errors_quote_the_bad_values(overrides, message):
    with pytest.raises(Exception, match=message):
        tiny_config(**overrides)


# --------------------------------------------------------------------------------------------------
# Tokenizer
def test_tokenizer_is_a_shared_base_plus_k_blocks():
    tokenizer = ContinuousItemTokenizer(8, 32, num_tokens=3, intermediate_size=16, feature_mask_prob=0.5)
    for parameter in tokenizer.parameters():
        torch.nn.init.normal_(parameter)
    vectors = torch.randn(4, 5, 8)
    tokens = tokenizer(vectors)
    assert tokens.shape == (4, 5, 3, 32)
    base = tokenizer.base_proj(vectors)
    for k in range(3):
        block = tokenizer.act_fn(vectors @ tokenizer.up_weight[k] + tokenizer.up_bias[k]) @ tokenizer.down_weight[k]
        torch.testing.assert_close(tokens[..., k, :], base + block + tokenizer.down_bias[k])


def test_feature_masking_zeroes_features_and_keeps_the_expectation():
    tokenizer = ContinuousItemTokenizer(8, 32, num_tokens=2, intermediate_size=16, feature_mask_prob=0.25)
    for parameter in tokenizer.parameters():  # outside a PreTrainedModel nothing initialises them
        torch.nn.init.normal_(parameter)
    masked = tokenizer.mask_features(torch.ones(100_000), generator=torch.Generator().manual_seed(0))
    assert masked.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert (masked == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    vectors = torch.randn(3, 8)
    torch.testing.assert_close(tokenizer(vectors), tokenizer(vectors, feature_masking=False))
    assert not torch.allclose(tokenizer(vectors), tokenizer(vectors, feature_masking=True))


def test_feature_masking_applies_in_training_only():
    model = tiny_model(feature_mask_prob=0.5)
    evaluated = model(HISTORY).condition
    model.train()
    trained = model(HISTORY, generator=torch.Generator().manual_seed(0)).condition
    assert not torch.allclose(evaluated, trained)
    unmasked = tiny_model(feature_mask_prob=0.0).train()
    torch.testing.assert_close(unmasked(HISTORY).condition, tiny_model(feature_mask_prob=0.0)(HISTORY).condition)


# --------------------------------------------------------------------------------------------------
# Conditioning and loss
def test_condition_ignores_left_padding():
    model = tiny_model()
    wide = model(torch.tensor([[-1, -1, -1, 3, 4], [1, 2, 3, 4, 5]])).condition
    narrow = model(torch.tensor([[3, 4]])).condition
    torch.testing.assert_close(wide[0], narrow[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(wide[0], wide[1])


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample"])
def test_loss_is_the_noise_mse_plus_weighted_bpr(prediction_type):
    """The MSE (and the BPR term's errors) are on the noise for an epsilon model, on x_0 for a sample model."""
    model = tiny_model(bpr_weight=0.3, prediction_type=prediction_type)
    targets, negatives = torch.tensor([1, 6, 7]), torch.tensor([[2, 3], [8, 9], [0, 19]])
    out = model(HISTORY, targets, negatives, generator=torch.Generator().manual_seed(4))
    # Replay the draws: timesteps, then noise, from the same seed (eval mode: no feature masking).
    generator = torch.Generator().manual_seed(4)
    condition = model.encode_users(HISTORY)
    timesteps = torch.randint(0, 1000, (3,), generator=generator)
    noise = torch.randn(3, 8, generator=generator)
    scale = model.item_vector_scale

    def errors(items):
        x_0 = model.item_vectors[items] * scale
        x_t = model.noise_schedule.add_noise(x_0, noise, timesteps)
        target = noise if prediction_type == "epsilon" else x_0
        return (model.denoiser(x_t, timesteps, condition) - target).pow(2).mean(-1)

    err_pos = errors(targets)
    err_neg = torch.stack([errors(negatives[:, j]) for j in range(2)], dim=1)
    bpr = -torch.nn.functional.logsigmoid(err_neg - err_pos[:, None]).mean()
    torch.testing.assert_close(out.mse_loss, err_pos.mean())
    torch.testing.assert_close(out.bpr_loss, bpr)
    torch.testing.assert_close(out.loss, err_pos.mean() + 0.3 * bpr)
    torch.testing.assert_close(out.condition, condition)


def test_bpr_is_log2_when_negatives_equal_the_target():
    model = tiny_model()
    targets = torch.tensor([1, 6, 7])
    out = model(HISTORY, targets, targets[:, None].repeat(1, 3), generator=torch.Generator().manual_seed(0))
    assert out.bpr_loss.item() == pytest.approx(math.log(2), abs=1e-6)


def test_collator_batches_feed_the_model():
    """The training loop's contract: ``model(**collator(rows)).loss`` and ``generate(history_items=...)``."""
    model = tiny_model().train()
    collator = DeftRecCollator(num_items=20, max_history=5, num_negatives=2, seed=0)
    rows = [{"user_id": "a", "history": [1, 2, 3, 4, 5, 6, 7], "target": 8}, {"user_id": "b", "history": [], "target": 0}]
    loss = model(**collator(rows), generator=torch.Generator().manual_seed(0)).loss
    assert loss.ndim == 0 and torch.isfinite(loss)
    empty = collator([{"user_id": "c", "history": [], "target": 1}])
    assert empty["history_items"].shape == (1, 0)
    assert model(**empty).loss.ndim == 0
    out = model.generate(history_items=empty["history_items"], num_return_items=20)
    assert sorted(out.item_indices[0].tolist()) == list(range(20))


def test_loss_backpropagates_to_every_trained_part():
    model = tiny_model().train()
    out = model(HISTORY, torch.tensor([1, 6, 7]), torch.tensor([[2, 3], [8, 9], [0, 19]]), generator=torch.Generator())
    out.loss.backward()
    for name in ("user_query", "item_tokenizer.up_weight", "item_tokenizer.base_proj.weight",
                 "model.layers.0.self_attn.q_proj.weight", "denoiser.in_proj.weight"):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    assert not any(name.startswith("item_vector") for name, _ in model.named_parameters())


@pytest.mark.parametrize(
    ("sampler", "prediction_type"), [("ddpm", "epsilon"), ("ddpm", "sample"), ("posterior_mean", "sample")]
)
def test_sampler_learns_each_groups_target_vector(sampler, prediction_type):
    """Toy: users who saw items 4..11 next take item 1, users who saw 12..19 take item 2. After a few
    hundred steps the generated vectors sit near their group's target (far nearer than the initial
    noise, unlike the untrained model's) and retrieval ranks that target first."""
    model = tiny_model(seed=0, num_negatives=1, num_inference_steps=50, retrieval="neg_l2", sampler=sampler,
                       prediction_type=prediction_type)
    generator = torch.Generator().manual_seed(0)

    def batch(size):
        group = torch.randint(0, 2, (size,), generator=generator)
        history = torch.randint(0, 8, (size, 4), generator=generator) + 4 + 8 * group[:, None]
        return history, 1 + group, (2 - group)[:, None]

    history, targets, _ = batch(16)
    target_vectors = model.item_vectors[targets]
    initial = torch.randn(16, 8, generator=torch.Generator().manual_seed(5)) / model.item_vector_scale
    start = (initial - target_vectors).norm(dim=-1).mean()
    untrained = model.generate(history, num_return_items=1, generator=torch.Generator().manual_seed(5))
    if prediction_type == "epsilon":  # untrained, it only adds noise; an untrained x_0 model predicts ~0
        assert (untrained.vectors - target_vectors).norm(dim=-1).mean() > start
    else:
        assert (untrained.vectors - target_vectors).norm(dim=-1).mean() > 0.5 * start

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(200):
        loss = model(*batch(32), generator=generator).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    out = model.generate(history, num_return_items=3, generator=torch.Generator().manual_seed(5))
    assert (out.vectors - target_vectors).norm(dim=-1).mean() < 0.3 * start
    assert out.item_indices[:, 0].tolist() == targets.tolist()


# --------------------------------------------------------------------------------------------------
# Generation and retrieval
@pytest.mark.parametrize("retrieval", ["inner_product", "neg_l2", "cosine", "centered_cosine"])
def test_generate_returns_distinct_valid_items_excluding_history(retrieval):
    model = tiny_model(retrieval=retrieval)
    out = model.generate(HISTORY, num_return_items=15, generator=torch.Generator().manual_seed(1))
    assert out.item_indices.shape == out.scores.shape == (3, 15)
    assert out.scores.dtype == torch.float32 and out.vectors.shape == (3, 8)
    for row, items in enumerate(out.item_indices.tolist()):
        assert len(set(items)) == 15 and all(0 <= i < 20 for i in items)
        assert not set(items) & set(HISTORY[row].tolist())
    assert bool((out.scores[:, :-1] >= out.scores[:, 1:]).all())
    catalogue = model.item_vectors
    expected = {
        "inner_product": lambda: out.vectors @ catalogue.T,
        "neg_l2": lambda: -torch.cdist(out.vectors, catalogue),
        "cosine": lambda: (out.vectors @ catalogue.T) / out.vectors.norm(dim=1)[:, None] / catalogue.norm(dim=1),
        "centered_cosine": lambda: torch.nn.functional.cosine_similarity(
            (out.vectors - catalogue.mean(0))[:, None], (catalogue - catalogue.mean(0))[None], dim=-1
        ),
    }[retrieval]()
    torch.testing.assert_close(out.scores, expected.gather(1, out.item_indices))
    # Every item left out of the list scores no higher than the last one returned (history aside).
    left_out = torch.ones(3, 20, dtype=torch.bool).scatter_(1, out.item_indices, False)
    left_out[0, [3, 4, 5]] = left_out[1, [1, 2, 3, 4, 5]] = False
    assert bool((expected.masked_fill(~left_out, -math.inf).max(1).values <= out.scores[:, -1]).all())


def test_generate_may_return_history_when_not_excluded():
    model = tiny_model()
    out = model.generate(HISTORY, num_return_items=20, exclude_history=False, generator=torch.Generator())
    assert sorted(out.item_indices[0].tolist()) == list(range(20))


def test_generate_is_reproducible_and_batched():
    model = tiny_model(sampler="ddpm")
    first = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(3))
    second = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first.vectors, second.vectors, atol=0, rtol=0)
    assert torch.equal(first.item_indices, second.item_indices)
    other = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(4))
    assert not torch.allclose(first.vectors, other.vectors)


def test_posterior_mean_is_the_x0_estimate_at_the_last_timestep_from_zero():
    """x_0_hat = -sqrt(1 - ab) eps_hat(0, T-1, c) / sqrt(ab), in the item vectors' own scale; no noise is
    drawn, so any generator gives the same vectors and lists, and a row's result does not depend on its batch."""
    model = tiny_model(sampler="posterior_mean")
    condition = model.encode_users(HISTORY)
    alpha_bar = model.noise_schedule.alpha_bar(999)
    eps = model.denoiser(torch.zeros(3, 8), torch.full((3,), 999), condition)
    expected = -math.sqrt(1 - alpha_bar) * eps / math.sqrt(alpha_bar) / model.item_vector_scale
    torch.testing.assert_close(model.posterior_mean_vectors(condition), expected)
    first = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(3))
    second = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(first.vectors, expected)
    assert torch.equal(first.vectors, second.vectors) and torch.equal(first.item_indices, second.item_indices)
    alone = model.generate(HISTORY[1:2], num_return_items=5)
    torch.testing.assert_close(alone.vectors, first.vectors[1:2])


def test_sample_model_posterior_mean_is_its_output_and_its_noise_estimate_inverts_it():
    """A "sample" model's posterior mean is the denoiser's output at (x_T = 0, T-1, c); the noise estimate the
    DDPM steps use is (x_t - sqrt(ab) x_0_hat) / sqrt(1 - ab), which maps back to the same x_0_hat."""
    model = tiny_model(prediction_type="sample", sampler="posterior_mean")
    condition = model.encode_users(HISTORY)
    x_0_hat = model.denoiser(torch.zeros(3, 8), torch.full((3,), 999), condition)
    torch.testing.assert_close(model.posterior_mean_vectors(condition), x_0_hat / model.item_vector_scale)
    x_t = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    eps = model.predicted_noise(x_t, 400, condition)
    alpha_bar = model.noise_schedule.alpha_bar(400)
    output = model.denoiser(x_t, torch.full((3,), 400), condition)
    torch.testing.assert_close(eps, (x_t - math.sqrt(alpha_bar) * output) / math.sqrt(1 - alpha_bar))
    torch.testing.assert_close((x_t - math.sqrt(1 - alpha_bar) * eps) / math.sqrt(alpha_bar), output)


def test_centered_cosine_ignores_a_shift_shared_by_the_catalogue_and_the_query():
    """Adding one vector to every item and to the query changes no centered-cosine score (it does change cosine)."""
    model = tiny_model(retrieval="centered_cosine")
    query = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    before = model.retrieval_scores(query)
    shift = 10.0 * torch.ones(8)
    model.set_item_vectors(model.item_vectors + shift)
    torch.testing.assert_close(model.retrieval_scores(query + shift), before)
    assert before.max() <= 1.0 + 1e-6 and before.min() >= -1.0 - 1e-6


def test_posterior_mean_inner_product_ranks_by_the_expected_score_of_the_samples():
    """With inner-product retrieval, scoring against the mean vector is scoring by the mean of the scores
    against each sample (linearity): the posterior mean ranks as the average over many DDPM draws would."""
    model = tiny_model()
    samples = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        model.retrieval_scores(samples.mean(0, keepdim=True)),
        model.retrieval_scores(samples).mean(0, keepdim=True),
    )


def test_generate_errors():
    with pytest.raises(ValueError, match="`num_inference_steps` applies to sampler='ddpm' only"):
        tiny_model(sampler="posterior_mean").generate(HISTORY, num_inference_steps=5)
    model = tiny_model()
    with pytest.raises(ValueError, match=r"`num_return_items` must be in \[1, num_items=20\], got 21"):
        model.generate(HISTORY, num_return_items=21)
    with pytest.raises(ValueError, match="Row 1 leaves 15 items once its history is excluded, fewer than num_return_items=16"):
        model.generate(HISTORY, num_return_items=16)


# --------------------------------------------------------------------------------------------------
# Input errors
def test_history_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"`history_items` at \(0, 1\) holds item index 20, outside \[0, 20\) or -1"):
        model(torch.tensor([[1, 20]]))
    with pytest.raises(ValueError, match=r"at \(1, 0\) holds item index -2"):
        model(torch.tensor([[1, 2], [-2, 3]]))
    with pytest.raises(ValueError, match=r"row 0 is not left-padded .*\[1, -1, 2\]"):
        model(torch.tensor([[1, -1, 2]]))
    with pytest.raises(ValueError, match="holds 6 items per row but max_history is 5"):
        model(torch.zeros(1, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="must hold integer item indices"):
        model(torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"must be \[batch, history\], got shape \(3,\)"):
        model(torch.tensor([1, 2, 3]))


def test_target_and_negative_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"`target_items` at \(2,\) holds item index 20, outside \[0, 20\)\."):
        model(HISTORY, torch.tensor([1, 2, 20]), torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"`target_items` must be \[batch=3\], got shape \(2,\)"):
        model(HISTORY, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"`negative_items` at \(0, 0\) holds item index -1"):
        model(HISTORY, torch.tensor([1, 2, 3]), torch.tensor([[-1], [0], [0]]))
    with pytest.raises(ValueError, match=r"`negative_items` must be \[batch=3, num_negatives\], got shape \(3,\)"):
        model(HISTORY, torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6]))
    with pytest.raises(ValueError, match="bpr_weight is 1.0 but no `negative_items` were given"):
        model(HISTORY, torch.tensor([1, 2, 3]))
    without_bpr = tiny_model(bpr_weight=0.0, num_negatives=0)
    out = without_bpr(HISTORY, torch.tensor([1, 2, 3]), torch.zeros(3, 0, dtype=torch.long))
    assert out.bpr_loss is None and torch.equal(out.loss, out.mse_loss)


def test_item_vector_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match="dimension 9 but the config has item_vector_dim=8"):
        model.set_item_vectors(torch.randn(20, 9))
    with pytest.raises(ValueError, match="Got 21 item vectors but the config has num_items=20"):
        model.set_item_vectors(torch.randn(21, 8))
    with pytest.raises(ValueError, match=r"2-D tensor .* got \(20,\)"):
        model.set_item_vectors(torch.randn(20))
    bad = torch.randn(20, 8)
    bad[7, 2] = float("nan")
    with pytest.raises(ValueError, match="item 7 holds non-finite values"):
        model.set_item_vectors(bad)
    with pytest.raises(ValueError, match="All item vectors are zero"):
        model.set_item_vectors(torch.zeros(20, 8))


def test_item_vectors_set_the_diffusion_scale():
    model = tiny_model()
    vectors = torch.full((20, 8), 4.0)
    vectors[0] = -4.0
    model.set_item_vectors(vectors)
    assert torch.equal(model.item_vectors, vectors) and model.item_vector_scale.item() == 0.25


def test_tokenizer_with_another_k_is_rejected():
    model = tiny_model()
    model.item_tokenizer = ContinuousItemTokenizer(8, 32, num_tokens=3, intermediate_size=16, feature_mask_prob=0.0)
    with pytest.raises(ValueError, match="writes 3 continuous tokens per item but config.num_continuous_tokens is 2"):
        model(HISTORY)


@pytest.mark.parametrize(("key", "value"), [("num_continuous_tokens", 3), ("num_items", 21), ("item_vector_dim", 9)])
def test_checkpoint_with_another_k_or_catalogue_fails_to_load(tmp_path, key, value):
    """K blocks are stacked and item vectors are a persistent buffer: a mismatch is a size error."""
    tiny_model().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config[key] = value
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        DeftRecForRecommendation.from_pretrained(tmp_path)


# --------------------------------------------------------------------------------------------------
# Save / load
def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    # Not the defaults: the reloaded model generates alike only if the three settings round-trip.
    model = tiny_model(seed=2, sampler="posterior_mean", prediction_type="sample", retrieval="cosine")
    model.save_pretrained(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "model.safetensors", "configuration_deftrec.py", "modeling_deftrec.py",
            "scheduling_ddpm.py", "configuration_mindrec.py", "modeling_mindrec.py"} <= names
    assert json.loads((tmp_path / "config.json").read_text())["auto_map"] == {
        "AutoConfig": "configuration_deftrec.DeftRecConfig",
        "AutoModel": "modeling_deftrec.DeftRecForRecommendation",
    }
    for loaded in (DeftRecForRecommendation.from_pretrained(tmp_path), AutoModel.from_pretrained(tmp_path)):
        assert type(loaded) is DeftRecForRecommendation
        loaded.eval()
        for name, tensor in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[name], tensor), name
        for seed in (0, 1):
            expected = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(seed))
            got = loaded.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(seed))
            for key in ("item_indices", "scores", "vectors"):
                torch.testing.assert_close(got[key], expected[key], atol=0, rtol=0)


def test_remote_code_load_without_mindrec_gives_identical_outputs(tmp_path):
    model = tiny_model(seed=3, prediction_type="sample")  # the DDPM steps on an x_0 model, in remote code
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    targets, negatives = torch.tensor([1, 6, 7]), torch.tensor([[2, 3], [8, 9], [0, 19]])
    expected = model.generate(HISTORY, num_return_items=5, generator=torch.Generator().manual_seed(0))
    expected_loss = model(HISTORY, targets, negatives, generator=torch.Generator().manual_seed(0)).loss
    torch.save({"history": HISTORY, "targets": targets, "negatives": negatives}, tmp_path / "inputs.pt")
    run_without_mindrec(
        f"""
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(folder)!r}, trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        inputs = torch.load({str(tmp_path / "inputs.pt")!r})
        out = model.generate(inputs["history"], num_return_items=5, generator=torch.Generator().manual_seed(0))
        loss = model(inputs["history"], inputs["targets"], inputs["negatives"],
                     generator=torch.Generator().manual_seed(0)).loss
        torch.save({{**out, "loss": loss.detach()}}, {str(tmp_path / "out.pt")!r})
        """,
        tmp_path,
    )
    got = torch.load(tmp_path / "out.pt")
    for key in ("item_indices", "scores", "vectors"):
        torch.testing.assert_close(got[key], expected[key], atol=0, rtol=0)
    torch.testing.assert_close(got["loss"], expected_loss.detach(), atol=0, rtol=0)
