"""Regenerate paperboard/data/demo_papers.jsonl from the saved Daily Papers page.

The demo corpus ships inside the package so `paperboard ingest demo` works on a fresh install
with no shared data; this script is how it was made, and re-running it must reproduce the
file byte for byte (page order, one ``Paper.model_dump(mode="json")`` per line).

Usage: .venv/bin/python scripts/build_demo_corpus.py [PAGE.txt] [--year 2025]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperboard.models import RecordError  # noqa: E402
from paperboard.sources import seed_page  # noqa: E402

DEFAULT_PAGE = REPO.parent / "shared" / "reference" / "daily-papers-page.txt"
OUTPUT = REPO / "paperboard" / "data" / "demo_papers.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", type=Path, default=DEFAULT_PAGE)
    parser.add_argument("--year", type=int, default=seed_page.DEFAULT_YEAR)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    if not args.page.is_file():
        print(f"seed page not found: {args.page}", file=sys.stderr)
        return 2
    lines: list[str] = []
    errors: list[RecordError] = []
    for item in seed_page.read(args.page, year=args.year):
        if isinstance(item, RecordError):
            errors.append(item)
        else:
            # The TL;DR is derived when a paper is loaded (summarize/), not source data.
            lines.append(json.dumps(item.model_dump(mode="json", exclude={"tldr"}), ensure_ascii=False))
    # A shipped corpus with silently missing cards would be worse than none.
    if errors:
        for e in errors:
            print(e, file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(args.output)
    print(f"wrote {len(lines)} papers to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
