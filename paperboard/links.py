"""Mine code and project-page links from an abstract or comment.

Authors announce code as "Code: https://github.com/x/y." or "Project page: https://…"; a
reader wants those links on the card, so they are extracted once, at ingest.
"""

from __future__ import annotations

import re

_URL = re.compile(r"https?://[^\s<>\"'(){}\[\]]+", re.IGNORECASE)
_CODE_HOST = re.compile(
    r"^https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|huggingface\.co/spaces)/[^/\s]+/[^/\s#?]+",
    re.IGNORECASE,
)
_PROJECT_HINT = re.compile(
    r"(project\s*page|project\s*website|webpage|website|homepage|demo|project)\s*(?:is\s*)?(?:available\s*)?(?:at|:)?\s*$",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""


def _clean(url: str) -> str:
    # LaTeX escapes survive in arXiv abstracts ("my\\_repo"); a sentence may end right after.
    return url.replace("\\_", "_").replace("\\%", "%").rstrip(_TRAILING)


def mine_links(*texts: str | None) -> tuple[list[str], list[str]]:
    """Return (code_urls, project_urls), deduplicated, in order of appearance."""
    code: list[str] = []
    project: list[str] = []
    for text in texts:
        if not text:
            continue
        for m in _URL.finditer(text):
            url = _clean(m.group(0))
            if len(url) < 12 or len(url) > 500:
                continue
            code_m = _CODE_HOST.match(url)
            if code_m:
                repo = code_m.group(0).rstrip(_TRAILING)
                if repo.lower().endswith(".git"):
                    repo = repo[:-4]
                if repo not in code:
                    code.append(repo)
                continue
            before = text[max(0, m.start() - 40) : m.start()]
            if (_PROJECT_HINT.search(before) or ".github.io" in url.lower()) and url not in project:
                project.append(url)
    return code, project
