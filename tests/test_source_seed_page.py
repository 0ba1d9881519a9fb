"""The saved Daily Papers page: every card of the real page parses, broken cards are reported."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from paperboard.ids import local_id_for_title
from paperboard.models import Paper, RecordError
from paperboard.sources import seed_page

FIXTURES = Path(__file__).parent / "fixtures" / "files"


def _by_title(items: list) -> dict[str, Paper]:
    return {p.title: p for p in items if isinstance(p, Paper)}


def test_real_page_parses_all_71_cards(shared_dir: Path) -> None:
    items = list(seed_page.read(shared_dir / "reference" / "daily-papers-page.txt"))
    errors = [i for i in items if isinstance(i, RecordError)]
    assert errors == []
    assert len(items) == 71
    assert len({p.id for p in items}) == 71


def test_real_page_spot_checks(shared_dir: Path) -> None:
    papers = _by_title(list(seed_page.read(shared_dir / "reference" / "daily-papers-page.txt")))
    seppo = papers["SePPO: Semi-Policy Preference Optimization for Diffusion Alignment"]
    assert seppo.id == local_id_for_title(seppo.title)
    assert seppo.author_count == 11 and seppo.authors == []
    assert seppo.feed_day == date(2025, 11, 3)  # the page's day: every card is on it
    assert seppo.published == datetime(2024, 10, 7, tzinfo=UTC)
    assert seppo.upvotes == 2
    assert seppo.code_urls == ["https://github.com/DwanZhang-AI/SePPO"]

    trimpi = papers["Multimodal Policy Internalization for Conversational Agents"]
    assert trimpi.organization == "Amazon"
    assert trimpi.project_urls == ["https://mikewangwzhl.github.io/TriMPI"]
    assert trimpi.published.date() == date(2025, 10, 10) and trimpi.upvotes == 2

    # "Feb 7" has no year and no count: before the page date Nov 3, so 2025; zero upvotes.
    werewolf = papers[
        "Learning Strategic Language Agents in the Werewolf Game with Iterative Latent Space"
        " Policy Optimization"
    ]
    assert werewolf.published.date() == date(2025, 2, 7) and werewolf.upvotes == 0
    assert werewolf.author_count == 5

    assert (
        papers["A Practitioner's Guide to Multi-turn Agentic Reinforcement Learning"].organization
        == "PEARLS Lab"
    )

    # Cards with no author/date lines were still on the Nov 3 page.
    enerverse = papers["EnerVerse: Envisioning Embodied Future Space for Robotics Manipulation"]
    assert enerverse.feed_day == date(2025, 11, 3)
    assert enerverse.published is None and enerverse.author_count is None


def test_year_parameter_shifts_yearless_dates(shared_dir: Path) -> None:
    papers = _by_title(
        list(seed_page.read(shared_dir / "reference" / "daily-papers-page.txt", year=2024))
    )
    assert papers[
        "Steering Your Diffusion Policy with Latent Space Reinforcement Learning"
    ].published.date() == date(2024, 6, 18)
    # Dates that carry a year keep it.
    seppo = papers["SePPO: Semi-Policy Preference Optimization for Diffusion Alignment"]
    assert seppo.published.date() == date(2024, 10, 7)


def test_broken_cards_are_reported_and_the_rest_parse() -> None:
    items = list(seed_page.read(FIXTURES / "seed_page_broken.txt"))
    errors = [i for i in items if isinstance(i, RecordError)]
    papers = _by_title(items)

    assert [e.position for e in errors] == [
        "seed_page_broken.txt:19",
        "seed_page_broken.txt:25",
        "seed_page_broken.txt:33",
    ]
    assert "no abstract" in errors[0].reason
    assert "unparseable date" in errors[1].reason and "Smarch 45" in errors[1].reason
    assert "impossible date" in errors[2].reason
    assert all(e.source == seed_page.SOURCE == "seed-page" for e in errors)

    assert list(papers) == [
        "A Good Card With Code",
        "A Card From Last December",
        "A Card With No Meta Lines",
        "The Last Card",
    ]
    good = papers["A Good Card With Code"]
    assert (good.author_count, good.upvotes, good.published.date()) == (3, 5, date(2024, 10, 7))
    assert good.feed_day == date(2025, 11, 3)
    assert good.code_urls == ["https://github.com/example/good-card"]

    # Year-less "Dec 20" would fall after the page date (Nov 3, 2025): it is the previous year's.
    december = papers["A Card From Last December"]
    assert december.published.date() == date(2024, 12, 20)
    assert (december.organization, december.author_count, december.upvotes) == (
        "Acme AI Lab",
        7,
        12,
    )

    assert papers["A Card With No Meta Lines"].feed_day == date(2025, 11, 3)
    last = papers["The Last Card"]
    assert (last.published.date(), last.upvotes, last.author_count) == (date(2025, 11, 1), 1, 1)


def test_card_without_date_on_a_page_without_date_is_an_error() -> None:
    text = "Lonely Title\n\nAn abstract with enough words to be an abstract and not a title here.\n"
    items = list(seed_page.parse_text(text, name="x.txt"))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].position == "x.txt:1" and "no date" in items[0].reason


def test_missing_file_is_a_record_error(tmp_path: Path) -> None:
    items = list(seed_page.read(tmp_path / "nope.txt"))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert "cannot open" in items[0].reason
