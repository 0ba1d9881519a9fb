"""Compose and send digests to 10,000 subscribers through a local SMTP server.

    .venv/bin/python bench/digest.py [--subscribers 10000]

Mixed kinds on Monday 9 June 2025: daily trending subscribers, weekly (the week before),
and alert-only users with 1-3 saved searches each. The SMTP server (aiosmtpd) runs in its
own process, counting messages and Message-IDs, so the sender is measured, not the GIL
shared with the server. Prints emails/s for planning, composition alone, and end to end
(plan + compose + SMTP + outbox bookkeeping), and the same-run baseline: the stdlib path
(``EmailMessage`` + ``smtplib.send_message``, no outbox) on a sample of the same rows.
Target: >= 200 emails/s end to end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paperboard.config import Settings  # noqa: E402
from paperboard.models import Paper  # noqa: E402
from paperboard.store import open_store  # noqa: E402

DAY = date(2025, 6, 9)  # a Monday: daily + last week's weekly + alerts
WORDS = (
    "diffusion transformer attention sparse retrieval graph neural robot policy language model "
    "vision protein folding reinforcement learning contrastive video speech quantization agent "
    "reasoning benchmark multimodal kernel federated causal generative latent token scaling"
).split()
QUERIES = ["diffusion", "graph neural", "robot policy", "protein folding", "quantization",
           "speech", '"language model"', "video", "federated", "causal reasoning"]  # fmt: skip


def _server(port: int, ready, count, ids) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            data = envelope.content
            start = data.find(b"Message-ID: ")
            ids.put(data[start + 12 : data.find(b"\r\n", start)].decode()) if start >= 0 else None
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _papers(rng: random.Random) -> list[Paper]:
    out, n = [], 0
    for offset in range(-7, 1):
        d = DAY + timedelta(days=offset)
        if d.weekday() >= 5:
            continue
        for _ in range(150):
            n += 1
            words = rng.sample(WORDS, 5)
            out.append(Paper(
                id=f"2506.{n:05d}", title=" ".join(words).title(),
                abstract=f"We study {' '.join(words)}. " + " ".join(rng.choices(WORDS, k=120)) + ".",
                authors=[f"Author {rng.randint(1, 5000)}" for _ in range(rng.randint(1, 8))],
                categories=[rng.choice(["cs.LG", "cs.CL", "cs.CV", "cs.RO"])], feed_day=d,
                upvotes=rng.randint(0, 300),
            ))  # fmt: skip
    return out


def _setup(store, n: int, rng: random.Random) -> dict[str, int]:
    """Subscribers straight into the store (an operator import), 60/25/15 daily/weekly/alerts."""
    store.upsert_papers([p for p in _papers(rng) if p.feed_day < DAY])
    kinds = {"daily": 0, "weekly": 0, "alerts": 0, "saved_searches": 0}
    for i in range(n):
        r = i % 20
        if r < 12:
            store.upsert_subscriber(f"daily{i}@bench.example", "daily", confirmed=True)
            kinds["daily"] += 1
        elif r < 17:
            store.upsert_subscriber(f"weekly{i}@bench.example", "weekly", confirmed=True)
            kinds["weekly"] += 1
        else:
            user = store.create_user(f"user{i}", "bench-not-a-hash", email=f"user{i}@bench.example")
            sub, _ = store.upsert_subscriber(f"user{i}@bench.example", "none", confirmed=True, user_id=user.id)
            for q in rng.sample(QUERIES, rng.randint(1, 3)):
                cat = rng.choice([None, None, "cs.LG", "cs.CV"])
                store.add_saved_search(user.id, sub.id, q, cat, DAY - timedelta(days=1))
                kinds["saved_searches"] += 1
            kinds["alerts"] += 1
    # Monday's feed arrives after the searches were saved: it is what alerts are about.
    store.upsert_papers([p for p in _papers(random.Random(7)) if p.feed_day == DAY])
    return kinds


def _baseline(settings: Settings, store, sample: int) -> float:
    """The stdlib path on ``sample`` rows: EmailMessage per email, send_message, no outbox."""
    import smtplib
    from email.message import EmailMessage

    from paperboard.digest.compose import Composer

    composer = Composer(settings, store)
    far = datetime.now(UTC) + timedelta(days=1)
    items = store.due_outbox(now=far, limit=sample)
    t0 = time.perf_counter()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as smtp:
        for item in items:
            rendered = composer.render_item(item)
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, item.email, rendered.subject
            msg["Message-ID"] = f"<baseline.{item.id}@bench.example>"
            msg.set_content(rendered.text)
            msg.add_alternative(rendered.html, subtype="html")
            smtp.send_message(msg)
    return len(items) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--baseline-sample", type=int, default=1_000)
    args = ap.parse_args()

    from paperboard.digest.compose import Composer
    from paperboard.digest.outbox import OutboxSender, plan_digests, scheduled_kinds

    tmp = tempfile.mkdtemp(prefix="pb-bench-digest-")
    port = _free_port()
    ctx = mp.get_context("spawn")
    ready, count, ids = ctx.Event(), ctx.Value("i", 0), ctx.Queue()
    server = ctx.Process(target=_server, args=(port, ready, count, ids), daemon=True)
    server.start()
    ready.wait(30)
    os.environ.update(
        PAPERBOARD_DATA_DIR=tmp, PAPERBOARD_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
        PAPERBOARD_SECRET_KEY="bench", PAPERBOARD_SMTP_HOST="127.0.0.1", PAPERBOARD_SMTP_PORT=str(port),
        PAPERBOARD_SMTP_RATE_PER_SECOND="0", PAPERBOARD_SMTP_FROM="Paperboard <digest@bench.example>",
        PAPERBOARD_PUBLIC_BASE_URL="https://papers.bench.example",
    )  # fmt: skip
    settings = Settings()
    store = open_store(settings.resolved_database_url)
    try:
        t = time.perf_counter()
        kinds = _setup(store, args.subscribers, random.Random(1))
        print(f"setup: {args.subscribers:,} subscribers {kinds} in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        summary, _ = plan_digests(store, settings, scheduled_kinds(DAY))
        plan_s = time.perf_counter() - t
        planned = summary.planned
        for line in summary.lines():
            print(f"  {line}")
        print(f"plan:        {planned:,} emails in {plan_s:6.2f} s = {planned / plan_s:8.0f} emails/s")

        # Composition alone: render + MIME bytes for every planned row, nothing sent.
        composer = Composer(settings, store)
        items = store.due_outbox(now=datetime.now(UTC) + timedelta(days=1), limit=planned + 1)
        t = time.perf_counter()
        size = sum(len(composer.message_bytes(i, composer.render_item(i))) for i in items)
        compose_s = time.perf_counter() - t
        print(f"compose:     {len(items):,} emails in {compose_s:6.2f} s = {len(items) / compose_s:8.0f} emails/s"
              f"  (avg {size / len(items) / 1024:.1f} KiB)")  # fmt: skip

        # Delivery: the real sender (compose + SMTP + outbox marks), exactly as `digest send`.
        t = time.perf_counter()
        result = OutboxSender(settings, store).run()
        send_s = time.perf_counter() - t
        deadline = time.monotonic() + 30
        while count.value < result.sent and time.monotonic() < deadline:
            time.sleep(0.05)
        received = count.value
        seen = [ids.get() for _ in range(received)]
        print(f"deliver:     {result.sent:,} emails in {send_s:6.2f} s = {result.sent / send_s:8.0f} emails/s"
              f"  over {settings.smtp_connections} connections (thread-seconds: SMTP {result.deliver_seconds:.1f},"
              f" compose {result.compose_seconds:.1f})")  # fmt: skip
        end_to_end = planned / (plan_s + send_s)
        print(f"end to end:  {planned:,} emails in {plan_s + send_s:6.2f} s = {end_to_end:8.0f} emails/s"
              f"  (target >= 200: {'met' if end_to_end >= 200 else 'NOT met'})")  # fmt: skip
        print(f"server received {received:,} messages, {len(set(seen)):,} distinct Message-IDs"
              f" ({'exactly once' if received == planned == len(set(seen)) else 'MISMATCH'})")

        # Baseline on a sample of the same rows (re-planned under a new period so they exist).
        store_rows = store.due_outbox(now=datetime.now(UTC) + timedelta(days=1), limit=1)
        assert not store_rows, "every row should have been sent"
        plan_digests(store, settings, [("weekly", DAY)])  # the current week: fresh rows
        base = _baseline(settings, store, args.baseline_sample)
        print(f"baseline:    stdlib EmailMessage + send_message, {args.baseline_sample:,} emails:"
              f" {base:8.0f} emails/s")
        print(f"ratio:       end to end / baseline = {end_to_end / base:.2f}x"
              f"   (delivery / baseline = {result.sent / send_s / base:.2f}x)")
    finally:
        store.close()
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
