"""Ingest benchmark: the whole ../shared/data/arxiv-daily corpus into an empty SQLite store.

Prints papers/s, peak RSS and store size for the first run, then the re-run: once as a user
gets it (unchanged files are skipped by fingerprint) and once forced to re-read and re-merge
every record (the no-op write path). Targets: >= 5,000 papers/s first run; re-run >= 3x faster.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "arxiv-daily"


def run(data_dir: Path, *extra: str) -> tuple[float, str, float]:
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir)}
    env.pop("PAPERBOARD_DATABASE_URL", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "paperboard", "ingest", "-q", "arxiv-daily", str(CORPUS), "--no-embed", *extra],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return elapsed, proc.stdout.strip(), peak_mb


def main() -> int:
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} not found (the shared benchmark data)", file=sys.stderr)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-ingest-"))
    try:
        first, summary, rss = run(tmp)
        papers = int(summary.split("stored ")[1].split(" ")[0].replace(",", ""))
        db = tmp / "paperboard.db"
        size = sum(p.stat().st_size for p in tmp.glob("paperboard.db*")) / 1e6
        again, again_summary, _ = run(tmp)
        forced, forced_summary, _ = run(tmp, "--force")
        print(f"corpus: {CORPUS} ({len(list(CORPUS.glob('*.jsonl.gz')))} day files)")
        print(f"first run:   {first:7.2f} s  {papers / first:8,.0f} papers/s  peak RSS {rss:6.0f} MB  store {size:6.0f} MB")
        print(f"             {summary}")
        print(f"re-run:      {again:7.2f} s  ({first / again:5.1f}x faster)  {again_summary}")
        print(f"forced:      {forced:7.2f} s  ({first / forced:5.1f}x faster)  {forced_summary}")
        print(f"target: >= 5,000 papers/s first run -> {'met' if papers / first >= 5000 else 'NOT met'};"
              f" re-run >= 3x -> {'met' if first / again >= 3 else 'NOT met'}")  # fmt: skip
        assert db.exists()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
