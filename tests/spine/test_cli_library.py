"""``paperboard library …`` end to end, as a user runs it (a subprocess), arXiv replayed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bibtexparser
import pytest
import rispy

from tests.replay_server import ReplayServer, closed_port
from tests.spine.corpus import write_corpus

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(tmp_path / "data"), "PAPERBOARD_HTTP_MAX_RETRIES": "0"}
    env.pop("PAPERBOARD_DATABASE_URL", None)

    def run(*args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "paperboard", *args], env={**env, **extra}, capture_output=True, text=True, timeout=120
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
        return proc

    write_corpus(tmp_path / "daily", days=2, per_day=10)
    run("ingest", "arxiv-daily", str(tmp_path / "daily"))
    run("users", "create", "ada", "--password", "correct horse battery")
    return run


def _ids(cli) -> list[str]:
    return [p["id"] for p in json.loads(cli("ls", "--date", "2025-06-02", "--json").stdout)]


def test_add_list_remove_and_export_in_three_formats(cli, tmp_path):
    ids = _ids(cli)[:3]
    cli("library", "add", "ada", ids[0], ids[1], "--collection", "Reading group")
    cli("library", "add", "ada", ids[2])
    listed = json.loads(cli("library", "list", "ada", "--json").stdout)
    assert [p["id"] for p in listed] == [ids[2], ids[1], ids[0]]
    for key in ("id", "title", "authors", "published", "upvotes"):
        assert key in listed[0]
    only = json.loads(cli("library", "list", "ada", "--collection", "reading group", "--json").stdout)
    assert sorted(p["id"] for p in only) == sorted(ids[:2])

    bib = bibtexparser.parse_string(cli("library", "export", "ada", "--format", "bibtex").stdout)
    assert not bib.failed_blocks and sorted(e.fields_dict["eprint"].value for e in bib.entries) == sorted(ids)
    ris = rispy.loads(cli("library", "export", "ada", "--collection", "Reading group", "--format", "ris").stdout)
    assert len(ris) == 2
    out = tmp_path / "lib.json"
    cli("library", "export", "ada", "--format", "csljson", "-o", str(out))
    assert {item["number"] for item in json.loads(out.read_text())} == {f"arXiv:{i}" for i in ids}

    cli("library", "remove", "ada", ids[0], "--collection", "Reading group")
    assert [p["id"] for p in json.loads(cli("library", "list", "ada", "--collection", "Reading group", "--json").stdout)] == [ids[1]]
    cli("library", "remove", "ada", ids[1])
    assert [p["id"] for p in json.loads(cli("library", "list", "ada", "--json").stdout)] == [ids[2], ids[0]]


def test_errors_exit_2_and_the_rest_still_lands(cli):
    ids = _ids(cli)
    proc = cli("library", "add", "ada", ids[0], "2699.99999", check=False)
    assert proc.returncode == 2 and "2699.99999" in proc.stderr
    assert [p["id"] for p in json.loads(cli("library", "list", "ada", "--json").stdout)] == [ids[0]]
    assert cli("library", "list", "nobody", check=False).returncode == 2
    assert cli("library", "list", "ada", "--collection", "missing", check=False).returncode == 2
    proc = cli("library", "dismiss", "ada", ids[0])
    assert json.loads(cli("library", "list", "ada", "--json").stdout) == []  # dismissing unsaves
    cli("library", "dismiss", "ada", ids[0], "--undo")


def test_import_matches_fetches_and_keeps_offline_ids_pending(cli, tmp_path):
    ids = _ids(cli)
    listing = tmp_path / "ids.txt"
    listing.write_text(f"https://arxiv.org/abs/{ids[0]}v2\narXiv:{ids[1]}\nnot an id at all\n2401.08001\n")
    with ReplayServer(FIXTURES / "arxiv_api") as server:
        server.route({"id_list": "2401.08001", "start": "0", "max_results": "1"}, "single.xml", path="/api/query")
        proc = cli("library", "import", "ada", str(listing), "--collection", "Imported", "--json",
                   PAPERBOARD_ARXIV_API_URL=f"{server.url}/api/query")  # fmt: skip
    report = json.loads(proc.stdout)
    assert sorted(report["saved"]) == sorted([ids[0], ids[1], "2401.08001"])
    assert report["fetched_from_arxiv"] == ["2401.08001"] and report["pending"] == []
    assert [p["position"] for p in report["problems"]] == ["3"]
    # Offline: the unknown id waits, the known ones land.
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@article{known, title={" + json.loads(cli("info", ids[2], "--json").stdout)["title"] + "}, year={2025}}\n"
        "@misc{new, title={Something}, eprint={2402.09999}, archivePrefix={arXiv}}\n"
        "@misc{broken, title={No closing brace\n"
    )
    proc = cli("library", "import", "ada", str(bib), "--json", PAPERBOARD_ARXIV_API_URL=f"http://127.0.0.1:{closed_port()}/api/query")
    report = json.loads(proc.stdout)
    assert report["saved"] == [ids[2]] and report["pending"] == ["2402.09999"] and report["offline"]
    assert len(report["problems"]) == 1
    big = tmp_path / "big.bib"
    big.write_bytes(b"@misc{x, title={" + b"a" * 10_000_000 + b"}}")
    proc = cli("library", "import", "ada", str(big), check=False)
    assert proc.returncode == 2 and "error:" in proc.stderr
    assert len(json.loads(cli("library", "list", "ada", "--json").stdout)) == 4


def test_recommend_prints_papers_with_reasons_and_never_the_marked_ones(cli):
    cli("ingest", "demo")  # 71 real papers on one day: enough text to learn from
    day = "2025-11-03"
    cold = cli("recommend", "ada", "--date", day, "--json")
    assert "showing trending" in cold.stderr and all(p["reason"].startswith("trending") for p in json.loads(cold.stdout))
    robots = [p["id"] for p in json.loads(cli("search", "robot policy", "--json").stdout)]
    cli("library", "add", "ada", *robots[:3])
    cli("library", "dismiss", "ada", robots[3])
    picks = json.loads(cli("recommend", "ada", "--date", day, "--limit", "50", "--json").stdout)
    assert picks and not {p["id"] for p in picks} & set(robots[:4])
    for key in ("id", "title", "authors", "published", "upvotes", "reason"):
        assert key in picks[0]
    assert picks[0]["because"] in robots[:3] and picks[0]["reason"].startswith("because you saved")
    scores = [p["score"] for p in picks]
    assert scores == sorted(scores, reverse=True)
    assert "because you saved" in cli("recommend", "ada", "--date", day).stdout
    assert cli("recommend", "ada", "--date", day, "--week", "2025-W45", check=False).returncode == 2
    assert cli("recommend", "nobody", check=False).returncode == 2
