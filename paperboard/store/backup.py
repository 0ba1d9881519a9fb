"""Online backups that carry proof of what they hold, and restores that check that proof.

A backup is a directory: the store's data (SQLite: a page copy made with the online backup
API; PostgreSQL: a ``pg_dump`` custom-format archive) and ``manifest.json``, which records
the schema version, each file's size and SHA-256, and every table's row count and content
checksum, all read from the same snapshot as the data. The file checksums catch a truncated
or damaged copy before anything is touched; the table checksums are recomputed from the
restored store, so a restore proves the *data* came back, not only the bytes.

A backup is written under a temporary name beside its destination and renamed into place
once complete, so a failed or interrupted backup leaves nothing that looks like one; a
restore goes only into an empty store and leaves it empty when anything does not match.
Where the backends differ (how to snapshot, how to restore atomically, what an integrity
check can ask), ``store/sqlite/backup.py`` and ``store/postgres/backup.py`` do the work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .base import StoreError

FORMAT = "paperboard-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_FILE = {"sqlite": "store.sqlite3", "postgresql": "store.pgdump"}
NOT_CONTENT = frozenset({"database_identity"})
"""Who a database is, not what it holds: a restored store gets an identity of its own (as a
``db copy`` does), so indexes built for the original are rebuilt, never trusted."""
BOOKKEEPING = frozenset(
    {"schema_migrations", "database_identity", "checkpoints", "sqlite_sequence", "paper_changes_epoch"}
)
"""Tables a freshly migrated store already has rows in: an "empty" store may have them."""
MASK = (1 << 64) - 1


class BackupError(StoreError):
    """A backup or restore that cannot proceed; the message says why and what was left."""


class NotEmptyError(BackupError):
    pass


@dataclass(frozen=True, slots=True)
class TableSum:
    rows: int
    checksum: str


@dataclass(slots=True)
class Snapshot:
    """What a backend's snapshot read, besides the data file it wrote."""

    schema_version: int
    database_id: str
    tables: dict[str, TableSum]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Manifest:
    backend: str
    schema_version: int
    created_at: str
    database_id: str
    files: dict[str, dict[str, Any]]
    tables: dict[str, TableSum]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "backend": self.backend,
            "schema_version": self.schema_version, "created_at": self.created_at,
            "database_id": self.database_id, "files": self.files,
            "tables": {t: {"rows": s.rows, "checksum": s.checksum} for t, s in sorted(self.tables.items())},
            **self.extra,
        }  # fmt: skip
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not directory.is_dir():
            raise BackupError(f"no backup at {directory}: expected a directory made by `paperboard db backup`")
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(f"{directory} has no {MANIFEST}: not a complete paperboard backup") from None
        except (OSError, ValueError) as exc:
            raise BackupError(f"{path} is unreadable or damaged ({exc}); nothing was restored") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupError(f"{path} is not a paperboard backup manifest")
        if not isinstance(body.get("format_version"), int) or body["format_version"] > FORMAT_VERSION:
            raise BackupError(
                f"{directory} is in backup format {body.get('format_version')!r}, this paperboard reads"
                f" format {FORMAT_VERSION}: restore it with the newer paperboard that made it"
            )
        try:
            known = {"format", "format_version", "backend", "schema_version", "created_at", "database_id",
                     "files", "tables"}  # fmt: skip
            return cls(
                backend=str(body["backend"]),
                schema_version=int(body["schema_version"]),
                created_at=str(body["created_at"]),
                database_id=str(body["database_id"]),
                files={str(k): dict(v) for k, v in body["files"].items()},
                tables={str(t): TableSum(int(v["rows"]), str(v["checksum"])) for t, v in body["tables"].items()},
                extra={k: v for k, v in body.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"{path} is incomplete or damaged ({type(exc).__name__}: {exc})") from None


@dataclass(slots=True)
class TableCheck:
    table: str
    expected: TableSum | None
    actual: TableSum | None

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of ``paperboard db check``: ``fail`` means something is wrong now; ``note``
    is worth knowing but heals itself (an index that is behind, or rebuilt on next use)."""

    check: str
    status: Literal["ok", "note", "fail"]
    message: str


@dataclass(slots=True)
class BackupReport:
    path: Path
    manifest: Manifest
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "backend": self.manifest.backend,
            "schema_version": self.manifest.schema_version, "created_at": self.manifest.created_at,
            "seconds": round(self.seconds, 3), "files": self.manifest.files,
            "tables": {t: {"rows": s.rows, "checksum": s.checksum} for t, s in sorted(self.manifest.tables.items())},
            "rows": sum(s.rows for s in self.manifest.tables.values()),
        }  # fmt: skip


@dataclass(slots=True)
class RestoreReport:
    path: Path
    manifest: Manifest
    tables: list[TableCheck]
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "backend": self.manifest.backend,
            "schema_version": self.manifest.schema_version, "created_at": self.manifest.created_at,
            "seconds": round(self.seconds, 3), "verified": all(t.ok for t in self.tables),
            "tables": {
                t.table: {"rows": t.actual.rows if t.actual else None, "checksum": t.actual.checksum if t.actual else None,
                          "ok": t.ok}
                for t in self.tables
            },
            "rows": sum(t.actual.rows for t in self.tables if t.actual),
        }  # fmt: skip


# -- helpers shared by the backends -----------------------------------------------------
def backend_of(url: str) -> str:
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql:", "postgres:")):
        return "postgresql"
    raise BackupError(f"unsupported database URL {url!r}: use sqlite:///path or postgresql://…")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url.removeprefix("sqlite:"))


def _module(backend: str):
    if backend == "sqlite":
        from .sqlite import backup as impl
    else:
        from .postgres import backup as impl
    return impl


def latest_schema_version(backend: str) -> int:
    if backend == "sqlite":
        from .sqlite.migrations import available
    else:
        from .postgres.migrations import available
    return max(v for v, _, _ in available())


def compare(expected: dict[str, TableSum], actual: dict[str, TableSum]) -> list[TableCheck]:
    return [TableCheck(t, expected.get(t), actual.get(t)) for t in sorted(set(expected) | set(actual))]


def mismatch_lines(checks: list[TableCheck]) -> str:
    def show(s: TableSum | None) -> str:
        return "missing" if s is None else f"{s.rows} rows, checksum {s.checksum}"

    return "; ".join(f"{c.table}: manifest {show(c.expected)}, found {show(c.actual)}" for c in checks if not c.ok)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def utc_stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- backup ---------------------------------------------------------------------------
def take_backup(url: str, path: str | Path, *, pg_bin_dir: str = "", now: datetime | None = None) -> BackupReport:
    """Snapshot the store at ``url`` into the new directory ``path`` while it keeps serving.

    The directory is assembled under a hidden temporary name in the same parent and renamed
    into place last; on any failure the temporary directory is removed, so ``path`` either
    holds a complete, verified backup or does not exist.
    """
    started = time.monotonic()
    backend = backend_of(url)
    path = Path(path).absolute()
    if path.exists() or path.is_symlink():
        raise BackupError(f"{path} already exists: a backup never overwrites anything, choose a new path")
    parent = path.parent
    if not parent.is_dir():
        raise BackupError(f"cannot write a backup to {path}: {parent} is not an existing directory")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=parent))
    except OSError as exc:
        raise BackupError(f"cannot write a backup under {parent}: {exc.strerror or exc}") from None
    try:
        data = tmp / DATA_FILE[backend]
        kwargs = {"pg_bin_dir": pg_bin_dir} if backend == "postgresql" else {}
        snap: Snapshot = _module(backend).snapshot(url, data, **kwargs)
        _fsync(data)
        manifest = Manifest(
            backend=backend, schema_version=snap.schema_version, created_at=utc_stamp(now),
            database_id=snap.database_id,
            files={data.name: {"bytes": data.stat().st_size, "sha256": sha256_file(data)}},
            tables=snap.tables, extra=snap.extra,
        )  # fmt: skip
        (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        _fsync(tmp / MANIFEST)
        _fsync(tmp)
        try:
            os.rename(tmp, path)
        except OSError as exc:
            raise BackupError(f"cannot put the backup at {path}: {exc.strerror or exc}") from None
        _fsync(parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BackupError(f"cannot write the backup to {path}: {exc.strerror or exc}; nothing was left behind") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BackupReport(path, manifest, time.monotonic() - started)


# -- restore --------------------------------------------------------------------------
def read_verified_manifest(path: str | Path, backend: str) -> Manifest:
    """The manifest, once the backup is known to be complete, undamaged and restorable here."""
    path = Path(path).absolute()
    manifest = Manifest.read(path)
    if manifest.backend != backend:
        hint = " (restore it into SQLite, then `paperboard db copy` to PostgreSQL)" if manifest.backend == "sqlite" else ""
        raise BackupError(f"{path} is a {manifest.backend} backup and the store is {backend}{hint}; nothing was restored")
    latest = latest_schema_version(backend)
    if manifest.schema_version > latest:
        raise BackupError(
            f"{path} is at schema version {manifest.schema_version}, newer than this paperboard knows"
            f" ({latest}): upgrade paperboard to restore it; nothing was restored"
        )
    expected_file = DATA_FILE[backend]
    if expected_file not in manifest.files:
        raise BackupError(f"{path}/{MANIFEST} lists no {expected_file}; nothing was restored")
    for name, info in manifest.files.items():
        file = path / name
        if not file.is_file():
            raise BackupError(f"{file} is missing: the backup is incomplete; nothing was restored")
        size = file.stat().st_size
        if size != info.get("bytes") or sha256_file(file) != info.get("sha256"):
            raise BackupError(
                f"{file} is damaged ({size} bytes, manifest says {info.get('bytes')}; SHA-256 differs):"
                " truncated or corrupt; nothing was restored"
            )
    return manifest


def restore_backup(url: str, path: str | Path, *, pg_bin_dir: str = "") -> RestoreReport:
    """Restore the backup at ``path`` into the empty store at ``url`` and prove it matches.

    Refuses a damaged backup, one from a newer schema and a store that holds data, before
    touching anything; the backend restores atomically and compares every table with the
    manifest before the restore becomes visible, so a mismatch leaves the store as it was.
    """
    started = time.monotonic()
    backend = backend_of(url)
    path = Path(path).absolute()
    manifest = read_verified_manifest(path, backend)
    kwargs = {"pg_bin_dir": pg_bin_dir} if backend == "postgresql" else {}
    actual = _module(backend).restore(url, path / DATA_FILE[backend], manifest, **kwargs)
    checks = compare(manifest.tables, actual)
    if not all(c.ok for c in checks):  # the backends refuse before committing; this is the proof
        raise BackupError(f"the restored store does not match the manifest: {mismatch_lines(checks)}")
    return RestoreReport(path, manifest, checks, time.monotonic() - started)


# -- integrity ------------------------------------------------------------------------
def check_store(url: str) -> list[Finding]:
    """The backend's own integrity checks plus the schema version against this code's."""
    backend = backend_of(url)
    findings: list[Finding] = _module(backend).integrity(url)
    from . import open_store

    store = open_store(url, migrate=False)
    try:
        version = store.schema_version()
    finally:
        store.close()
    latest = latest_schema_version(backend)
    if version == latest:
        findings.append(Finding("schema", "ok", f"at version {version}, the latest this paperboard knows"))
    elif version < latest:
        findings.append(Finding("schema", "fail", f"at version {version}, {latest} is current: run `paperboard db migrate`"))
    else:
        findings.append(Finding("schema", "fail", f"at version {version}, newer than this paperboard knows ({latest})"))
    return findings


# -- keeping N ------------------------------------------------------------------------
SCHEDULED_PREFIX = "paperboard-"
STALE_PARTIAL_SECONDS = 24 * 3600


def scheduled_name(moment: datetime) -> str:
    """``paperboard-20250602T080000Z``: sorts by time, so keeping the newest N is a sort."""
    return SCHEDULED_PREFIX + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def prune(directory: Path, keep: int, *, clock: Callable[[], float] = time.time) -> list[Path]:
    """Delete all but the newest ``keep`` complete scheduled backups in ``directory``, and
    partial ones left by a crash more than a day ago. Never touches anything else."""
    complete = sorted(
        p for p in directory.glob(SCHEDULED_PREFIX + "*") if p.is_dir() and (p / MANIFEST).is_file()
    )
    removed = complete[: max(0, len(complete) - max(keep, 1))]
    for p in directory.glob(f".{SCHEDULED_PREFIX}*.partial-*"):
        try:
            if p.is_dir() and clock() - p.stat().st_mtime > STALE_PARTIAL_SECONDS:
                removed.append(p)
        except OSError:
            continue
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed
