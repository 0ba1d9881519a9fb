"""kill -9 at any moment during an ingest, then re-run: the same store as an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from paperboard.store import open_store
from tests.spine.corpus import snapshot, write_corpus


def _ingest(data_dir, corpus, *extra):
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir)}
    env.pop("PAPERBOARD_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "paperboard", "ingest", "-q", "arxiv-daily", str(corpus), "--batch-size", "25", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_kill_9_mid_ingest_then_rerun_equals_clean_run(tmp_path):
    corpus = tmp_path / "daily"
    write_corpus(corpus, days=40, per_day=150)

    clean = _ingest(tmp_path / "clean", corpus)
    assert clean.wait(timeout=300) == 0
    with open_store(f"sqlite:///{tmp_path / 'clean' / 'paperboard.db'}") as store:
        expected = snapshot(store)

    rng = random.Random(11)
    crashed_dir = tmp_path / "crashed"
    kills = 0
    db = crashed_dir / "paperboard.db"
    for _ in range(5):
        before = _count(db)
        proc = _ingest(crashed_dir, corpus)
        # Kill at a random moment after this run has committed at least one batch.
        deadline = time.monotonic() + 60
        while proc.poll() is None and _count(db) <= before and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    assert kills >= 1, "the ingest finished before any kill: make the corpus bigger"
    # The killed runs' parse workers went with them (no orphans left behind).
    time.sleep(1.5)
    assert not _orphans(str(crashed_dir)), "a killed ingest left its worker process running"
    final = _ingest(crashed_dir, corpus)
    assert final.wait(timeout=300) == 0
    with open_store(f"sqlite:///{crashed_dir / 'paperboard.db'}") as store:
        assert snapshot(store) == expected


def _count(db: Path) -> int:
    """Rows committed so far, read with plain sqlite3 so the probe never takes a write lock."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _orphans(marker: str) -> list[int]:
    """Processes re-parented to init that belong to this test's ingests."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if stat[1] == "1" and "spawn_main" in cmdline and marker.encode() in environ:
            found.append(int(proc.name))
    return found
