"""``paperboard ingest oai|arxiv-api`` end to end against a local server replaying arXiv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.replay_server import ReplayServer, closed_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def cli(tmp_path):
    base_env = {**os.environ, "PAPERBOARD_DATA_DIR": str(tmp_path / "data"), "PAPERBOARD_HTTP_MAX_RETRIES": "0"}
    base_env.pop("PAPERBOARD_DATABASE_URL", None)

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "paperboard", *args], env={**base_env, **env},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    return run


def test_ingest_oai_harvests_every_page_and_a_rerun_changes_nothing(cli):
    with ReplayServer(FIXTURES / "oai") as server:
        window = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2024-01-15", "until": "2024-01-16"}
        server.route(window, "arxiv-page1.xml")
        server.route({"verb": "ListRecords", "resumptionToken": "6960524|1001"}, "arxiv-page2.xml")
        server.route({"verb": "ListRecords", "resumptionToken": "6960524|2001"}, "arxiv-page3.xml")
        url = f"{server.url}/oai"
        first = cli("ingest", "oai", "--from", "2024-01-15", "--until", "2024-01-16", PAPERBOARD_ARXIV_OAI_URL=url)
        assert first.returncode == 0, first.stderr
        assert " · rejected 1" in first.stdout  # the record without an <id>
        stored = int(first.stdout.split("stored ")[1].split(" ")[0])
        assert stored > 0
        again = cli("ingest", "oai", "--from", "2024-01-15", "--until", "2024-01-16", PAPERBOARD_ARXIV_OAI_URL=url)
        assert "stored 0 · updated 0" in again.stdout
        listed = json.loads(cli("ls", "--month", "2024-01", "--limit", "100", "--json").stdout)
        assert len(listed) == stored


def test_ingest_arxiv_api_ids(cli):
    with ReplayServer(FIXTURES / "arxiv_api") as server:
        server.route({"id_list": "2401.08001", "start": "0", "max_results": "1"}, "single.xml", path="/api/query")
        proc = cli("ingest", "arxiv-api", "https://arxiv.org/abs/2401.08001", PAPERBOARD_ARXIV_API_URL=f"{server.url}/api/query")
    assert proc.returncode == 0, proc.stderr
    assert "stored 1" in proc.stdout
    info = json.loads(cli("info", "2401.08001", "--json").stdout)
    assert info["id"] == "2401.08001" and info["authors"]


def test_offline_network_source_is_a_clear_error_and_stores_nothing(cli):
    dead = f"http://127.0.0.1:{closed_port()}"
    proc = cli("ingest", "oai", "--from", "2024-01-15", PAPERBOARD_ARXIV_OAI_URL=f"{dead}/oai")
    assert proc.returncode == 2
    assert "cannot reach" in proc.stderr and "offline" in proc.stderr
    proc = cli("ingest", "arxiv-api", "2401.08001", PAPERBOARD_ARXIV_API_URL=f"{dead}/api/query")
    assert proc.returncode == 2 and "cannot reach" in proc.stderr
    assert json.loads(cli("stats", "--json").stdout)["papers"] == 0
