"""One typed settings object, read from ``PAPERBOARD_*`` environment variables.

Everything configurable lives here so tests can build a ``Settings`` with overrides
instead of patching module globals.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_data_dir() -> Path:
    """The user's data directory (XDG), so a pip-installed paperboard keeps its store there."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperboard"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERBOARD_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    """``sqlite:///path`` or ``postgresql://...``; empty means ``sqlite:///<data_dir>/paperboard.db``."""
    database_replica_urls: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated ``postgresql://`` URLs of streaming replicas of ``database_url``: the web
    server reads from them (each user still reads their own writes) and writes to the primary."""
    replica_max_lag_seconds: float = Field(default=5.0, gt=0)
    """A replica further behind the primary than this is skipped until it catches up."""

    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    """Signs sessions, CSRF and email tokens; generated once into the data dir when empty."""

    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses or networks (``10.0.0.2, 192.168.0.0/16``) of the reverse proxies in front of
    the site: only a request from one of them has its ``X-Forwarded-For`` (client address) and
    ``X-Forwarded-Proto`` believed. Empty: the connecting peer is the client, whatever it sends."""

    read_pool_size: int = 4
    web_threads: int = Field(default=4, ge=1, le=1000)
    """Requests a web worker handles at once in its thread pool (anyio's own default is 40).
    Page handlers are short and CPU-bound, and threads in one process share the GIL: at 75k,
    four threads calling the feed's query cost 1.8 ms a call against 0.8 ms for one, and every
    call that releases the GIL (a query, a syscall) waits to take it back behind the others.
    Measured: with 1 thread per worker the feed served 361-425 req/s (p99 44-63 ms) against
    113-167 (p99 195-230 ms) with 40 in the same noisy runs; the 75k soak (bench/soak.py, 200
    clients, worker beside) answered 134 req/s at p50 325 ms / p99 1.56 s with 4 against 119
    req/s at p50 483 ms / p99 1.78 s with 40 (one run each). Not 1: a slow request (a search,
    a first visit scoring similar papers) would hold up every other of its worker."""
    page_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    """How long a page answered to a visitor who is not logged in is reused for other such
    visitors (web/page_cache.py); 0 turns it off. Logged-in users always get fresh pages."""
    search_rerank: bool = True
    """Re-rank the top 50 of each search with MiniLM wherever `paperboard embed --model
    minilm-l6-int8` has given them its vectors (else plain hybrid): the best measured ranking
    on the judged search queries (bench/search_quality.py), for ~2 ms of query embedding."""
    warm_indexes: bool = True
    """A server process loads the search indexes in the background as it starts (at 1M papers
    ~10 s that the first search would otherwise wait), not at the first search."""
    ingest_batch_size: int = 1000

    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    oai_set: str = "cs"
    """What the worker harvests daily (an OAI set such as cs, physics:hep-th; empty = all)."""
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    http_timeout: float = 30.0
    http_max_retries: int = 5

    # Email digests.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_from: str = "Paperboard <digest@localhost>"
    smtp_rate_per_second: float = 50.0
    digest_time: str = "08:00"
    digest_timezone: str = "UTC"
    smtp_timeout: float = 30.0
    smtp_batch_size: int = 100
    smtp_connections: int = 4
    """Parallel SMTP connections: a send is bound by round trips, so a few multiply throughput."""
    """Messages sent over one SMTP connection before it is recycled."""
    digest_max_attempts: int = 5
    """Transient failures (4xx, connection errors) are retried this many times with backoff."""
    digest_retry_base_seconds: float = 2.0
    digest_bounce_limit: int = 3
    """Permanent failures (5xx) after which an address is marked bouncing and gets no more mail."""
    digest_top_n: int = 10
    digest_confirm_max_age_hours: int = 72
    digest_unsubscribe_max_age_days: int = 365
    worker_ingest_hook: str = ""
    """``module:function`` called as f(settings, store) before each digest run; empty means
    ``paperboard.ingest.run_scheduled_ingest`` when it exists."""
    worker_nice: int = Field(default=10, ge=0, le=19)
    """How much lower than the web's the worker's CPU priority is (the nice increment; 0
    keeps it equal): its backfill, similar lists and daily harvest are background work that
    must not take the CPU from page views (digest/priority.py)."""
    backup_dir: str = ""
    """Where the worker puts a daily backup (``paperboard db backup``) after the day's run;
    empty (the default) means no scheduled backups."""
    backup_keep: int = Field(default=7, ge=1)
    """How many scheduled backups to keep in ``backup_dir``; older ones are deleted."""
    change_feed_retention_days: float = Field(default=7, gt=0)
    """An index that has not reported its change-feed position for this long no longer keeps
    the feed from being pruned (``paperboard db prune-changes``, the worker hourly); if it was
    pruned past, it rebuilds from the store when it next runs."""
    pg_bin_dir: str = ""
    """Where pg_dump, pg_restore and psql of the server's major version live; empty means
    look where the packages install them (/usr/lib/postgresql/N/bin), then PATH."""

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> tuple[str, ...]:
        """Comma- or space-separated; each entry must be an IP address or a CIDR network, so a
        typo stops the server at start instead of silently trusting nothing (or everyone)."""
        import ipaddress

        items = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())  # type: ignore[call-overload]
        out = []
        for item in items:
            try:
                out.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
            except ValueError:
                raise ValueError(f"PAPERBOARD_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
        return tuple(out)

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _replica_urls(cls, value: object) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value or ())  # type: ignore[call-overload]
        urls = tuple(str(item).strip() for item in items if str(item).strip())
        for url in urls:
            if not url.startswith(("postgresql:", "postgres:")):
                raise ValueError(f"PAPERBOARD_DATABASE_REPLICA_URLS: {url.split('@')[-1]!r} is not a postgresql:// URL")
        return urls

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'paperboard.db'}"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """A stable secret: the configured one, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / "secret.key"
        if not path.exists():
            import secrets

            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        return path.read_text().strip()


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
