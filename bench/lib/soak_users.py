"""Simulated users for bench/soak.py: each one a browser with its own cookies and connection.

Runs inside a load process (never the server's): one asyncio loop drives its share of the
users with httpx. A user arrives during the warm-up, signs up (most do) and then, between
pauses of exponentially distributed think time, picks what a reader of the site does: the
day's, a week's or a month's feed, trending, paper pages, searches (page and JSON API), the
daily-papers API, and, signed in, upvotes and un-votes, comments, saves and unsaves papers,
subscribes to the digest, logs out and back in. Forms carry the CSRF token the way a browser
does: the ``pb_csrf`` cookie plus the signed token read from a page (web/csrf.py).

Latencies are timed around each request (the body read included) and labelled with the
route template, not the URL. Each user keeps the ledger of its writes (soak_check.UserLedger)
for the audit at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field

import httpx

from .soak_check import UserLedger

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PAPER_LINK = re.compile(r'href="/papers/(\d{4}\.\d{4,5})"')
MAX_PAUSE = 4.0
"""Think time is cut here, below uvicorn's 5 s keep-alive timeout: a request sent just as the
server closes an idle connection fails without an answer (browsers retry those silently)."""
WORDS = ("clear", "useful", "convincing", "surprising", "solid", "thin", "neat", "careful")


@dataclass
class RouteStats:
    latencies: list[float] = field(default_factory=list)
    """Seconds, requests started after the warm-up only."""
    requests: int = 0
    server_errors: int = 0
    unexpected: int = 0
    failures: int = 0
    """No answer at all (connection reset, timeout), after any retry."""
    retried: int = 0
    """GETs whose reused connection the server closed under them, sent again at once."""


class Recorder:
    """Per-route counts and latencies of one load process, and the first few oddities."""

    def __init__(self, measure_from: float) -> None:
        self.measure_from = measure_from
        self.routes: dict[str, RouteStats] = {}
        self.samples: list[dict] = []

    def note(self, route: str, started: float, elapsed: float, status: int | None, expected: tuple[int, ...],
             response: httpx.Response | None = None, error: str | None = None, who: str = "") -> None:  # fmt: skip
        s = self.routes.setdefault(route, RouteStats())
        s.requests += 1
        if started >= self.measure_from and status is not None:
            s.latencies.append(elapsed)
        odd = None
        if status is None:
            s.failures += 1
            odd = "failed"
        elif status >= 500:
            s.server_errors += 1
            odd = "5xx"
        elif status not in expected:
            s.unexpected += 1
            odd = "unexpected"
        if odd and len(self.samples) < 40:
            self.samples.append({
                "route": route, "kind": odd, "status": status, "error": error, "at": started, "user": who,
                "request_id": response.headers.get("x-request-id") if response is not None else None,
                "body": _gist(response) if response is not None else None,
            })  # fmt: skip


ALERT = re.compile(r'role="alert">([^<]*)<|<section class="error-page">(.{0,400}?)</section>', re.S)


def _gist(r: httpx.Response) -> str:
    """What an odd answer says: the page's alert or error section, else the start of the body."""
    m = ALERT.search(r.text)
    text = (m.group(1) or m.group(2)) if m else r.text
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:240]


@dataclass
class Plan:
    """What every user of the run shares: where the site is and what there is to click."""

    base_url: str
    tag: str
    start: float
    warmup: float
    seconds: float
    think: float
    signup_share: float
    pool: list[str]
    """Papers users vote on, comment on and save (their counts were read before the run)."""
    fresh: list[str]
    """Papers of the days ingested during the run: written to once a user has seen them."""
    hot: list[str]
    """The newest days' papers among them: the contended ones."""
    days: list[str]
    weeks: list[str]
    months: list[str]
    queries: list[str]

    def __post_init__(self) -> None:
        self.pool_set = frozenset(self.pool) | frozenset(self.fresh)


class User:
    def __init__(self, index: int, plan: Plan, rec: Recorder, rng: random.Random) -> None:
        self.i, self.plan, self.rec, self.rng = index, plan, rec, rng
        self.ledger = UserLedger(name=f"soak{plan.tag}u{index}")
        self.password = f"soak-password-{plan.tag}-{index}"
        self.token: str | None = None
        self.logged_in = False
        self.seen: deque[str] = deque(maxlen=80)
        self.comment_no = 0
        self.client: httpx.AsyncClient

    # -- plumbing ------------------------------------------------------------------------------
    async def call(
        self, route: str, method: str, url: str, expected: tuple[int, ...] = (200,), **kw
    ) -> httpx.Response | None:
        started = time.time()
        t = time.perf_counter()
        try:
            try:
                r = await self.client.request(method, url, **kw)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # A keep-alive race: the server closed the idle connection as the request went
                # out. Browsers send a GET again on a fresh connection; a write stays unanswered
                # (uncertain), since a retry could apply it twice.
                if method != "GET":
                    raise
                self.rec.routes.setdefault(route, RouteStats()).retried += 1
                r = await self.client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.rec.note(route, started, time.perf_counter() - t, None, expected,
                          error=f"{type(exc).__name__}: {exc}", who=self.ledger.name)  # fmt: skip
            return None
        self.rec.note(route, started, time.perf_counter() - t, r.status_code, expected, r, who=self.ledger.name)
        if r.status_code == 200 and "text/html" in r.headers.get("content-type", ""):
            m = TOKEN.search(r.text)
            if m:
                self.token = m.group(1)
            self.seen.extend(PAPER_LINK.findall(r.text)[:30])
        return r

    @staticmethod
    def certain(r: httpx.Response | None) -> bool:
        """An answer that says what happened: not a lost connection, not a server error."""
        return r is not None and r.status_code < 500

    def form(self, **fields: str) -> dict:
        return {"data": {**fields, "csrf_token": self.token or ""}}

    def json_post(self) -> dict:
        return {"headers": {"X-CSRF-Token": self.token or "", "Accept": "application/json"}}

    def target(self) -> str:
        """Mostly a paper the user has just seen on a page, else one of the day's (contended)."""
        pool = self.plan.pool_set
        seen = [p for p in self.seen if p in pool]
        if seen and self.rng.random() < 0.6:
            return self.rng.choice(seen)
        return self.rng.choice(
            self.plan.hot if self.rng.random() < 0.7 else self.plan.pool
        )  # existed at the start

    # -- reading -------------------------------------------------------------------------------
    async def feed(self) -> None:
        x = self.rng.random()
        if x < 0.55:
            await self.call("GET /", "GET", "/")
        elif x < 0.7:
            await self.call(
                "GET /?date=", "GET", "/", params={"date": self.rng.choice(self.plan.days)}
            )
        elif x < 0.88:
            await self.call(
                "GET /?week=", "GET", "/", params={"week": self.rng.choice(self.plan.weeks)}
            )
        else:
            await self.call(
                "GET /?month=", "GET", "/", params={"month": self.rng.choice(self.plan.months)}
            )

    async def trending(self) -> None:
        await self.call("GET /trending", "GET", "/trending")

    async def paper(self) -> None:
        pid = self.rng.choice(self.seen) if self.seen else self.rng.choice(self.plan.pool)
        await self.call("GET /papers/{id}", "GET", f"/papers/{pid}")

    async def search(self) -> None:
        await self.call(
            "GET /search?q=", "GET", "/search", params={"q": self.rng.choice(self.plan.queries)}
        )

    async def search_api(self) -> None:
        r = await self.call("GET /api/papers/search", "GET", "/api/papers/search",
                            params={"q": self.rng.choice(self.plan.queries), "limit": 20})  # fmt: skip
        if r is not None and r.status_code == 200:
            self.seen.extend(hit["paper"]["id"] for hit in r.json()[:10])

    async def daily_api(self) -> None:
        params = (
            {"limit": 50}
            if self.rng.random() < 0.5
            else {"date": self.rng.choice(self.plan.days), "limit": 50}
        )
        r = await self.call("GET /api/daily_papers", "GET", "/api/daily_papers", params=params)
        if r is not None and r.status_code == 200:
            self.seen.extend(e["paper"]["id"] for e in r.json()[:10])

    async def paper_api(self) -> None:
        pid = self.rng.choice(self.seen) if self.seen else self.rng.choice(self.plan.pool)
        await self.call("GET /api/papers/{id}", "GET", f"/api/papers/{pid}")

    async def library(self) -> None:
        await self.call("GET /library", "GET", "/library")

    # -- accounts ------------------------------------------------------------------------------
    async def signup(self) -> None:
        await self.call("GET /signup", "GET", "/signup")
        r = await self.call("POST /signup", "POST", "/signup", expected=(303,),
                            **self.form(username=self.ledger.name, password=self.password))  # fmt: skip
        if r is not None and r.status_code == 303 and "pb_session" in self.client.cookies:
            self.ledger.signed_up = self.logged_in = True
        elif not self.certain(r):
            # No answer: the account may or may not exist, and logging in tells (a 400, wrong
            # name or password, is then an expected answer).
            await self.login(expected=(303, 400))
            self.ledger.signed_up = self.logged_in

    async def login(self, expected: tuple[int, ...] = (303,)) -> None:
        await self.call("GET /login", "GET", "/login")
        r = await self.call("POST /login", "POST", "/login", expected=expected,
                            **self.form(username=self.ledger.name, password=self.password))  # fmt: skip
        self.logged_in = r is not None and r.status_code == 303

    async def relogin(self) -> None:
        await self.call("POST /logout", "POST", "/logout", expected=(303,), **self.form())
        self.logged_in = False
        await self.login()

    # -- writes --------------------------------------------------------------------------------
    async def vote(self) -> None:
        led = self.ledger
        on = [p for p, v in led.votes.items() if v and p not in led.uncertain_votes]
        pid = self.rng.choice(on) if on and self.rng.random() < 0.3 else self.target()
        if pid in led.uncertain_votes:
            return
        r = await self.call(
            "POST /papers/{id}/upvote", "POST", f"/papers/{pid}/upvote", **self.json_post()
        )
        if r is not None and r.status_code == 200:
            led.votes[pid] = bool(r.json()["upvoted"])
        elif not self.certain(r):
            led.uncertain_votes.add(pid)

    async def comment(self) -> None:
        pid = self.target()
        self.comment_no += 1
        body = f"soak {self.plan.tag} {self.ledger.name} #{self.comment_no}: {self.rng.choice(WORDS)} work."
        r = await self.call("POST /papers/{id}/comments", "POST", f"/papers/{pid}/comments", expected=(303,),
                            **self.form(body=body))  # fmt: skip
        if r is not None and r.status_code == 303:
            self.ledger.comments.append((pid, body))
        elif not self.certain(r):
            self.ledger.uncertain_comments.append((pid, body))

    async def save(self) -> None:
        led = self.ledger
        saved = [p for p, v in led.saved.items() if v and p not in led.uncertain_saves]
        unsave = bool(saved) and self.rng.random() < 0.3
        pid = self.rng.choice(saved) if unsave else self.target()
        if pid in led.uncertain_saves:
            return
        route = "POST /library/unsave" if unsave else "POST /library/save"
        r = await self.call(route, "POST", route.split()[1], data={"paper_id": pid, "csrf_token": self.token or ""},
                            headers={"Accept": "application/json"})  # fmt: skip
        if r is not None and r.status_code == 200:
            led.saved[pid] = not unsave
        elif not self.certain(r):
            led.uncertain_saves.add(pid)

    async def subscribe(self) -> None:
        if self.ledger.subscription or self.ledger.uncertain_subscription:
            return
        email, kind = (
            f"{self.ledger.name}@example.org",
            self.rng.choice(("daily", "daily", "weekly")),
        )
        r = await self.call(
            "POST /subscribe", "POST", "/subscribe", **self.form(email=email, kind=kind)
        )
        if r is not None and r.status_code == 200:
            self.ledger.subscription = (email, kind)
        elif not self.certain(r):
            self.ledger.uncertain_subscription = (email, kind)

    # -- a life --------------------------------------------------------------------------------
    def actions(self):
        reader = [(self.feed, 26), (self.trending, 8), (self.paper, 24), (self.search, 8), (self.search_api, 4),
                  (self.daily_api, 4), (self.paper_api, 3), (self.subscribe, 0.6)]  # fmt: skip
        if not self.logged_in:
            return reader
        return reader + [
            (self.vote, 9),
            (self.comment, 2),
            (self.save, 3),
            (self.library, 1.5),
            (self.relogin, 0.4),
        ]

    async def live(self) -> None:
        plan = self.plan
        end = plan.start + plan.seconds
        # Most users arrive during the warm-up; the rest keep arriving (and signing up) through
        # the first half of the measured part.
        if self.rng.random() < 0.8:
            arrive = self.rng.uniform(0, plan.warmup * 0.8)
        else:
            arrive = plan.warmup + self.rng.uniform(0, (plan.seconds - plan.warmup) / 2)
        await asyncio.sleep(max(0.0, plan.start + arrive - time.time()))
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=plan.base_url, timeout=60.0, limits=limits, follow_redirects=False
        ) as self.client:
            await self.feed()
            if self.rng.random() < plan.signup_share and time.time() < end:
                await self.signup()
            while time.time() < end:
                acts = self.actions()
                action = self.rng.choices([a for a, _ in acts], weights=[w for _, w in acts])[0]
                await action()
                if plan.think > 0:
                    pause = min(
                        self.rng.expovariate(1 / plan.think), MAX_PAUSE, max(0.0, end - time.time())
                    )
                    await asyncio.sleep(pause)


def run_load(plan_data: dict, indices: list[int], out_path: str, seed: int) -> None:
    """A load process: drive these users, then write the figures and ledgers to ``out_path``."""
    plan = Plan(**plan_data)
    rec = Recorder(plan.start + plan.warmup)
    users = [User(i, plan, rec, random.Random(seed * 100_003 + i)) for i in indices]
    cpu0, wall0 = time.process_time(), time.time()

    async def main() -> None:
        await asyncio.gather(*(u.live() for u in users))

    asyncio.run(main())
    out = {
        "pid": os.getpid(), "cpu_seconds": time.process_time() - cpu0, "wall_seconds": time.time() - wall0,
        "routes": {k: vars(v) for k, v in rec.routes.items()}, "samples": rec.samples,
        "ledgers": [u.ledger.to_json() for u in users],
    }  # fmt: skip
    with open(out_path, "w") as f:
        json.dump(out, f)
