#!/usr/bin/env python3
"""Train the TL;DR scorer (paperboard/summarize/tldr_model.json) from SciTLDR-A train.

Each candidate of a paper (``paperboard.summarize.candidates``) is labelled with its ROUGE-1
F against the gold TL;DR (rouge-score, no stemming; the best gold when there are several).
Labels and features are both taken as differences from their paper's mean before a ridge
regression fits them: the model learns which candidate of a paper is better, not which papers
are easy nor which papers have long sentences, and that is all the choice needs (a paper's
candidates all share its mean). Its strength is chosen by 5-fold cross-validation on train
(seeded folds), scoring what ``tldr()`` would print. The dev split is never read here:
``bench/tldr.py`` reports it.

    .venv/bin/python scripts/train_tldr.py [--data ../shared/bench/scitldr/A-train.jsonl]
        [--out paperboard/summarize/tldr_model.json] [--limit N] [--seed 0]

Same data and seed, same file, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperboard.summarize.candidates import FEATURES, candidates  # noqa: E402
from paperboard.summarize.summarizer import MAX_WORDS, MODEL_PATH, tldr  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "bench" / "scitldr" / "A-train.jsonl"
ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5


def rouge1(scorer, prediction: str, golds: list[str]) -> float:
    return max(scorer.score(g, prediction)["rouge1"].fmeasure for g in golds)


def load(path: Path, limit: int | None, seed: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit is not None and limit < len(rows):
        pick = np.random.default_rng(seed).choice(len(rows), size=limit, replace=False)
        rows = [rows[i] for i in sorted(pick)]
    return rows


def labelled(papers: list[dict], scorer) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) per paper, both centred on the paper's mean, over the candidates
    ``tldr()`` chooses among."""
    out = []
    for p in papers:
        found = candidates(p["title"], " ".join(p["source"]), max_words=MAX_WORDS)
        if len(found) < 2:
            out.append((np.zeros((0, len(FEATURES))), np.zeros(0)))
            continue
        x = np.array([c.features for c in found])
        y = np.array([rouge1(scorer, c.text, p["target"]) for c in found])
        out.append((x - x.mean(axis=0), y - y.mean()))
    return out


def fit_ridge(rows: list[tuple[np.ndarray, np.ndarray]], alpha: float) -> np.ndarray:
    x = np.vstack([f for f, _ in rows])
    y = np.concatenate([t for _, t in rows])
    # A feature constant within every paper (the bias) is all zeros once centred: the penalty
    # alone sets its weight to 0, which is right, as it never changes a choice.
    w = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ y)
    return np.round(w, 8)


def cross_validate(papers, rows, scorer, alpha: float, folds: np.ndarray) -> float:
    scores = []
    for k in range(FOLDS):
        w = tuple(float(v) for v in fit_ridge([r for r, f in zip(rows, folds, strict=True) if f != k], alpha))
        for p, f in zip(papers, folds, strict=True):
            if f == k:
                scores.append(rouge1(scorer, tldr(p["title"], " ".join(p["source"]), weights=w), p["target"]))
    return float(np.mean(scores))


def train(data: Path, *, limit: int | None = None, seed: int = 0, log=print) -> dict:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=False)
    papers = load(data, limit, seed)
    rows = labelled(papers, scorer)
    folds = np.random.default_rng(seed).permutation(len(papers)) % FOLDS
    cv = {}
    for alpha in ALPHAS:
        cv[alpha] = cross_validate(papers, rows, scorer, alpha, folds)
        log(f"alpha {alpha:>5}: cross-validated ROUGE-1 {100 * cv[alpha]:.2f}")
    alpha = max(ALPHAS, key=lambda a: (round(cv[a], 6), -a))
    weights = fit_ridge(rows, alpha)
    return {
        "kind": "linear candidate scorer (ridge on ROUGE-1 and features centred per paper)",
        "trained_on": data.name,
        "data_sha1": hashlib.sha1(data.read_bytes()).hexdigest(),
        "papers": len(papers),
        "seed": seed,
        "alpha": alpha,
        "cv_rouge1": {str(a): round(100 * v, 2) for a, v in cv.items()},
        "max_words": MAX_WORDS,
        "features": list(FEATURES),
        "weights": [float(w) for w in weights],
    }


def dump(model: dict) -> str:
    return json.dumps(model, indent=1) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--limit", type=int, default=None, help="train on a seeded sample of this many papers")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not args.data.is_file():
        print(f"error: {args.data} not found (SciTLDR-A train, ../shared/bench/scitldr/)", file=sys.stderr)
        return 2
    model = train(args.data, limit=args.limit, seed=args.seed, log=lambda m: print(m, file=sys.stderr))
    args.out.write_text(dump(model), encoding="utf-8")
    print(f"wrote {args.out} (alpha {model['alpha']}, cv ROUGE-1 {model['cv_rouge1'][str(model['alpha'])]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
