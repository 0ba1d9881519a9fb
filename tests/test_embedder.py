"""The shipped embedding models load offline and produce meaningful unit vectors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from paperboard.search import embedder as emb
from paperboard.search.embedder import (
    AVAILABLE,
    DEFAULT_EMBEDDER,
    Embedder,
    ModelFilesMissing,
    load_embedder,
    paper_text,
)

EXPECTED_DIM = {"minilm-static-256": 256, "minilm-l6-int8": 384}

QUERY = paper_text(
    "Graph neural networks for molecular property prediction",
    "We learn representations of molecules as graphs of atoms and bonds with message passing "
    "networks and predict chemical properties such as solubility and toxicity.",
)
RELATED = paper_text(
    "Message passing on molecular graphs",
    "A neural network operating on atoms and chemical bonds predicts quantum-chemical "
    "properties of small molecules.",
)
UNRELATED = paper_text(
    "Medieval trade routes of the Hanseatic League",
    "We study merchant guilds, shipping of grain and timber, and the towns of the Baltic coast "
    "in the fourteenth century.",
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the Hugging Face hub would fail loudly rather than download."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(params=AVAILABLE)
def model(request: pytest.FixtureRequest) -> Embedder:
    return load_embedder(request.param)


def test_default_is_the_fast_corpus_model() -> None:
    assert load_embedder().name == DEFAULT_EMBEDDER
    assert load_embedder() is load_embedder(DEFAULT_EMBEDDER)  # loaded once, shared


def test_vectors_are_unit_float32_of_model_dim(model: Embedder) -> None:
    vecs = model.encode([QUERY, RELATED, UNRELATED])
    assert isinstance(model, Embedder)
    assert model.dim == EXPECTED_DIM[model.name]
    assert vecs.shape == (3, model.dim)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_related_paper_scores_higher_than_unrelated(model: Embedder) -> None:
    q, rel, unrel = model.encode([QUERY, RELATED, UNRELATED])
    assert q @ rel > q @ unrel + 0.1


def test_title_finds_its_own_abstract_among_others(model: Embedder) -> None:
    titles = [
        "Convolutional networks for image segmentation",
        "Reinforcement learning for robotic grasping",
        "Speech recognition with recurrent networks",
    ]
    abstracts = [
        "We label every pixel of an image with a fully convolutional encoder-decoder.",
        "A robot arm learns by trial and error to pick up unseen objects with a policy network.",
        "Acoustic frames are transcribed into words by an LSTM trained with CTC loss.",
    ]
    sims = model.encode(titles) @ model.encode(abstracts).T
    assert list(sims.argmax(axis=1)) == [0, 1, 2]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_encode_query_matches_batch_encoding(model: Embedder) -> None:
    batch = model.encode(["a short text", QUERY, RELATED], batch_size=2)
    assert float(model.encode_query(QUERY) @ batch[1]) > 0.995


def test_a_query_asked_again_is_not_encoded_again(model: Embedder, monkeypatch) -> None:
    from paperboard.search import embedder as embedder_module

    first = model.encode_query(QUERY + " again")
    assert not first.flags.writeable  # shared between requests: no caller may change it
    calls = []
    monkeypatch.setattr(model, "encode", lambda texts, *a, **k: calls.append(texts) or np.ones((1, model.dim), np.float32))
    assert model.encode_query(QUERY + " again") is first and not calls
    monkeypatch.setattr(embedder_module, "QUERY_CACHE_SIZE", 2)
    for text in ("one", "two", "three"):
        model.encode_query(text)
    assert len(calls) == 3
    model.encode_query(QUERY + " again")  # pushed out by the three newer queries
    assert len(calls) == 4
    model.__dict__.pop("_queries")  # the model is shared by the process: drop the fake vectors


def test_order_and_batch_size_barely_change_vectors(model: Embedder) -> None:
    """Not bit-identical for the int8 model: dynamic quantisation picks its activation scale
    per batch. Close enough that rankings do not depend on how a corpus was batched."""
    texts = [QUERY, "tiny", UNRELATED, RELATED * 3]
    a = model.encode(texts, batch_size=1)
    b = model.encode(texts[::-1], batch_size=3)[::-1]
    assert _cosines(a, b).min() > 0.97


def test_blank_text_gives_zero_vector_and_others_unaffected(model: Embedder) -> None:
    vecs = model.encode(["", "   ", QUERY])
    assert not vecs[:2].any()
    assert float(vecs[2] @ model.encode_query(QUERY)) > 0.995
    assert model.encode([]).shape == (0, model.dim)


def test_very_long_and_unicode_text(model: Embedder) -> None:
    long_text = QUERY + " " + "word " * 200_000
    texts = [
        long_text,
        "Schrödinger équation — 量子力学 😀 \u200b\x00 ∇·E = ρ/ε₀",
        "lone surrogate \ud800 from bad JSON",
    ]
    vecs = model.encode(texts)
    assert np.isfinite(vecs).all()
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_a_single_string_is_rejected_not_split_into_characters(model: Embedder) -> None:
    with pytest.raises(TypeError):
        model.encode(QUERY)


def test_paper_text_joins_title_and_abstract() -> None:
    assert paper_text("Attention Is All You Need", "  We propose\n the Transformer. ") == (
        "Attention Is All You Need. We propose the Transformer."
    )
    assert paper_text("Title ends with a dot.", "Body") == "Title ends with a dot. Body"
    assert paper_text("Only title", None) == "Only title"
    assert paper_text(None, "only abstract") == "only abstract"
    assert paper_text("", "") == ""


def test_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="known: minilm"):
        load_embedder("specter2")


@pytest.mark.parametrize("name", AVAILABLE)
def test_missing_model_files_raise_a_clear_error(tmp_path, name: str) -> None:
    with pytest.raises(ModelFilesMissing, match="build_models.py"):
        load_embedder(name, models_dir=tmp_path)
    shutil.copytree(emb.MODELS_DIR / name, tmp_path / name)
    victim = "model.onnx" if name == "minilm-l6-int8" else "model.safetensors"
    (tmp_path / name / victim).unlink()
    with pytest.raises(ModelFilesMissing, match=victim):
        load_embedder(name, models_dir=tmp_path)


def test_import_is_cheap_and_needs_no_torch() -> None:
    """The product venv has no torch; importing the module must not pull in a runtime."""
    code = (
        "import sys; import paperboard.search.embedder as e; "
        "heavy = [m for m in ('onnxruntime', 'model2vec', 'tokenizers', 'torch') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "m = e.load_embedder(); m.encode(['x']); "
        "assert 'torch' not in sys.modules"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_progress_bar_does_not_change_results() -> None:
    model = load_embedder()
    texts = [QUERY, RELATED, UNRELATED]
    np.testing.assert_allclose(
        model.encode(texts, batch_size=2, progress=True), model.encode(texts), atol=1e-6
    )
    with pytest.raises(ValueError):
        model.encode(texts, batch_size=0)


AWKWARD = [
    "Plain ASCII: graph neural networks, 3D point-clouds & LLMs (GPT-4o) at 99.5% [1].",
    "snake_case_words and CamelCase, e-mail@host.org, URLs https://x.y/z?q=1#f, ~tilde `code` {x}|y\\z",
    "Accents: Schrödinger, naïve Bayes, Erdős–Rényi graphs — “quoted” text…",
    "CJK 图神经网络 mixed with ASCII and emoji 🙂 and Ω ≤ ∞",
    "Control\x0bcharacters\x0cand\x07bell\x00nul and tabs\tnewlines\ncarriage\rreturns",
    "A word longer than a hundred characters: " + "x" * 150 + " then more words",
    " ".join(f"word{i} deep-learning" for i in range(900)),  # past 512 tokens and past the character cut
    "!!! ??? ... ---",
    "x",
]


def _static_model():
    model = load_embedder("minilm-static-256")
    return model, model._model


def test_the_static_models_ids_are_the_tokenizers_exactly() -> None:
    """The word-cached tokens (search/static_tokens.py) against model2vec's own tokenize, after
    its character cut, on text made to differ: punctuation, accents, CJK, control characters,
    a word over WordPiece's limit, text past 512 tokens; then the vectors against model2vec's."""
    model, m2v = _static_model()
    assert m2v.max_length == 512
    cut = [t[: m2v.max_length * m2v.median_token_length] for t in AWKWARD]
    ids = model._tokens.ids(AWKWARD)
    assert ids == m2v.tokenize(cut)
    assert ids == model._tokens.ids(AWKWARD)  # from the cache now
    assert len(ids[6]) == 512
    mine = model.encode(AWKWARD)
    theirs = m2v.encode(AWKWARD, max_length=512, use_multiprocessing=False).astype(np.float32)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.min(np.sum(mine * theirs, axis=1)) > 0.99999


def test_the_static_models_ids_are_the_tokenizers_on_real_abstracts(shared_dir) -> None:
    import gzip
    import json

    texts = []
    for path in sorted((shared_dir / "data" / "arxiv-daily").glob("*.jsonl.gz"))[:3]:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            texts += [paper_text(r.get("title"), r.get("summary")) for r in map(json.loads, fh)]
    model, m2v = _static_model()
    assert len(texts) > 500
    cut = [t[: m2v.max_length * m2v.median_token_length] for t in texts]
    assert model._tokens.ids(texts) == m2v.tokenize(cut)
