"""``embed`` reads papers from the store in large batches, but the model encodes in its own
small ones: 512 abstracts padded to 256 tokens in one transformer call held ~15 GB at 75k."""

from __future__ import annotations

from paperboard.models import Paper
from paperboard.search.embedder import ONNX_MODEL, load_embedder
from paperboard.search.embedding import embed_missing
from paperboard.store import open_store


def test_the_transformer_encodes_in_its_own_batch_size_whatever_the_store_batch(tmp_path, monkeypatch):
    store = open_store(f"sqlite:///{tmp_path / 'pb.db'}")
    store.upsert_papers([Paper(id=f"2506.{i:05d}", title=f"Paper {i}", abstract="A short abstract. " * 3,
                               feed_day="2025-06-02") for i in range(80)])  # fmt: skip
    model = load_embedder(ONNX_MODEL)
    sizes: list[int] = []
    real = type(model)._encode_batch
    monkeypatch.setattr(type(model), "_encode_batch", lambda self, texts: sizes.append(len(texts)) or real(self, texts))
    summary = embed_missing(store, model, batch_size=512)
    assert summary.embedded == 80 and summary.remaining == 0
    assert max(sizes) == model.default_batch_size == 32
    store.close()
