"""The worker's daily ingestion: an OAI-PMH harvest from the last harvested day, then embedding."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from paperboard.ingest import LAST_HARVEST, run_scheduled_ingest
from paperboard.sources.http import SourceUnavailable
from tests.replay_server import ReplayServer, closed_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "oai"


def _harvest_a_day(settings, store):
    """The worker's step for 2024-01-16 against two recorded OAI-PMH pages."""
    with ReplayServer(FIXTURES) as server:
        window = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": "2024-01-15", "until": "2024-01-16", "set": "cs"}
        server.route(window, "raw-page1.xml")
        server.route({"verb": "ListRecords", "resumptionToken": "6960525|1001"}, "raw-page2.xml")
        s = settings.model_copy(update={"arxiv_oai_url": f"{server.url}/oai", "oai_set": "cs"})
        store.set_checkpoint(LAST_HARVEST, "2024-01-15")
        return run_scheduled_ingest(s, store, today=date(2024, 1, 16)), server


def test_daily_harvest_stores_embeds_and_remembers_the_day(settings, tmp_store):
    summary, server = _harvest_a_day(settings, tmp_store)
    assert summary.stored > 0 and server.unmatched == []
    assert tmp_store.get_checkpoint(LAST_HARVEST) == "2024-01-16"
    assert tmp_store.count_without_vectors("minilm-static-256") == 0
    assert tmp_store.vector_stats("minilm-l6-int8")[0] == 0  # not opted in to the stronger model


def test_daily_harvest_keeps_the_stronger_models_vectors_current_once_in_use(settings, tmp_store):
    from paperboard.models import Paper
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing

    tmp_store.upsert_papers([Paper(id="2401.00001", title="An earlier paper", abstract="Text.", feed_day="2024-01-14")])
    embed_missing(tmp_store, load_embedder("minilm-l6-int8"))  # the installation opted in
    summary, server = _harvest_a_day(settings, tmp_store)
    assert summary.stored > 0
    for model in ("minilm-static-256", "minilm-l6-int8", "minilm-l6-int8/title"):
        assert tmp_store.count_without_vectors(model) == 0, model


def test_offline_daily_harvest_raises_and_keeps_the_day(settings, tmp_store):
    s = settings.model_copy(update={"arxiv_oai_url": f"http://127.0.0.1:{closed_port()}/oai", "http_max_retries": 0})
    tmp_store.set_checkpoint(LAST_HARVEST, "2024-01-15")
    with pytest.raises(SourceUnavailable):
        run_scheduled_ingest(s, tmp_store, today=date(2024, 1, 16))
    assert tmp_store.get_checkpoint(LAST_HARVEST) == "2024-01-15"
