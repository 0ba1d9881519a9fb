"""Real servers in tests: a free loopback port, and waiting until a started server answers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(server: subprocess.Popen, url: str, *, timeout: float,
                       why: Callable[[], str] = lambda: "the server did not start") -> None:  # fmt: skip
    """Until ``url`` answers 200; fails with ``why()`` if the server exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, why()
        time.sleep(0.1)
