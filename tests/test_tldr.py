"""TL;DRs: the summariser, its shipped model and training script, storing on ingest, backfill."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.ingest import ingest
from paperboard.models import Paper
from paperboard.sources import demo
from paperboard.store import open_store
from paperboard.summarize import MAX_WORDS, tldr
from paperboard.summarize.candidates import (
    FEATURES,
    MAX_SENTENCES,
    Scorer,
    features,
    paper_maxima,
    read_abstract,
    sentence_parts,
)
from paperboard.summarize.summarizer import MODEL_PATH, load_model

from .conftest import SHARED

SCITLDR = SHARED / "bench" / "scitldr" / "A-train.jsonl"
DAY = date(2026, 7, 1)
ABSTRACT = (
    "Large language models are widely used for many tasks. However, they are expensive to run on "
    "small devices, which limits their use. In this paper, we propose TinyMix, a distillation method "
    "that compresses a large model into a small one by mixing teacher layers. Experiments on six "
    "benchmarks show that TinyMix keeps 95% of the accuracy at a tenth of the cost."
)
HOSTILE = (
    'We show <script>alert("x")</script> that "><img src=x onerror=alert(1)> attention works '
    "with javascript:alert(3) links. Our method is robust."
)


def demo_papers() -> list[Paper]:
    return [p for p in demo.read() if isinstance(p, Paper)]


# -- the summariser ------------------------------------------------------------------------
def test_picks_the_contribution_sentence_without_its_linking_clause():
    assert tldr("TinyMix: Distilling by Mixing Layers", ABSTRACT).startswith("We propose TinyMix")


def test_empty_abstract_falls_back_to_the_title():
    assert tldr("A Study of Things", "") == "A Study of Things"
    assert tldr("A Study of Things", "   \n\n ") == "A Study of Things"


def test_a_one_sentence_abstract_is_its_own_tldr_and_a_long_title_is_clipped():
    assert tldr("Title", "We prove the conjecture for all primes.") == "We prove the conjecture for all primes."
    long_title = " ".join(f"word{i}" for i in range(50))
    out = tldr(long_title, "")
    assert out.endswith("…") and len(out.split()) == MAX_WORDS


def test_never_longer_than_the_word_limit_even_for_one_endless_sentence():
    endless = "We study " + " ".join(f"thing{i}" for i in range(120)) + "."
    out = tldr("Endless", endless)
    assert 0 < len(out.split()) <= MAX_WORDS and out.endswith("…")
    for p in demo_papers():
        assert 0 < len(tldr(p.title, p.abstract).split()) <= MAX_WORDS, p.id


def test_same_input_same_tldr():
    runs = [[tldr(p.title, p.abstract) for p in demo_papers()] for _ in range(2)]
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == len(runs[0])  # a sentence of each paper, not a constant


def test_hostile_text_comes_back_as_plain_text_from_the_abstract():
    out = tldr('<b onmouseover="x">T</b>', HOSTILE)
    assert out in ('We show <script>alert("x")</script> that "><img src=x onerror=alert(1)> attention works '
                   "with javascript:alert(3) links.", "Our method is robust.")  # fmt: skip


def test_the_fast_scorer_equals_the_model_applied_to_the_features():
    weights = load_model()
    scorer = Scorer(weights)
    for p in demo_papers()[:20]:
        parts = sentence_parts(p.title, p.abstract, max_words=MAX_WORDS)
        maxima = paper_maxima(parts)
        slow = [sum(w * x for w, x in zip(weights, features(s, end, kind, k, maxima), strict=True))
                for s in parts for end, kind, k, _ in s.candidates]  # fmt: skip
        most_title, most_central = max(r[1] for s in parts for r in scorer.scored(s)), maxima[1]
        fast = [score + weights[-2] * (title == most_title) + weights[-1] * (central == most_central)
                for s in parts for score, title, central, *_ in scorer.scored(s)]  # fmt: skip
        assert (most_title, most_central) == maxima
        assert fast == pytest.approx(slow, abs=1e-9)
        chosen = scorer.best(parts)
        assert chosen is not None
        at = [(s, end, kind) for s in parts for end, kind, _, _ in s.candidates].index(chosen[:3])
        assert slow[at] == pytest.approx(max(slow), abs=1e-9)  # the best, up to rounding


def test_a_whole_sentence_scored_from_its_word_sets_scores_as_its_features_say():
    weights = load_model()
    scorer = Scorer(weights)
    for p in demo_papers()[:20]:
        a = read_abstract(p.title, p.abstract, MAX_WORDS)
        for s in sentence_parts(p.title, p.abstract, MAX_WORDS):
            i = a.sentences.index(s.text)
            [(score, title, central, *_)] = [r for r in scorer.scored(s) if r[4] == 0] or [(None,) * 3]
            if score is not None:
                assert scorer.whole(a, i) == pytest.approx((score, title, central), abs=1e-9)


def test_looking_for_cuts_in_the_best_sentences_only_chooses_a_candidate_of_the_paper():
    scorer = Scorer(load_model())
    for p in demo_papers():
        parts = sentence_parts(p.title, p.abstract, MAX_WORDS)
        texts = {(s.candidate_text(end, kind), words) for s in parts for end, kind, _, words in s.candidates}
        exact = scorer.best(parts)
        assert exact is not None
        assert scorer.choose(p.title, p.abstract, MAX_WORDS, expand=MAX_SENTENCES) == (
            exact[0].candidate_text(exact[1], exact[2]), exact[3]
        )  # with every sentence's cuts looked at, the same choice
        assert scorer.choose(p.title, p.abstract, MAX_WORDS) in texts


def test_the_shipped_model_matches_the_features_and_records_its_training():
    data = json.loads(MODEL_PATH.read_text())
    assert tuple(data["features"]) == FEATURES and len(data["weights"]) == len(FEATURES)
    assert data["trained_on"] == "A-train.jsonl" and data["papers"] == 1992 and data["max_words"] == MAX_WORDS


@pytest.mark.shared
def test_training_is_reproducible_on_a_seeded_sample():
    if not SCITLDR.is_file():
        pytest.skip(f"SciTLDR-A not found at {SCITLDR} (the shared benchmark data)")
    pytest.importorskip("rouge_score", reason="rouge-score is in the test extra")
    from scripts.train_tldr import dump, train

    first = dump(train(SCITLDR, limit=40, seed=3, log=lambda _: None))
    assert first == dump(train(SCITLDR, limit=40, seed=3, log=lambda _: None))
    model = json.loads(first)
    assert model["papers"] == 40 and model["features"] == list(FEATURES)
    assert dump(train(SCITLDR, limit=40, seed=4, log=lambda _: None)) != first


# -- the store -----------------------------------------------------------------------------
def _tldrs(store) -> dict[str, str | None]:
    return {pid: p.tldr for ids in store.iter_paper_ids() for pid, p in store.get_papers(ids).items()}


def test_ingest_stores_the_tldr_and_a_new_version_replaces_it(tmp_store):
    tmp_store.migrate()
    paper = Paper(id="2607.01234", title="TinyMix", abstract=ABSTRACT, feed_day=DAY)
    ingest(tmp_store, [paper])
    assert tmp_store.get_paper("2607.01234").tldr == tldr("TinyMix", ABSTRACT)
    newer = Paper(id="2607.01234", version=2, title="TinyMix", feed_day=DAY,
                  abstract="We present TinyMix v2, which distils faster than ever before. It is good.")  # fmt: skip
    ingest(tmp_store, [newer])
    assert tmp_store.get_paper("2607.01234").tldr == "We present TinyMix v2, which distils faster than ever before."
    assert tmp_store.count_without_tldr() == 0


def _forget_tldrs(store) -> None:
    """Papers as stored before migration 0014."""
    with store._db.writer() as conn:
        conn.execute("UPDATE papers SET tldr = NULL")


def test_backfill_fills_old_rows_and_resumes_after_a_kill(tmp_store):
    from paperboard.summarize.backfill import backfill

    tmp_store.migrate()
    tmp_store.upsert_papers(demo_papers())
    expected = _tldrs(tmp_store)
    _forget_tldrs(tmp_store)
    assert tmp_store.count_without_tldr() == len(expected)

    class Killed(Exception):
        pass

    def die(_):
        raise Killed

    with pytest.raises(Killed):
        backfill(tmp_store, batch_size=20, on_batch=die)
    assert tmp_store.count_without_tldr() == len(expected) - 20  # the first batch committed
    result = backfill(tmp_store, batch_size=20)
    assert (result.read, result.written, result.remaining) == (len(expected) - 20, len(expected) - 20, 0)
    assert _tldrs(tmp_store) == expected
    again = backfill(tmp_store, rebuild=True)
    assert (again.read, again.written) == (len(expected), 0)


def test_backfill_never_overwrites_a_paper_that_changed_after_it_was_read(tmp_store):
    tmp_store.migrate()
    tmp_store.upsert_papers([Paper(id="2607.01234", title="TinyMix", abstract=ABSTRACT, feed_day=DAY)])
    _forget_tldrs(tmp_store)
    [task] = tmp_store.papers_for_tldr()
    again = "We do it again, with a twist. It is better."
    ingest(tmp_store, [Paper(id="2607.01234", version=2, title="TinyMix", abstract=again, feed_day=DAY)])
    assert tmp_store.set_tldrs([(task, "stale")]) == 0
    assert tmp_store.get_paper("2607.01234").tldr == tldr("TinyMix", again) != "stale"


def test_cli_backfill_json_and_listings_carry_the_tldr(settings):
    store = open_store(settings.resolved_database_url)
    store.migrate()
    store.upsert_papers([Paper(id="2607.01234", title="TinyMix", abstract=ABSTRACT, feed_day=DAY),
                         Paper(id="2607.05678", title="Only a Title", feed_day=DAY)])  # fmt: skip
    _forget_tldrs(store)
    store.close()
    runner = CliRunner()
    r = runner.invoke(main, ["tldr", "backfill", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert {k: v for k, v in json.loads(r.stdout).items() if k in ("read", "written", "remaining")} == {
        "read": 2, "written": 2, "remaining": 0
    }  # fmt: skip
    listed = json.loads(runner.invoke(main, ["ls", "--date", DAY.isoformat(), "--json"]).stdout)
    assert {p["id"]: p["tldr"] for p in listed} == {
        "2607.01234": tldr("TinyMix", ABSTRACT), "2607.05678": "Only a Title"
    }  # fmt: skip
    info = json.loads(runner.invoke(main, ["info", "2607.01234", "--json"]).stdout)
    assert info["tldr"].startswith("We propose TinyMix")
