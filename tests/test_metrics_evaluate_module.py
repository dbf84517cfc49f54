"""The ``evaluate`` metric module loads offline from its folder and agrees with the library metrics."""

import numpy as np
import pytest

from mindrec.evaluation import RECOMMENDATION_METRICS_PATH, ranking_metrics, validity

evaluate = pytest.importorskip("evaluate")


@pytest.fixture(scope="module")
def metric(tmp_path_factory):
    # A local folder never touches the network; offline mode makes sure nothing tries to.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_EVALUATE_OFFLINE", "1")
        yield evaluate.load(
            str(RECOMMENDATION_METRICS_PATH),
            keep_in_memory=True,
            cache_dir=str(tmp_path_factory.mktemp("evaluate")),
        )


def test_module_file_is_named_like_its_folder():
    assert (RECOMMENDATION_METRICS_PATH / f"{RECOMMENDATION_METRICS_PATH.name}.py").is_file()


def test_hand_computed_example(metric):
    result = metric.compute(predictions=[[3, 1, 2], [5, 6, 7]], references=[1, 9], k_values=[1, 3])
    assert result == pytest.approx(
        {"hr@1": 0.0, "ndcg@1": 0.0, "hr@3": 0.5, "ndcg@3": 0.5 / np.log2(3), "mrr": 0.25}
    )


def test_agrees_with_library_on_random_lists(metric):
    rng = np.random.default_rng(0)
    num_items = 15
    # Includes empty slots (-1), repeated items and out-of-range items.
    ranked = rng.integers(-1, num_items + 2, size=(200, 10))
    targets = rng.integers(0, num_items, size=200)
    result = metric.compute(predictions=ranked.tolist(), references=targets.tolist(), num_items=num_items)
    expected = ranking_metrics(ranked, targets) | {"validity": validity(ranked, num_items)}
    assert list(result) == list(expected)
    assert result == pytest.approx(expected)
    assert 0 < expected["hr@10"] < 1 and 0 < expected["validity"] < 1  # the random case is not degenerate


def test_batches_accumulate_like_one_call(metric):
    ranked, targets = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], [2, 6, 0]
    metric.add_batch(predictions=ranked[:2], references=targets[:2])
    metric.add_batch(predictions=ranked[2:], references=targets[2:])
    assert metric.compute(k_values=[1, 3]) == pytest.approx(ranking_metrics(ranked, targets, ks=(1, 3)))


def test_cut_off_beyond_list_length_is_an_error(metric):
    with pytest.raises(ValueError, match=r"each k must be in 1..3 \(the prediction list length\), got 5"):
        metric.compute(predictions=[[1, 2, 3]], references=[1], k_values=[5])
