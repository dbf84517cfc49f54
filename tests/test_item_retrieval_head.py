"""The dense item retrieval head beside the generative one (MaskGR's hybrid), and its fusion at decoding.

* Every catalogue item's vector is what the pooled history embeds for it (summed code embeddings + item
  embedding); the head scores them from the fully masked canvas.
* Training packs the fully masked canvas as one more view: the masked-diffusion part of the loss is
  unchanged, and the retrieval part is the full-softmax cross-entropy of the head's logits on the targets.
* One-pass catalogue scoring with ``retrieval_weight`` ranks items by ``generative + weight * retrieval``.
"""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError
from reference_decoding import RandomScorer, random_catalogue
from test_decoding_properties import NUM_USERS, check_recommendations
from test_history_item_embeddings import CODES, batch_with_catalogue_history
from tiny import tiny_config

from mindrec.modeling import MindRecForRecommendation
from mindrec.modeling.catalogue_index import CatalogueIndex
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig, recommend

# pooled_batch's three targets are catalogue items 0, 1 and 2 of CODES.
TARGET_ITEMS = [0, 1, 2]


def head_config(**overrides):
    settings = dict(
        history_encoding="pooled", history_item_embeddings=True, num_items=6, prompt_attends_canvas=False,
        causal_prompt=True, num_random_views=1, num_path_views=2, item_retrieval_head=True,
    )
    return tiny_config(**{**settings, **overrides})


def head_model(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = MindRecForRecommendation(head_config(**overrides)).eval()
    model.model.set_item_codes(CODES)
    return model


def test_catalogue_item_vectors_are_the_history_embedding_of_each_item():
    model = head_model()
    offsets = torch.tensor(model.config.code_slot_offsets)
    expected = model.model.embed_tokens(offsets + CODES).sum(-2) + model.model.item_embeddings.weight
    torch.testing.assert_close(model.model.catalogue_item_vectors(), expected, atol=0, rtol=0)


def test_training_loss_is_the_diffusion_loss_plus_the_weighted_retrieval_cross_entropy():
    model = head_model(retrieval_loss_weight=0.5)
    batch, _, _ = batch_with_catalogue_history(model)
    views = model.noise_schedule.sample_views(
        3, model.config.code_length, 2, num_random_views=1, num_path_views=2, generator=torch.Generator().manual_seed(3)
    )
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    # The same weights without the head: the generative part is untouched by the extra packed view.
    torch.manual_seed(0)
    plain = MindRecForRecommendation(head_config(item_retrieval_head=False)).eval()
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    assert missing == [] and sorted(unexpected) == [
        "item_brand_ids", "item_log_counts", "item_recent_log_counts", "item_transition_items",
        "item_transition_log_counts", "item_transition_offsets", "retrieval_proj.weight",
    ]
    generative = plain(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    torch.testing.assert_close(out.canvas_log_probs, generative.canvas_log_probs, atol=1e-5, rtol=0)
    # The head's logits are those of a separate fully masked canvas, as the decoders read them.
    scorer = model.build_canvas_scorer(
        batch["input_ids"], batch["attention_mask"], batch["history_code_ids"], history_cache="exact"
    )
    users = torch.arange(3)
    torch.testing.assert_close(torch.log_softmax(out.item_logits, -1), scorer.item_log_probs(users), atol=1e-5, rtol=0)
    by_hand = -torch.log_softmax(out.item_logits, -1)[users, TARGET_ITEMS].mean()
    torch.testing.assert_close(out.retrieval_loss, by_hand)
    torch.testing.assert_close(out.loss, generative.loss + 0.5 * by_hand, atol=1e-6, rtol=0)
    # A single 2-D noise view takes the same route.
    single = model(**batch, noise_mask=views.noise_mask[:, 0], loss_weights=views.weights[:, 0])
    torch.testing.assert_close(single.item_logits, out.item_logits, atol=1e-5, rtol=0)
    assert single.canvas_log_probs.shape == (3, 5, 8)


def test_history_retrieval_loss_scores_each_history_item_on_the_next_one():
    model = head_model(retrieval_loss_weight=0.5, history_retrieval_loss_weight=2.0)
    batch, _, _ = batch_with_catalogue_history(model)
    views = model.noise_schedule.sample_views(
        3, model.config.code_length, 2, num_random_views=1, num_path_views=2, generator=torch.Generator().manual_seed(3)
    )
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    # Histories (left-padded) are [3], [1, 4, 5] and [2, 1]; the targets 0, 1 and 2 close each row.
    pairs = [(0, 3, 0), (1, 1, 4), (1, 4, 5), (1, 5, 1), (2, 2, 1), (2, 1, 2)]  # (row, history item, next)
    # Each history item's state is that of a prompt that ends with it: the causal prompt never sees the next.
    offsets = torch.tensor(model.config.code_slot_offsets)
    config, length = model.config, model.config.code_length
    queries, histories = [], {0: [3], 1: [1, 4, 5], 2: [2, 1]}
    for row, item, _ in pairs:
        seen = histories[row][: histories[row].index(item) + 1]
        ids = [config.bos_token_id] + [config.item_placeholder_token_id] * len(seen) + [config.sep_token_id]
        ids = torch.tensor([ids + [config.mask_token_id] * length])
        hidden = model.model(input_ids=ids, history_code_ids=(offsets + CODES[seen])[None]).last_hidden_state
        queries.append(hidden[0, len(seen)])
    logits = model.retrieval_proj(torch.stack(queries)) @ model.model.catalogue_item_vectors().T
    by_hand = torch.nn.functional.cross_entropy(logits, torch.tensor([nxt for _, _, nxt in pairs]))
    torch.testing.assert_close(out.history_retrieval_loss, by_hand, atol=1e-5, rtol=0)
    torch.manual_seed(0)
    without = MindRecForRecommendation(head_config(retrieval_loss_weight=0.5)).eval()
    without.load_state_dict(model.state_dict())
    base = without(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    assert base.history_retrieval_loss is None
    torch.testing.assert_close(out.loss, base.loss + 2.0 * by_hand, atol=1e-5, rtol=0)
    with pytest.raises(StrictDataclassClassValidationError, match="causal_prompt=True"):
        head_config(causal_prompt=False, history_retrieval_loss_weight=1.0)
    with pytest.raises(StrictDataclassClassValidationError, match="item_retrieval_head=True"):
        head_config(item_retrieval_head=False, history_retrieval_loss_weight=1.0)
    with pytest.raises(StrictDataclassClassValidationError, match=">= 0"):
        head_config(history_retrieval_loss_weight=-1.0)


def sharp_head_pair(variant: dict, reference: dict):
    """Two head models with the same weights (a head sharper than an untrained one, so that items' losses differ),
    built with the ``variant`` and ``reference`` config overrides, plus the batch and noise views both score."""
    model = head_model(**variant)
    with torch.no_grad():
        model.retrieval_proj.weight.mul_(50)
    other = head_model(**reference)
    other.load_state_dict(model.state_dict())
    batch, _, _ = batch_with_catalogue_history(model)
    views = model.noise_schedule.sample_views(
        3, model.config.code_length, 2, num_random_views=1, num_path_views=2, generator=torch.Generator().manual_seed(3)
    )
    return model, other, batch, views


def test_history_loss_averaged_per_row_weighs_every_row_the_same():
    model, per_item, batch, views = sharp_head_pair(
        dict(history_retrieval_loss_weight=1.0, history_retrieval_reduction="row"), dict(history_retrieval_loss_weight=1.0)
    )
    # One row at a time, the two reductions agree (a row's mean is the mean over its items) ...
    row_losses, sizes = [], []
    for row in range(3):
        inputs = {name: value[row : row + 1] for name, value in batch.items()}
        single = per_item(**inputs, noise_mask=views.noise_mask[row : row + 1], loss_weights=views.weights[row : row + 1])
        row_losses.append(single.history_retrieval_loss)
        sizes.append(int((inputs["history_code_ids"] != model.config.pad_token_id).any(-1).sum()))
    assert sizes == [1, 3, 2]  # histories [3], [1, 4, 5], [2, 1]
    row_losses = torch.stack(row_losses)
    # ... and over the batch "row" is their plain mean, "item" their mean weighted by history length.
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    torch.testing.assert_close(out.history_retrieval_loss, row_losses.mean(), atol=1e-5, rtol=0)
    weighted = (row_losses * torch.tensor(sizes)).sum() / sum(sizes)
    item_out = per_item(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    torch.testing.assert_close(item_out.history_retrieval_loss, weighted, atol=1e-5, rtol=0)
    assert abs(row_losses.mean() - weighted) > 0.01
    with pytest.raises(StrictDataclassFieldValidationError, match="history_retrieval_reduction"):
        head_config(history_retrieval_reduction="user")


def history_item_losses(model, batch, logit_bias: torch.Tensor | float = 0.0) -> dict[int, torch.Tensor]:
    """Each history item's retrieval loss by hand, per row of ``batch_with_catalogue_history`` (histories, left-padded,
    [3], [1, 4, 5], [2, 1]; targets 0, 1, 2): the isolated causal prompt's state at the item (the canvas, here all
    [MASK], cannot change it) scored on the next item, with ``logit_bias [items]`` added to the head's logits."""
    config = model.config
    canvas = batch["input_ids"].clone()
    canvas[:, -config.code_length :] = config.mask_token_id
    hidden = model.model(
        input_ids=canvas, attention_mask=batch["attention_mask"], history_code_ids=batch["history_code_ids"]
    ).last_hidden_state
    logits = model.retrieval_proj(hidden) @ model.model.catalogue_item_vectors().T + logit_bias  # [3, T, items]
    per_item = {}
    for row, (history, target) in enumerate(zip([[3], [1, 4, 5], [2, 1]], TARGET_ITEMS, strict=True)):
        at_items = logits[row][batch["input_ids"][row] == config.item_placeholder_token_id]  # [history, items]
        per_item[row] = torch.nn.functional.cross_entropy(at_items, torch.tensor(history[1:] + [target]), reduction="none")
    return per_item


def test_history_window_scores_only_each_rows_newest_history_items():
    window = 2
    model, every_item, batch, views = sharp_head_pair(
        dict(history_retrieval_loss_weight=1.0, history_retrieval_window=window), dict(history_retrieval_loss_weight=1.0)
    )
    per_item = history_item_losses(model, batch)
    # The window keeps the last two of row 1 (items 4 and 5, on 5 and the target) and all of the others.
    kept = torch.cat([per_item[0], per_item[1][-window:], per_item[2]])
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    torch.testing.assert_close(out.history_retrieval_loss, kept.mean(), atol=1e-5, rtol=0)
    everything = every_item(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    torch.testing.assert_close(everything.history_retrieval_loss, torch.cat(list(per_item.values())).mean(), atol=1e-5, rtol=0)
    assert abs(out.history_retrieval_loss - everything.history_retrieval_loss) > 0.01
    # Per row, the window's row sizes are the scored items' counts: 1, 2 and 2.
    by_row = head_model(history_retrieval_loss_weight=1.0, history_retrieval_window=window, history_retrieval_reduction="row")
    by_row.load_state_dict(model.state_dict())
    row_means = torch.stack([per_item[0].mean(), per_item[1][-window:].mean(), per_item[2].mean()])
    out_row = by_row(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    torch.testing.assert_close(out_row.history_retrieval_loss, row_means.mean(), atol=1e-5, rtol=0)
    with pytest.raises(StrictDataclassClassValidationError, match="history_retrieval_loss_weight` > 0"):
        head_config(history_retrieval_window=2)
    with pytest.raises(StrictDataclassClassValidationError, match=">= 0"):
        head_config(history_retrieval_loss_weight=1.0, history_retrieval_window=-1)


def test_label_smoothing_mixes_each_retrieval_loss_with_the_mean_over_the_catalogue():
    smoothing = 0.2
    model = head_model(history_retrieval_loss_weight=1.0, retrieval_label_smoothing=smoothing)
    plain = head_model(history_retrieval_loss_weight=1.0)
    plain.load_state_dict(model.state_dict())
    batch, _, _ = batch_with_catalogue_history(model)
    views = model.noise_schedule.sample_views(
        3, model.config.code_length, 2, num_random_views=1, num_path_views=2, generator=torch.Generator().manual_seed(3)
    )
    # Record the head's logits: the canvas query's first, then every history item's.
    head_logits, score = [], model._retrieval_logits

    def recording_score(*args):
        head_logits.append(score(*args))
        return head_logits[-1]

    model._retrieval_logits = recording_score
    out = model(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    base = plain(**batch, noise_mask=views.noise_mask, loss_weights=views.weights)
    canvas_logits, history_logits = head_logits
    torch.testing.assert_close(canvas_logits, out.item_logits, atol=0, rtol=0)
    # Each loss is (1 - s) x the target's cross-entropy + s x the mean cross-entropy over all six catalogue items.
    for smoothed, unsmoothed, logits in (
        (out.retrieval_loss, base.retrieval_loss, canvas_logits),
        (out.history_retrieval_loss, base.history_retrieval_loss, history_logits),
    ):
        by_hand = (1 - smoothing) * unsmoothed - smoothing * torch.log_softmax(logits, -1).mean(-1).mean()
        torch.testing.assert_close(smoothed, by_hand, atol=1e-6, rtol=0)
        assert abs(smoothed - unsmoothed) > 1e-4  # it moved (an untrained head is near uniform, so barely)
    # The generative part is untouched.
    torch.testing.assert_close(out.canvas_log_probs, base.canvas_log_probs, atol=0, rtol=0)
    for value in (1.0, -0.1):
        with pytest.raises(StrictDataclassClassValidationError, match=r"retrieval_label_smoothing.*\[0, 1\)"):
            head_config(retrieval_label_smoothing=value)
    with pytest.raises(StrictDataclassClassValidationError, match="needs `item_retrieval_head=True`"):
        head_config(item_retrieval_head=False, retrieval_label_smoothing=0.1)


def test_the_head_learns_and_travels_with_the_weights(tmp_path):
    model = head_model().train()
    batch, _, _ = batch_with_catalogue_history(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for step in range(30):
        out = model(**batch, generator=torch.Generator().manual_seed(step))
        first = float(out.retrieval_loss.detach()) if first is None else first
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert float(out.retrieval_loss.detach()) < 0.5 * first
    model.eval().save_pretrained(tmp_path)
    loaded = MindRecForRecommendation.from_pretrained(tmp_path).eval()
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    users = torch.arange(3)
    scores = [m.build_canvas_scorer(**inputs).item_log_probs(users) for m in (model, loaded)]
    torch.testing.assert_close(scores[1], scores[0])
    assert scores[0].argmax(-1).tolist() == TARGET_ITEMS


class RetrievalScorer(RandomScorer):
    """A random canvas scorer with a random retrieval head over ``num_items`` items."""

    def __init__(self, sizes, levels, num_users, num_items, seed):
        super().__init__(sizes, levels, num_users, seed=seed, sharpness=2.0)
        generator = torch.Generator().manual_seed(seed + 1)
        self.items = torch.log_softmax(3 * torch.randn(num_users, num_items, generator=generator), dim=-1)

    def item_log_probs(self, user_ids):
        return self.items[user_ids]


@pytest.mark.parametrize("weight", [0.0, 0.7, 5.0])
def test_fused_catalogue_scoring_ranks_by_generative_plus_weighted_retrieval(weight):
    from mindrec.modeling import decoding_catalogue_scoring

    for seed in range(6):
        generator = torch.Generator().manual_seed(3000 + seed)
        sizes, levels, codes = random_catalogue(generator, max_items=60)
        num_items = codes.shape[0]
        scorer = RetrievalScorer(sizes, levels, NUM_USERS, num_items, seed)
        masked = torch.full((NUM_USERS, codes.shape[1]), -1, dtype=torch.long)
        generative = decoding_catalogue_scoring.catalogue_log_probs(scorer(masked, torch.arange(NUM_USERS)), codes)
        fused = generative + weight * scorer.items
        excluded = [[], [1], torch.randperm(num_items, generator=generator)[: num_items // 2].tolist(), []]
        num_return = min(4, num_items)
        config = RecommendationGenerationConfig(
            decoding_strategy="catalogue_scoring", num_beams=num_return, num_return_items=num_return,
            retrieval_weight=weight,
        )
        chunked = decoding_catalogue_scoring._SCORES_PER_CHUNK
        decoding_catalogue_scoring._SCORES_PER_CHUNK = NUM_USERS * 5  # chunks of 5 items
        try:
            output = recommend(scorer, CatalogueIndex(codes, sizes, levels), NUM_USERS, config, excluded)
        finally:
            decoding_catalogue_scoring._SCORES_PER_CHUNK = chunked
        check_recommendations(output, codes, excluded, num_return)
        for user in range(NUM_USERS):
            allowed = fused[user].clone()
            allowed[excluded[user]] = float("-inf")
            expected = allowed.topk(num_return)
            kept = expected.values > float("-inf")
            assert output.item_indices[user].tolist() == expected.indices.masked_fill(~kept, -1).tolist()
            torch.testing.assert_close(output.scores[user], expected.values)


def test_generate_fuses_the_model_head_and_errors_name_the_problem():
    model = head_model()
    batch, _, _ = batch_with_catalogue_history(model)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    backbone_passes = []
    hook = model.model.register_forward_hook(lambda *args: backbone_passes.append(1))
    output = model.generate(
        **inputs, catalogue=CODES, decoding_strategy="catalogue_scoring", num_beams=3, num_return_items=3,
        retrieval_weight=1.0,
    )
    hook.remove()
    assert len(backbone_passes) == 1  # the head reads the fully masked canvases the generative score ran
    scorer = model.build_canvas_scorer(**inputs)
    from mindrec.modeling.decoding_catalogue_scoring import catalogue_log_probs

    masked = torch.full((3, 5), -1, dtype=torch.long)
    fused = catalogue_log_probs(scorer(masked, torch.arange(3)), CODES) + scorer.item_log_probs(torch.arange(3))
    assert output.item_indices.tolist() == fused.topk(3).indices.tolist()
    torch.testing.assert_close(output.scores, fused.topk(3).values)  # the head's log-probs are in the scores

    with pytest.raises(ValueError, match="only applies to decoding_strategy='catalogue_scoring'"):
        RecommendationGenerationConfig(decoding_strategy="left_to_right", retrieval_weight=1.0)
    with pytest.raises(ValueError, match="finite number >= 0"):
        RecommendationGenerationConfig(decoding_strategy="catalogue_scoring", retrieval_weight=-1.0)
    torch.manual_seed(0)
    plain = MindRecForRecommendation(head_config(item_retrieval_head=False)).eval()
    plain.model.set_item_codes(CODES)
    with pytest.raises(ValueError, match="does not have"):
        plain.generate(**inputs, catalogue=CODES, decoding_strategy="catalogue_scoring", retrieval_weight=1.0)
    with pytest.raises(ValueError, match="no item retrieval head"):
        plain.build_canvas_scorer(**inputs).item_log_probs(torch.arange(3))
    with pytest.raises(StrictDataclassClassValidationError, match="history_item_embeddings"):
        head_config(history_item_embeddings=False)
    with pytest.raises(StrictDataclassClassValidationError, match="prompt_attends_canvas=False"):
        head_config(prompt_attends_canvas=True, causal_prompt=False, num_path_views=0)
    with pytest.raises(StrictDataclassClassValidationError, match="retrieval_loss_weight"):
        head_config(retrieval_loss_weight=0.0)


def test_a_run_trains_and_decodes_with_the_fused_head(tmp_path):
    """End to end through the pipeline: the head trains next to the diffusion loss, the saved generation
    config keeps the fusion weight, and the fused decoder returns valid, distinct items."""
    from training_support import tiny_arguments

    from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
    from mindrec.pipeline import run
    from mindrec.training.trainer import make_accelerator

    arguments = tiny_arguments(
        tmp_path, max_steps=4, eval_steps=2, history_item_embeddings=True, prompt_attends_canvas=False,
        causal_prompt=True, num_path_views=1, item_retrieval_head=True, retrieval_loss_weight=0.5,
        history_retrieval_loss_weight=0.5, history_retrieval_reduction="row", retrieval_label_smoothing=0.1,
        strategy="catalogue_scoring", retrieval_weight=2.0,
    )
    result = run(*arguments, accelerator=make_accelerator("no"))
    evaluation = result.test["MindRec"]
    assert evaluation.metrics["validity"] == 1.0
    assert all(len(set(items)) == len(items) for items in evaluation.item_lists.tolist())
    loaded = MindRecForRecommendation.from_pretrained(result.train.best_dir)
    assert loaded.config.item_retrieval_head and loaded.config.retrieval_loss_weight == 0.5
    assert loaded.config.retrieval_label_smoothing == 0.1 and loaded.config.history_retrieval_reduction == "row"
    assert loaded.retrieval_proj is not None
    saved = RecommendationGenerationConfig.from_pretrained(result.train.best_dir)
    assert (saved.decoding_strategy, saved.retrieval_weight) == ("catalogue_scoring", 2.0)


def test_benchmark_fused_rows_need_a_plan_that_trains_the_head():
    from mindrec.benchmark.protocols import SYNTHETIC_SMALL

    assert SYNTHETIC_SMALL.plans["mindrec"].rows["mindrec-fused"] == {
        "strategy": "catalogue_scoring", "retrieval_weight": 100.0, "popularity_adjustment": 0.5,
        "recency_adjustment": 0.5, "transition_adjustment": 2.0, "transition_decay": 0.5, "transition_conditioning": 0.5,
        "transition_gap_decay": 0.5, "brand_adjustment": 6.0, "rare_item_generative_weight": 0.0,
    }
    with pytest.raises(ValueError, match=r"mindrec.model.item_retrieval_head=true"):
        SYNTHETIC_SMALL.plans_for(["mindrec-fused"])
    with_head = SYNTHETIC_SMALL.with_plan_settings([("mindrec", "model", "item_retrieval_head", True)])
    assert with_head.plans_for(["mindrec-onepass", "mindrec-fused"]) == {"mindrec": ["mindrec-onepass", "mindrec-fused"]}


def test_remote_code_without_mindrec_gives_the_same_fused_recommendations(tmp_path):
    from remote_loading import run_without_mindrec

    model = head_model(seed=2)
    # With the training transitions too: the table's size travels in the config, so remote code rebuilds it.
    transitions = torch.zeros(6, 6)
    transitions[3, 4], transitions[5, 0], transitions[1, 2] = 3, 1, 2
    model.set_item_transitions(transitions)
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    batch, _, _ = batch_with_catalogue_history(model)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    torch.save({"inputs": inputs, "codes": CODES}, tmp_path / "inputs.pt")
    options = dict(decoding_strategy="catalogue_scoring", num_beams=4, num_return_items=4, retrieval_weight=3.0,
                   transition_adjustment=1.0, transition_decay=0.5, transition_conditioning=0.5)
    expected = model.generate(**inputs, catalogue=CODES, **options)
    without = {**options, "transition_adjustment": 0.0, "transition_decay": 0.0, "transition_conditioning": 0.0}
    assert not torch.equal(expected.scores, model.generate(**inputs, catalogue=CODES, **without).scores)
    run_without_mindrec(
        f"""
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(folder)!r}, trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        saved = torch.load({str(tmp_path / 'inputs.pt')!r})
        output = model.generate(**saved["inputs"], catalogue=saved["codes"], **{options!r})
        torch.save((output.item_indices, output.scores), {str(tmp_path / 'output.pt')!r})
        """,
        tmp_path,
    )
    items, scores = torch.load(tmp_path / "output.pt")
    assert items.tolist() == expected.item_indices.tolist()
    torch.testing.assert_close(scores, expected.scores, atol=0, rtol=0)
