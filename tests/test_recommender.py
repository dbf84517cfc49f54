"""MindRecRecommender: raw item ids in, item ids / scores / titles / category paths out, from a saved folder."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch
from workflow_support import save_untrained_run, write_beauty_folder

from mindrec import MindRecRecommender, Recommendation
from mindrec.evaluation.model_evaluation import mindrec_recommender
from mindrec.training.model_io import load_trained_model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny model on raw Beauty-style ids (101..130), saved with 5 beams / 5 items, items.jsonl beside it."""
    root = tmp_path_factory.mktemp("recommender")
    data_dir = write_beauty_folder(root / "beauty")
    model_dir, _ = save_untrained_run(root / "run", data=str(data_dir), max_history=None)
    shutil.copy(data_dir / "items.jsonl", model_dir / "items.jsonl")
    return model_dir


def test_one_user_matches_the_models_own_decoding_with_the_saved_config(folder):
    recommender = MindRecRecommender.from_pretrained(folder, device="cpu")
    result = recommender.recommend(["105", "117", "105", "130"])
    assert isinstance(result, Recommendation) and recommender.device == torch.device("cpu")
    trained = load_trained_model(folder)
    history = [trained.tokenizer.index_of(item) for item in ["105", "117", "105", "130"]]
    direct = mindrec_recommender(trained.model, trained.tokenizer, trained.generation_config)([history])
    assert result.item_ids == [trained.tokenizer.item_id_of(index) for index in direct.item_indices[0].tolist()]
    assert result.scores == pytest.approx(direct.scores[0].tolist(), abs=1e-6)
    assert len(result.item_ids) == 5  # the folder's num_return_items
    assert result.titles == [f"Item {item}" for item in result.item_ids]
    # The shared root "Beauty" is dropped when codes are built; two levels are kept (num_category_levels=2).
    assert result.categories == [[f"Group {int(item) % 3}", f"Kind {int(item) % 5}"] for item in result.item_ids]


def test_many_users_are_batched_and_k_widens_the_list(folder):
    recommender = MindRecRecommender.from_pretrained(folder, device="cpu")
    histories = [["101"], ["102", "103"], ["110", "111", "112"]]
    together = recommender.recommend(histories, k=7, batch_size=2)
    alone = [recommender.recommend(history, k=7) for history in histories]
    assert [result.item_ids for result in together] == [result.item_ids for result in alone]
    assert [len(result.item_ids) for result in together] == [7, 7, 7]
    assert all(result.scores == sorted(result.scores, reverse=True) for result in together)


def test_unknown_item_ids_error_or_are_skipped_with_a_warning(folder, caplog):
    recommender = MindRecRecommender.from_pretrained(folder, device="cpu")
    with pytest.raises(ValueError, match=r"user 0 \(batch position\): item id\(s\) \['B000NOPE'\] are not in the model's catalogue of 30 items; pass unknown_items='skip'"):
        recommender.recommend(["101", "B000NOPE"])
    with caplog.at_level(logging.WARNING, logger="mindrec.recommender"):
        skipped = recommender.recommend(["101", "B000NOPE"], unknown_items="skip")
    assert "skipped 1 unknown item id(s) ['B000NOPE']" in caplog.text
    assert skipped.skipped == ["B000NOPE"]
    assert skipped.item_ids == recommender.recommend(["101"]).item_ids
    with pytest.raises(TypeError, match=r"item ids are strings, got 101"):
        recommender.recommend([101])
    with pytest.raises(ValueError, match=r"k must be an integer in 1..30"):
        recommender.recommend(["101"], k=31)


def test_titles_come_from_an_item_table_argument(folder):
    recommender = MindRecRecommender.from_pretrained(folder, device="cpu", item_table={"101": "Lipstick"})
    result = recommender.recommend(["102"], k=30)
    assert result.titles[result.item_ids.index("101")] == "Lipstick"
    assert {title for item, title in zip(result.item_ids, result.titles, strict=True) if item != "101"} == {""}


def test_titles_come_from_an_item_table_file(folder, tmp_path):
    (tmp_path / "items.csv").write_text("item_id,title,brand\n101,Lipstick,X\n102,Mascara,Y\n")
    recommender = MindRecRecommender.from_pretrained(folder, device="cpu", item_table=str(tmp_path / "items.csv"))
    result = recommender.recommend(["105"], k=30)
    titles = dict(zip(result.item_ids, result.titles, strict=True))
    assert (titles["101"], titles["102"], titles["103"]) == ("Lipstick", "Mascara", "")
