"""The CLI, run as a user runs it: a subprocess with PAPERBOARD_* in the environment."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from tests.spine.corpus import write_corpus


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("PAPERBOARD_DATABASE_URL", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "paperboard", *args], env=env, capture_output=True, text=True, timeout=120
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
        return proc

    return run


def test_help_documents_every_command(cli):
    out = cli("--help").stdout
    for command in ("ingest", "ls", "info", "search", "similar", "embed", "db", "serve", "stats"):
        assert command in out


def test_ingest_daily_then_list_and_show(cli, tmp_path):
    first_days = write_corpus(tmp_path / "daily", days=5, per_day=40)
    proc = cli("ingest", "arxiv-daily", str(tmp_path / "daily"))
    assert f"stored {len(first_days)}" in proc.stdout and "rejected 0" in proc.stdout
    again = cli("ingest", "arxiv-daily", str(tmp_path / "daily"))
    assert "stored 0 · updated 0" in again.stdout

    listed = json.loads(cli("ls", "--date", "2025-06-02", "--limit", "1000", "--json").stdout)
    expected = sorted(pid for pid, day in first_days.items() if day.isoformat() == "2025-06-02")
    assert sorted(p["id"] for p in listed) == expected
    for key in ("id", "title", "authors", "published", "upvotes"):
        assert key in listed[0]
    week = json.loads(cli("ls", "--week", "2025-W23", "--limit", "1000", "--json").stdout)
    assert len(week) == len(first_days)

    pid = expected[0]
    info = json.loads(cli("info", f"https://arxiv.org/abs/{pid}v1", "--json").stdout)
    assert info["id"] == pid and info["code_urls"] == [f"https://github.com/lab/{pid}"]


def test_bad_records_are_reported_and_the_rest_lands(cli, tmp_path):
    folder = tmp_path / "daily"
    folder.mkdir()
    good = {"id": "2506.00001", "title": "Good", "summary": "ok", "authors": ["A"], "categories": ["cs.CL"]}
    lines = [
        json.dumps(good),
        "{broken json",
        json.dumps({**good, "id": "not an id"}),
        json.dumps({**good, "id": "2506.00002", "title": ""}),
        json.dumps({**good, "id": "2506.00003", "summary": "x" * 3_000_000}),
        json.dumps({**good, "id": "2506.00004", "title": "Also good"}),
    ]
    with gzip.open(folder / "2025-06-02.jsonl.gz", "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    proc = cli("ingest", "arxiv-daily", str(folder))
    assert "read 6 · stored 2" in proc.stdout and "rejected 4" in proc.stdout
    assert "2025-06-02.jsonl.gz:2: invalid JSON" in proc.stderr
    assert "2025-06-02.jsonl.gz:3:" in proc.stderr and "2025-06-02.jsonl.gz:4: title" in proc.stderr
    assert "2025-06-02.jsonl.gz:5:" in proc.stderr


def test_nothing_readable_exits_2(cli, tmp_path):
    (tmp_path / "2025-06-02.jsonl").write_text("garbage\n")
    proc = cli("ingest", "arxiv-daily", str(tmp_path / "2025-06-02.jsonl"), check=False)
    assert proc.returncode == 2 and "nothing could be read" in proc.stderr
    missing = cli("ingest", "arxiv-daily", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 2


def test_search_and_errors_go_to_stderr_with_exit_2(cli, tmp_path):
    write_corpus(tmp_path / "daily", days=2, per_day=20)
    cli("ingest", "arxiv-daily", str(tmp_path / "daily"))
    hits = json.loads(cli("search", "2506.00003", "--json").stdout)
    assert hits[0]["id"] == "2506.00003"
    hits = json.loads(cli("search", "diffusion", "policy", "--json").stdout)
    assert hits and all("score" in h for h in hits)
    for args in (("search", "--", "-only"), ("search", "x" * 1200), ("info", "nope"), ("ls", "--week", "2025-W99")):
        proc = cli(*args, check=False)
        assert proc.returncode == 2 and proc.stderr.startswith("error:") and proc.stdout == ""


def test_db_migrate_and_stats(cli):
    assert "schema at version" in cli("db", "migrate").stdout
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["papers"] == 0 and stats["schema_version"] >= 1


def test_similar_lists_papers_like_one_and_ingest_keeps_the_stronger_model_current(cli, tmp_path):
    from paperboard.store import open_store

    write_corpus(tmp_path / "daily", days=2, per_day=30)
    cli("ingest", "-q", "arxiv-daily", str(tmp_path / "daily"))
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'paperboard.db'}")
    pid = next(iter(store.iter_paper_ids()))[0]
    out = json.loads(cli("similar", pid, "--limit", "5", "--json").stdout)
    assert 0 < len(out) <= 5 and pid not in [p["id"] for p in out]
    for key in ("id", "title", "authors", "published", "upvotes", "score"):
        assert key in out[0]
    assert [p["score"] for p in out] == sorted((p["score"] for p in out), reverse=True)
    bad = cli("similar", "0000.00000", check=False)
    assert bad.returncode == 2 and "no paper" in bad.stderr and not bad.stdout
    neither = cli("similar", check=False)
    assert neither.returncode == 2 and "--all" in neither.stderr
    kept = json.loads(cli("similar", "--all", "--json").stdout)
    assert kept["scored"] == store.count_papers() - 1  # every paper but the one just shown
    assert store.unkept_similar_keys(5) == [] and json.loads(cli("similar", "--all", "--json").stdout)["scored"] == 0
    # Until the stronger model is opted in to, ingest computes only the corpus model's vectors.
    assert store.vector_stats("minilm-l6-int8")[0] == 0
    cli("embed", "--model", "minilm-l6-int8")
    n = store.count_papers()
    assert store.vector_stats("minilm-l6-int8")[0] == store.vector_stats("minilm-l6-int8/title")[0] == n
    write_corpus(tmp_path / "more", days=3, per_day=30)  # one new day
    cli("ingest", "-q", "arxiv-daily", str(tmp_path / "more"))
    assert store.count_papers() > n
    for model in ("minilm-static-256", "minilm-l6-int8", "minilm-l6-int8/title"):
        assert store.count_without_vectors(model) == 0, model
    store.close()


def test_embed_computes_every_vector_the_default_search_uses_and_stats_counts_them(cli, tmp_path):
    write_corpus(tmp_path / "daily", days=1, per_day=25)
    cli("ingest", "-q", "arxiv-daily", str(tmp_path / "daily"))
    before = json.loads(cli("stats", "--json").stdout)
    n = before["papers"]
    assert n > 0 and before["vectors"] == {"minilm-static-256": n, "minilm-l6-int8": 0, "minilm-l6-int8/title": 0}
    proc = cli("embed")
    assert f"embedded {n:,} papers with minilm-l6-int8" in proc.stderr
    after = json.loads(cli("stats", "--json").stdout)
    assert after["vectors"] == {"minilm-static-256": n, "minilm-l6-int8": n, "minilm-l6-int8/title": n}
    again = cli("embed")  # nothing left: resumes as a no-op
    assert "embedded 0 papers with minilm-l6-int8/title" in again.stderr
