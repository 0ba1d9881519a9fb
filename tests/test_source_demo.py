"""The packaged demo corpus: complete, stable, and idempotent to ingest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from paperboard.ids import local_id_for_title
from paperboard.models import Paper, RecordError
from paperboard.sources import demo, seed_page

REPO = Path(__file__).resolve().parent.parent


def test_demo_yields_71_valid_papers() -> None:
    items = list(demo.read())
    assert [i for i in items if isinstance(i, RecordError)] == []
    assert len(items) == 71
    assert all(isinstance(p, Paper) and p.id == local_id_for_title(p.title) for p in items)
    assert items[0].title == "SePPO: Semi-Policy Preference Optimization for Diffusion Alignment"
    assert items[0].code_urls == ["https://github.com/DwanZhang-AI/SePPO"]


def test_demo_ids_are_stable_across_runs() -> None:
    assert [p.id for p in demo.read()] == [p.id for p in demo.read()]


def test_demo_file_matches_the_seed_page(shared_dir: Path) -> None:
    """The shipped file is exactly what the build script makes from the page today."""
    page = [p for p in seed_page.read(shared_dir / "reference" / "daily-papers-page.txt")]
    assert [p.model_dump() for p in demo.read()] == [p.model_dump() for p in page]


def test_build_script_reproduces_the_file(shared_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_demo_corpus.py"), "--output", str(out)],
        check=True,
        capture_output=True,
    )
    shipped = REPO / "paperboard" / "data" / demo.RESOURCE
    assert out.read_bytes() == shipped.read_bytes()


def test_ingesting_demo_twice_changes_nothing(tmp_store) -> None:
    first = tmp_store.upsert_papers(p for p in demo.read() if isinstance(p, Paper))
    assert first.inserted == 71
    second = tmp_store.upsert_papers(p for p in demo.read() if isinstance(p, Paper))
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 71)
    stored = tmp_store.get_paper("pb-5b25d66890")
    assert stored is not None and stored.upvotes == 2 and stored.author_count == 11
