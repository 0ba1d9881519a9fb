"""A synthetic arXiv-daily corpus for tests: realistic shape, deterministic, no shared data needed."""

from __future__ import annotations

import gzip
import json
import random
from datetime import date, timedelta
from pathlib import Path

WORDS = (
    "diffusion policy language model reinforcement learning agent vision transformer graph neural "
    "retrieval benchmark robot alignment preference optimization sparse attention quantum protein "
    "segmentation tokenizer reasoning multimodal video speech translation federated privacy"
).split()


def write_corpus(folder: Path, *, days: int = 12, per_day: int = 60, seed: int = 7) -> dict[str, date]:
    """Write day files; ~20% of each day's records re-list an earlier paper (an update).

    Returns the expected first feed day of every paper id.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    first_day: dict[str, date] = {}
    start = date(2025, 6, 2)
    serial = 0
    for d in range(days):
        day = start + timedelta(days=d)
        lines = []
        for _ in range(per_day):
            if first_day and rng.random() < 0.2:
                pid = rng.choice(sorted(first_day))
            else:
                serial += 1
                pid = f"2506.{serial:05d}"
                first_day[pid] = day
            title_words = rng.sample(WORDS, 6)
            rec = {
                "id": pid,
                "title": " ".join(title_words).title() + f" {pid}",
                "summary": " ".join(rng.choice(WORDS) for _ in range(80)) + f" Code: https://github.com/lab/{pid}.",
                "authors": [f"Author {rng.randint(1, 200)}" for _ in range(rng.randint(1, 6))],
                "categories": rng.sample(["cs.CL", "cs.CV", "cs.LG", "cs.RO", "stat.ML"], 2),
                "comment": rng.choice([None, "10 pages", "Accepted at ACL"]),
                "abs": f"https://arxiv.org/abs/{pid}",
                "pdf": f"https://arxiv.org/pdf/{pid}",
            }
            lines.append(json.dumps(rec))
        with gzip.open(folder / f"{day.isoformat()}.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return first_day


def snapshot(store) -> dict[str, dict]:
    """Every paper as its public dict, keyed by id: what 'the same store' means in tests."""
    out: dict[str, dict] = {}
    for ids in store.iter_paper_ids(batch_size=500):
        for pid, paper in store.get_papers(ids).items():
            out[pid] = paper.to_public()
    return out
