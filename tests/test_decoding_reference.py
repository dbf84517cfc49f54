"""The batched decoders match the plain reference decoders exactly, and batched = one user at a time."""

import pytest
import torch
from reference_decoding import OneUserScorer, RandomScorer, random_catalogue, reference_recommend

from mindrec.modeling.catalogue_index import CatalogueIndex
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig, recommend

STRATEGIES = ["diffusion_beam_search", "parallel_denoising", "low_confidence", "left_to_right"]
NUM_USERS = 3



def random_case(seed):
    """A random catalogue, scorer, options and exclusions (some users may be left with few items)."""
    generator = torch.Generator().manual_seed(seed)
    sizes, levels, codes = random_catalogue(generator)
    num_items = codes.shape[0]
    num_return = int(torch.randint(1, min(4, num_items) + 1, (1,), generator=generator))
    num_beams = num_return + int(torch.randint(0, 3, (1,), generator=generator))
    # User 0 excludes nothing, user 1 a few items, user 2 up to all but one (then padding is due).
    limits = [0, min(3, num_items - 1), num_items - 1]
    excluded = []
    for limit in limits:
        count = int(torch.randint(0, limit + 1, (1,), generator=generator))
        excluded.append(torch.randperm(num_items, generator=generator)[:count].tolist())
    temperature = [1.0, 0.5, 2.0][seed % 3]
    tokens_per_step = 1 + seed % 2
    scorer = RandomScorer(sizes, levels, NUM_USERS, seed=seed)
    return sizes, levels, codes, scorer, num_beams, num_return, excluded, temperature, tokens_per_step


def config_for(strategy, num_beams, num_return, temperature, tokens_per_step):
    return RecommendationGenerationConfig(
        decoding_strategy=strategy,
        num_beams=num_beams,
        num_return_items=num_return,
        temperature=temperature,
        tokens_per_step=tokens_per_step if strategy == "low_confidence" else None,
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", range(30))
def test_batched_matches_reference(strategy, seed):
    sizes, levels, codes, scorer, num_beams, num_return, excluded, temperature, tokens = random_case(seed)
    config = config_for(strategy, num_beams, num_return, temperature, tokens)
    output = recommend(scorer, CatalogueIndex(codes, sizes, levels), NUM_USERS, config, excluded)
    catalogue = [tuple(code) for code in codes.tolist()]
    for user in range(NUM_USERS):
        expected = reference_recommend(
            scorer,
            catalogue,
            sizes,
            levels,
            user,
            excluded[user],
            strategy,
            num_beams,
            num_return,
            temperature,
            tokens,
        )
        expected_items = [item for item, _, _ in expected] + [-1] * (num_return - len(expected))
        assert output.item_indices[user].tolist() == expected_items
        expected_scores = torch.tensor(
            [score for _, score, _ in expected] + [float("-inf")] * (num_return - len(expected))
        )
        torch.testing.assert_close(output.scores[user], expected_scores, atol=1e-5, rtol=0)
        expected_codes = [list(code) for _, _, code in expected] + [[-1] * len(sizes)] * (
            num_return - len(expected)
        )
        assert output.codes[user].tolist() == expected_codes


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", range(100, 106))
def test_batched_equals_one_user_at_a_time(strategy, seed):
    sizes, levels, codes, scorer, num_beams, num_return, excluded, temperature, tokens = random_case(seed)
    config = config_for(strategy, num_beams, num_return, temperature, tokens)
    index = CatalogueIndex(codes, sizes, levels)
    together = recommend(scorer, index, NUM_USERS, config, excluded)
    for user in range(NUM_USERS):
        alone = recommend(OneUserScorer(scorer, user), index, 1, config, [excluded[user]])
        assert together.item_indices[user].tolist() == alone.item_indices[0].tolist()
        assert torch.equal(together.scores[user], alone.scores[0])
        assert torch.equal(together.codes[user], alone.codes[0])
