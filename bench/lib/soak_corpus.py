"""The soak's corpora: a private copy of a store, the day files to ingest while it runs, and
the newest-N slice PostgreSQL gets when copying the whole 75k store takes too long.

The prepared 75k store (bench/lib/corpus.py) is shared by every benchmark and never written:
each run copies it. It already holds every day of ../shared/data/arxiv-daily, so the days it
ingests during a run are its newest day files re-issued after the last day under fresh ids
(2607.9xxxx), the way bench/search_speed.py grows its 1M corpus from the same papers.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from .corpus import CORPUS, REPO, prepared_75k

PYTHON = sys.executable


@dataclass
class Corpus:
    """A data dir the run may change, and the day files to ingest while it runs."""

    name: str
    data_dir: Path
    new_days: list[Path]
    new_ids: list[str] = field(default_factory=list)
    note: str = ""


def cli(env: dict, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "paperboard", *args], env=env, cwd=REPO, check=True,
                          capture_output=quiet, text=True)  # fmt: skip


def env_for(url: str, data_dir: Path) -> dict:
    env = {**os.environ, "PAPERBOARD_DATABASE_URL": url, "PAPERBOARD_DATA_DIR": str(data_dir),
           "PAPERBOARD_SECRET_KEY": "soak-secret"}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _day_ids(path: Path) -> list[str]:
    with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as f:
        return [json.loads(line)["id"] for line in f if line.strip()]


def quick_corpus(work: Path) -> Corpus:
    """The demo plus five real days; the next three real days arrive during the run."""
    days = sorted(CORPUS.glob("*.jsonl*"))
    data = work / "base"
    data.mkdir(parents=True)
    env = env_for(f"sqlite:///{data / 'paperboard.db'}", data)
    cli(env, "ingest", "-q", "demo")
    cli(env, "ingest", "-q", "arxiv-daily", *map(str, days[-8:-3]))
    new = days[-3:]
    return Corpus("small (demo + 5 days)", data, new, [i for d in new for i in _day_ids(d)],
                  f"ingested during the run: {', '.join(d.name for d in new)} (real days the store lacks)")  # fmt: skip


def full_corpus(work: Path, n_days: int, log) -> Corpus:
    """A private copy of the prepared 75k store, and new day files copied from its newest days."""
    source = prepared_75k(log=log)
    data = work / "base"
    began = time.perf_counter()
    shutil.copytree(source.resolve(), data, symlinks=False)
    log(f"copied {source} to {data} in {time.perf_counter() - began:.0f} s")
    days = sorted(CORPUS.glob("*.jsonl*"))
    last = date.fromisoformat(days[-1].name[:10])
    out_dir = work / "new-days"
    out_dir.mkdir()
    serial = 90000
    new_files, new_ids = [], []
    for k, src in enumerate(days[-n_days:], 1):
        target = out_dir / f"{last + timedelta(days=k)}.jsonl.gz"
        with gzip.open(src, "rt") as f, gzip.open(target, "wt") as g:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                new_id = f"2607.{serial:05d}"
                serial += 1
                for key in ("abs", "pdf"):
                    if isinstance(rec.get(key), str):
                        rec[key] = rec[key].replace(rec["id"], new_id)
                rec["id"] = new_id
                new_ids.append(new_id)
                g.write(json.dumps(rec) + "\n")
        new_files.append(target)
    note = (f"ingested during the run: {len(new_files)} new days after {last} (the records of the newest "
            f"{n_days} days under fresh ids 2607.9xxxx: the store already holds every real day)")  # fmt: skip
    return Corpus("75k (prepared, every vector)", data, new_files, new_ids, note)


def newest_slice(source: Path, target: Path, papers: int, log) -> int:
    """A SQLite store at ``target`` with the newest whole days of ``source`` up to about
    ``papers`` papers, and every vector the default search uses for them; returns the count."""
    import numpy as np

    from paperboard.search.embedding import default_search_vectors
    from paperboard.search.similar import view_name
    from paperboard.store import open_store
    from paperboard.store.base import PaperQuery

    kinds = [view_name(m, v) for m, v in default_search_vectors()]
    began = time.perf_counter()
    with open_store(f"sqlite:///{source}") as src, open_store(f"sqlite:///{target}") as dst:
        days, total = [], 0
        for d in src.feed_days():
            if total >= papers:
                break
            days.append(d)
            total += src.count_papers(PaperQuery(start=d, end=d))
        query = PaperQuery(start=days[-1], end=days[0], sort="date", limit=total + 1000)
        ids = [p.id for p in src.list_papers(query)]
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            found = src.get_papers(chunk)
            dst.upsert_papers(list(found.values()))
            keys, new_keys = src.paper_keys(chunk), dst.paper_keys(chunk)
            for kind in kinds:
                vectors = src.get_vectors(kind, [keys[i] for i in chunk if i in keys])
                have = [i for i in chunk if i in keys and keys[i] in vectors and i in new_keys]
                if have:
                    rows = np.asarray([vectors[keys[i]] for i in have], dtype=np.float32)
                    dst.put_vectors(kind, [new_keys[i] for i in have], rows)
    log(f"newest {len(ids):,} papers ({days[-1]} to {days[0]}) sliced in {time.perf_counter() - began:.0f} s")
    return len(ids)
