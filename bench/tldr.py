"""TL;DR benchmark: ROUGE on SciTLDR-A dev, and how many papers/s the summariser handles.

Scoring follows the dataset (Cachola et al., 2020): each prediction is scored against every
gold TL;DR with rouge-score (no stemming), the gold with the best ROUGE-1 is kept, and that
gold's ROUGE-1/2/L F-measures are averaged over papers. Rows, measured in the same run:
the abstract's first sentence, the title, the best single abstract sentence (an oracle that
reads the golds), and ours (``paperboard.summarize.tldr``, which sees only the title and the
abstract as one text, as on ingest). Target: ours R1 >= 40.

Throughput: ``tldr()`` over the dev abstracts and over real arXiv abstracts
(../shared/data/arxiv-daily: its ~75k distinct papers), wall-clock and CPU time in this process,
every paper computed (no cache), with the load average around the run. Target >= 2,000/s.
On a shared machine the wall-clock figure is what other processes leave; CPU time is what the
summariser costs. ``--throughput`` measures only the speed (no ROUGE, a few seconds).

    .venv/bin/python bench/tldr.py [--throughput]
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperboard.summarize import MAX_WORDS, tldr  # noqa: E402
from paperboard.summarize.summarizer import load_model  # noqa: E402

SCITLDR = REPO.parent / "shared" / "bench" / "scitldr"
ARXIV_DAILY = REPO.parent / "shared" / "data" / "arxiv-daily"


def best_gold(scorer, prediction: str, golds: list[str]) -> tuple[float, float, float]:
    best = max((scorer.score(g, prediction) for g in golds), key=lambda s: s["rouge1"].fmeasure)
    return best["rouge1"].fmeasure, best["rouge2"].fmeasure, best["rougeL"].fmeasure


def rouge_table(papers: list[dict]) -> dict[str, tuple[float, float, float]]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    rows: dict[str, list[tuple[float, float, float]]] = {"first sentence": [], "title": [], "oracle sentence": [], "ours": []}
    for p in papers:
        golds, source = p["target"], p["source"]
        rows["first sentence"].append(best_gold(scorer, source[0], golds))
        rows["title"].append(best_gold(scorer, p["title"], golds))
        rows["oracle sentence"].append(max((best_gold(scorer, s, golds) for s in source), key=lambda r: r[0]))
        rows["ours"].append(best_gold(scorer, tldr(p["title"], " ".join(source)), golds))
    return {name: tuple(100 * statistics.fmean(col) for col in zip(*vals, strict=True)) for name, vals in rows.items()}


def arxiv_abstracts(limit: int | None = None) -> list[tuple[str, str]]:
    """The distinct (title, abstract) pairs of the arXiv-daily files, in file order (a paper
    listed on several days is one paper: ingest computes its TL;DR once)."""
    seen: dict[tuple[str, str], None] = {}
    for path in sorted(ARXIV_DAILY.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                seen.setdefault((rec.get("title", ""), rec.get("summary") or rec.get("abstract", "")))
                if limit is not None and len(seen) >= limit:
                    return list(seen)
    return list(seen)


def throughput(pairs: list[tuple[str, str]], repeat: int = 1) -> tuple[float, float]:
    """Every call computes (explicit weights bypass the cache of texts already seen)."""
    weights = load_model()
    tldr("warm", "Up the model. And the caches.", weights=weights)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for title, abstract in pairs:
            tldr(title, abstract, weights=weights)
    n = len(pairs) * repeat
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def main() -> int:
    dev_path = SCITLDR / "A-dev.jsonl"
    if not dev_path.is_file():
        print(f"skipped: {dev_path} not found (the shared benchmark data)", file=sys.stderr)
        return 0
    papers = [json.loads(line) for line in dev_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if "--throughput" not in sys.argv[1:]:
        report_rouge(papers)
    dev_pairs = [(p["title"], " ".join(p["source"])) for p in papers]
    wall, cpu = throughput(dev_pairs, repeat=3)
    print(f"throughput, dev abstracts:   {wall:8,.0f} papers/s wall, {cpu:8,.0f} papers/s CPU (one process)")
    if ARXIV_DAILY.is_dir():
        pairs = arxiv_abstracts()
        before = os.getloadavg()[0]
        wall, cpu = throughput(pairs)
        after = os.getloadavg()[0]
        print(f"throughput, {len(pairs):,} arXiv abstracts: {wall:8,.0f} papers/s wall, {cpu:8,.0f} papers/s CPU"
              f" (load average {before:.2f} before, {after:.2f} after, on {os.cpu_count()} CPUs)")
        print(f"target: >= 2,000 papers/s -> wall {'met' if wall >= 2000 else 'NOT met'},"
              f" CPU {'met' if cpu >= 2000 else 'NOT met'}")  # fmt: skip
    return 0


def report_rouge(papers: list[dict]) -> None:
    table = rouge_table(papers)
    print(f"SciTLDR-A dev: {len(papers)} papers, {statistics.fmean(len(p['target']) for p in papers):.2f} gold TL;DRs each"
          " (best-of-golds by ROUGE-1; rouge-score, no stemming)")  # fmt: skip
    print(f"{'':18}{'R1':>7}{'R2':>7}{'RL':>7}")
    for name, (r1, r2, rl) in table.items():
        print(f"{name:18}{r1:7.2f}{r2:7.2f}{rl:7.2f}")
    ours = [tldr(p["title"], " ".join(p["source"])) for p in papers]
    words = [len(t.split()) for t in ours]
    print(f"ours: {statistics.fmean(words):.1f} words on average, at most {max(words)} (limit {MAX_WORDS});"
          f" {sum(t == p['title'] for t, p in zip(ours, papers, strict=True))} fell back to the title")
    r1 = table["ours"][0]
    print(f"target: ours R1 >= 40 -> {'met' if r1 >= 40 else 'NOT met'} ({r1:.2f}; first sentence {table['first sentence'][0]:.2f},"
          f" oracle {table['oracle sentence'][0]:.2f})")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
