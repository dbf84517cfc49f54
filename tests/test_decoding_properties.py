"""Properties of every decoder over many random catalogues and scorers: K distinct valid catalogue
items, never an excluded one, padding exactly when exclusions leave fewer than K items."""

import pytest
import torch
from reference_decoding import RandomScorer, random_catalogue

from mindrec.modeling.catalogue_index import CatalogueIndex
from mindrec.modeling.generation_mindrec import DECODING_STRATEGIES, RecommendationGenerationConfig, recommend

NUM_USERS = 4



def check_recommendations(output, codes, excluded, num_return):
    """The invariants every decoder's output must satisfy."""
    num_items = codes.shape[0]
    for user in range(NUM_USERS):
        items = output.item_indices[user].tolist()
        scores = output.scores[user]
        available = num_items - len(set(excluded[user]))
        real = [item for item in items if item >= 0]
        assert len(real) == min(num_return, available), (user, items, available)
        assert items[: len(real)] == real, "padding comes last"
        assert len(set(real)) == len(real), "items are distinct"
        assert not set(real) & set(excluded[user]), "no excluded item"
        assert torch.isfinite(scores[: len(real)]).all() and (scores[len(real) :] == float("-inf")).all()
        assert (scores[:-1] >= scores[1:]).all(), "best first"
        for position, item in enumerate(items):
            expected = codes[item].tolist() if item >= 0 else [-1] * codes.shape[1]
            assert output.codes[user, position].tolist() == expected


@pytest.mark.parametrize("strategy", DECODING_STRATEGIES)
def test_every_strategy_returns_distinct_valid_non_excluded_items(strategy):
    for seed in range(25):
        generator = torch.Generator().manual_seed(1000 + seed)
        sizes, levels, codes = random_catalogue(generator, max_items=60)
        num_items = codes.shape[0]
        num_return = int(torch.randint(1, min(6, num_items) + 1, (1,), generator=generator))
        num_beams = num_return + int(torch.randint(0, 2, (1,), generator=generator))
        excluded = [[], torch.randperm(num_items, generator=generator)[: num_items // 3].tolist()]
        excluded += [
            torch.randperm(num_items, generator=generator)[: num_items - 1].tolist(),
            list(range(num_items)),
        ]
        config = RecommendationGenerationConfig(
            decoding_strategy=strategy,
            num_beams=num_beams,
            num_return_items=num_return,
            tokens_per_step=1 + seed % 3 if strategy == "low_confidence" else None,
        )
        scorer = RandomScorer(sizes, levels, NUM_USERS, seed=seed, sharpness=1.0 + seed % 4)
        output = recommend(scorer, CatalogueIndex(codes, sizes, levels), NUM_USERS, config, excluded)
        check_recommendations(output, codes, excluded, num_return)


@pytest.mark.parametrize("strategy", DECODING_STRATEGIES)
def test_a_fully_excluded_user_gets_only_padding(strategy):
    sizes, codes = [2, 3], torch.tensor([[0, 0], [1, 2], [1, 1]])
    config = RecommendationGenerationConfig(decoding_strategy=strategy, num_beams=2, num_return_items=2)
    output = recommend(
        RandomScorer(sizes, 1, 2, seed=0), CatalogueIndex(codes, sizes, 1), 2, config, [[0, 1, 2], [1]]
    )
    assert output.item_indices[0].tolist() == [-1, -1]
    assert output.scores[0].tolist() == [float("-inf")] * 2
    assert output.codes[0].tolist() == [[-1, -1]] * 2
    assert sorted(output.item_indices[1].tolist()) == [0, 2]


def test_beam_decoders_score_all_rows_in_one_call_per_step():
    generator = torch.Generator().manual_seed(7)
    sizes, levels = [3, 4, 8, 8], 1
    codes = torch.unique(
        torch.stack([torch.randint(0, s, (200,), generator=generator) for s in sizes], 1), dim=0
    )
    for strategy in ("diffusion_beam_search", "parallel_denoising", "left_to_right"):
        scorer = RandomScorer(sizes, levels, 3, seed=1)
        config = RecommendationGenerationConfig(decoding_strategy=strategy, num_beams=4, num_return_items=2)
        recommend(scorer, CatalogueIndex(codes, sizes, levels), 3, config)
        assert len(scorer.calls) == len(sizes)  # one call per slot, no second pass on this catalogue
        first_canvas, first_users = scorer.calls[0]
        assert first_users.tolist() == [0, 1, 2] and (first_canvas == -1).all()  # one row per user
        for canvas, users in scorer.calls[1:]:
            assert set(users.tolist()) == {0, 1, 2} and canvas.shape[0] <= 3 * 4


def test_catalogue_scoring_ranks_every_item_by_its_summed_slot_log_probs():
    """One-pass scores equal a brute-force sum over slots of the fully masked canvas's log-probs, and the
    returned items are the best non-excluded ones in that order (also when the catalogue is chunked)."""
    from mindrec.modeling import decoding_catalogue_scoring

    for seed in range(10):
        generator = torch.Generator().manual_seed(2000 + seed)
        sizes, levels, codes = random_catalogue(generator, max_items=60)
        num_items, length = codes.shape
        scorer = RandomScorer(sizes, levels, NUM_USERS, seed=seed, sharpness=2.0)
        masked = torch.full((NUM_USERS, length), -1, dtype=torch.long)
        log_probs = scorer(masked, torch.arange(NUM_USERS))
        brute = torch.tensor(
            [[sum(float(log_probs[user, slot, codes[item, slot]]) for slot in range(length)) for item in range(num_items)]
             for user in range(NUM_USERS)]
        )
        torch.testing.assert_close(decoding_catalogue_scoring.catalogue_log_probs(log_probs, codes), brute)
        excluded = [[], [0], torch.randperm(num_items, generator=generator)[: num_items // 2].tolist(), []]
        num_return = min(5, num_items)
        config = RecommendationGenerationConfig(
            decoding_strategy="catalogue_scoring", num_beams=num_return, num_return_items=num_return
        )
        chunked = decoding_catalogue_scoring._SCORES_PER_CHUNK
        outputs = []
        for chunk in (chunked, NUM_USERS * 7):  # one chunk, then chunks of 7 items
            decoding_catalogue_scoring._SCORES_PER_CHUNK = chunk
            try:
                outputs.append(recommend(scorer, CatalogueIndex(codes, sizes, levels), NUM_USERS, config, excluded))
            finally:
                decoding_catalogue_scoring._SCORES_PER_CHUNK = chunked
        for output in outputs:
            check_recommendations(output, codes, excluded, num_return)
            for user in range(NUM_USERS):
                allowed = brute[user].clone()
                allowed[excluded[user]] = float("-inf")
                expected = allowed.topk(num_return)
                kept = expected.values > float("-inf")  # fewer items are left than asked for: -1 padding
                assert output.item_indices[user].tolist() == expected.indices.masked_fill(~kept, -1).tolist()
                torch.testing.assert_close(output.scores[user], expected.values)
