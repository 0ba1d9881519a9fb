"""SQL written once for both backends.

SQLite and PostgreSQL agree on almost everything a user-data domain needs (``ON CONFLICT``
upserts, ``RETURNING``, joins); they differ in the placeholder (``?`` / ``%s``), in how a
timestamp travels (ISO text / ``timestamptz``) and in booleans (0/1 / ``boolean``). A domain
writes ``?`` placeholders and passes values through ``ts``/``flag``; ``Dialect`` does the rest.
Where the semantics differ (full-text search, vector indexes) each backend keeps its own SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    placeholder: str

    def sql(self, text: str) -> str:
        """``text`` with this backend's placeholders. Domain SQL never holds a literal ``?``
        (values always travel as parameters), so the replacement cannot touch data."""
        return text if self.placeholder == "?" else text.replace("%", "%%").replace("?", self.placeholder)

    def ts(self, value: datetime) -> Any:
        return value.isoformat() if self.name == "sqlite" else value

    def read_ts(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def flag(self, value: bool) -> Any:
        return int(value) if self.name == "sqlite" else bool(value)


SQLITE = Dialect("sqlite", "?")
POSTGRES = Dialect("postgresql", "%s")


def now() -> datetime:
    return datetime.now(UTC)
