"""Hand-built logits: exactly which slot and value each decoding step commits.

The scorer records the canvases of every call; call ``t + 1`` shows what step ``t`` committed, in
the order of the kept hypotheses (best first).
"""

import torch
from reference_decoding import TableScorer, reference_recommend

from mindrec.modeling.catalogue_index import CatalogueIndex
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig, recommend

M = -1  # a masked slot



def run(scorer, codes, strategy, num_beams, num_return, **options):
    index = CatalogueIndex(torch.tensor(codes), scorer.code_slot_sizes, scorer.num_category_levels)
    config = RecommendationGenerationConfig(
        decoding_strategy=strategy, num_beams=num_beams, num_return_items=num_return, **options
    )
    return recommend(scorer, index, 1, config)


def lp(scorer, code, slot, value):
    """The scorer's fp32 log-prob of ``value`` at ``slot`` given canvas ``code``."""
    return scorer.log_probs(code, 0)[slot, value]


# --------------------------------------------------------------------------------------------------
# Diffusion Beam Search

PHASE_A_CODES = [(0, 0, 0, 0), (0, 1, 1, 2), (1, 0, 2, 3), (1, 2, 3, 1), (0, 0, 1, 3)]
# Fixed logits: the semantic-ID slots are far more confident than the categories, yet phase A must
# fill category level 1, then level 2, before any digit.
PHASE_A_LOGITS = [[2.0, 1.0], [0.0, 1.0, 3.0], [5.0, 0.0, 0.5, 1.0], [0.0, 0.3, 0.6, 5.0]]


def test_diffusion_beam_search_fills_categories_coarse_to_fine_then_confident_digits():
    scorer = TableScorer([2, 3, 4, 4], 2, lambda code, user: PHASE_A_LOGITS)
    output = run(scorer, PHASE_A_CODES, "diffusion_beam_search", num_beams=2, num_return=2)
    assert scorer.calls == [
        [(M, M, M, M)],
        # level 1: both values are category roots with items
        [(0, M, M, M), (1, M, M, M)],
        # level 2: (1, 2) is best although value 2 exists only under root 1; (0, 1) beats (0, 0), (1, 0)
        [(1, 2, M, M), (0, 1, M, M)],
        # phase B: each beam fixes its own most confident valid digit -- slot 2 for item 3, slot 3 for item 1
        [(1, 2, 3, M), (0, 1, M, 2)],
    ]
    assert output.item_indices.tolist() == [[3, 1]]
    empty = (M, M, M, M)
    expected = [
        lp(scorer, empty, 0, 1) + lp(scorer, empty, 1, 2) + lp(scorer, empty, 2, 3) + lp(scorer, empty, 3, 1),
        lp(scorer, empty, 0, 0) + lp(scorer, empty, 1, 1) + lp(scorer, empty, 3, 2) + lp(scorer, empty, 2, 1),
    ]
    # fp32 sums accumulated in fill order, exactly as the decoder does
    torch.testing.assert_close(output.scores[0], torch.stack(expected), atol=1e-6, rtol=0)


CONFIDENT_CODES = [(0, 0, 0), (1, 1, 1), (0, 1, 2), (2, 2, 2)]


def confident_logits(code, user):
    if code == (M, M, M):
        return [[4, 0, 0, 0], [0, 3.5, 0, 0], [0, 0, 0.5, 0]]
    if code == (0, M, M):
        return [[0] * 4, [0, 0.5, 0, 0], [0, 0, 5, 0]]
    if code == (M, 1, M):
        return [[0, 6, 0, 0], [0] * 4, [0] * 4]
    return [[0] * 4] * 3


def test_phase_b_each_beam_fills_its_most_confident_slot_and_merges_equivalent_states():
    scorer = TableScorer([4, 4, 4], 0, confident_logits)
    output = run(scorer, CONFIDENT_CODES, "diffusion_beam_search", num_beams=3, num_return=3)
    assert scorer.calls[1] == [(0, M, M), (M, 1, M), (M, M, 2)]
    # (0, M, M) fills slot 2, (M, 1, M) fills slot 0. (0, 1, M) would score third best, but it leaves
    # the same single item (0, 1, 2) reachable as (0, M, 2): a duplicate, so (0, 0, M) is kept instead.
    assert scorer.calls[2] == [(0, M, 2), (1, 1, M), (0, 0, M)]
    assert lp(scorer, (0, M, M), 1, 1) > lp(scorer, (0, M, M), 1, 0)
    assert output.item_indices.tolist() == [[2, 1, 0]]


DEDUPE_CODES = [(0, 0, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)]


def dedupe_logits(code, user):
    if code == (M, M, M):
        return [[3, 0], [2.5, 0], [0.2, 0]]
    if code == (0, M, M):
        return [[0, 0], [4, 0], [0.1, 0]]
    if code == (M, 0, M):
        return [[4, 0], [0, 0], [0, 0.3]]
    return [[0, 0.01], [0, 0.02], [0, 0.03]]


def test_identical_states_reached_in_different_orders_are_kept_once_with_the_best_score():
    scorer = TableScorer([2, 2, 2], 0, dedupe_logits)
    output = run(scorer, DEDUPE_CODES, "diffusion_beam_search", num_beams=3, num_return=3)
    empty = (M, M, M)
    assert scorer.calls[1] == [(0, M, M), (M, 0, M), (M, M, 0)]
    # (0, 0, M) is reached by filling slot 1 after slot 0 and slot 0 after slot 1: kept once.
    assert scorer.calls[2] == [(0, 0, M), (M, 0, 1), (0, M, 0)]
    via_slot_0_first = lp(scorer, empty, 0, 0) + lp(scorer, (0, M, M), 1, 0)
    via_slot_1_first = lp(scorer, empty, 1, 0) + lp(scorer, (M, 0, M), 0, 0)
    assert via_slot_0_first > via_slot_1_first
    # The item completed from (0, 0, M) carries the better path's score.
    best_item = (0, 0, 1)  # slot 2 logits [0, 0.03] under (0, 0, M)
    position = output.codes[0].tolist().index(list(best_item))
    expected = via_slot_0_first + lp(scorer, (0, 0, M), 2, 1)
    torch.testing.assert_close(output.scores[0, position], expected, atol=0, rtol=0)


# x = (0, 0) and y = (0, 1) are the only items below the three best first steps, so the first search
# ends with two items; the second pass (x, y excluded) finds the others.
CONVERGING_CODES = [(0, 0), (0, 1), (1, 2), (2, 2)]


def converging_logits(code, user):
    if code == (M, M):
        return [[3, 0, 0], [2.8, 2.7, 0]]
    return [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]


def test_search_that_converges_onto_fewer_items_is_completed_by_a_second_pass():
    scorer = TableScorer([3, 3], 0, converging_logits)
    output = run(scorer, CONVERGING_CODES, "diffusion_beam_search", num_beams=3, num_return=3)
    # Pass 1: {x, y}, {x}, {y} kept; they can only end on x or y.
    assert scorer.calls[1] == [(0, M), (M, 0), (M, 1)]
    # Pass 2 starts from the empty canvas again, with x and y excluded.
    assert scorer.calls[2] == [(M, M)]
    assert scorer.calls[3] == [(2, M), (1, M), (M, 2)]
    assert len(scorer.calls) == 4
    items = output.item_indices[0].tolist()
    assert sorted(items[:2]) == [0, 1] and items[2] in (2, 3) and len(set(items)) == 3
    catalogue = [tuple(code) for code in CONVERGING_CODES]
    expected = reference_recommend(scorer, catalogue, [3, 3], 0, 0, [], "diffusion_beam_search", 3, 3)
    assert items == [item for item, _, _ in expected]


# --------------------------------------------------------------------------------------------------
# Other strategies

ORDER_CODES = [(0, 0, 0), (0, 1, 2), (1, 2, 1), (1, 0, 2)]


def sid_first_logits(code, user):
    # the last digit is the most confident slot everywhere
    return [[0.5, 0], [0, 0.2, 0.1], [0, 0.1, 6]]


def test_parallel_denoising_may_fill_a_digit_before_the_category():
    scorer = TableScorer([2, 3, 3], 1, sid_first_logits)
    run(scorer, ORDER_CODES, "parallel_denoising", num_beams=2, num_return=1)
    assert scorer.calls[1][0] == (M, M, 2)
    scorer = TableScorer([2, 3, 3], 1, sid_first_logits)
    run(scorer, ORDER_CODES, "diffusion_beam_search", num_beams=2, num_return=1)
    assert scorer.calls[1] == [(0, M, M), (1, M, M)]


def test_left_to_right_fills_slots_in_order():
    scorer = TableScorer([2, 3, 3], 1, sid_first_logits)
    output = run(scorer, ORDER_CODES, "left_to_right", num_beams=2, num_return=2)
    # slot 1 then slot 2, although slot 2 is the most confident throughout
    assert scorer.calls == [[(M, M, M)], [(0, M, M), (1, M, M)], [(0, 1, M), (0, 0, M)]]
    assert output.item_indices.tolist() == [[1, 0]]


RECHECK_CODES = [(0, 0, 1, 1), (1, 1, 0, 0), (0, 2, 2, 2)]


def recheck_logits(code, user):
    if code == (M, M, M, M):
        # slot 0 = 0 and slot 1 = 1 are the two most confident values, but no item has both
        return [[5, 0, 0], [0, 4.9, 0], [0, 2, 0], [0, 0, 0]]
    return [[0, 0, 0], [0.5, 0, 0], [0, 0, 0], [0, 0.4, 0]]


def test_low_confidence_rechecks_validity_after_each_commit_of_a_step():
    scorer = TableScorer([3, 3, 3, 3], 0, recheck_logits)
    output = run(scorer, RECHECK_CODES, "low_confidence", num_beams=1, num_return=1, tokens_per_step=2)
    # step 1 commits slot 0 = 0 then, slot 1 = 1 being invalid now, slot 2 = 1; step 2 the rest
    assert scorer.calls == [[(M, M, M, M)], [(0, M, 1, M)]]
    assert output.item_indices.tolist() == [[0]]
    empty = (M, M, M, M)
    expected = (
        lp(scorer, empty, 0, 0)
        + lp(scorer, empty, 2, 1)
        + lp(scorer, (0, M, 1, M), 1, 0)
        + lp(scorer, (0, M, 1, M), 3, 1)
    )
    torch.testing.assert_close(output.scores[0, 0], expected, atol=0, rtol=0)


FORK_CODES = [(0, 0, 0), (0, 1, 1), (1, 2, 2), (1, 3, 0), (0, 3, 1)]


def fork_logits(code, user):
    if code == (M, M, M):
        # category slot 0 is the most confident but has 2 values < 3 hypotheses; slot 1 has 4
        return [[6, 0], [0, 1, 2, 3], [0, 0, 0]]
    return [[0, 0], [0, 0, 0, 0], [0.3, 0.2, 0.1]]


def test_low_confidence_forks_at_the_most_confident_slot_with_enough_values():
    scorer = TableScorer([2, 4, 3], 1, fork_logits)
    output = run(scorer, FORK_CODES, "low_confidence", num_beams=3, num_return=3)
    # hypotheses take slot 1's three best values; slot 0 is not forked although more confident
    assert scorer.calls[1] == [(M, 3, M), (M, 2, M), (M, 1, M)]
    assert len(set(output.item_indices[0].tolist())) == 3
