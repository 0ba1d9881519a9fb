"""Index builds in a child process: a build's memory peak (writer heaps, texts and vectors in
flight, freed-but-kept allocations) then never counts towards a long-running server."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def build_in_child(target: Callable[..., None], args: tuple, what: str) -> bool:
    """Run ``target(*args)`` in a fresh (spawned) process and wait; True when it succeeded."""
    started = time.monotonic()
    child = multiprocessing.get_context("spawn").Process(target=target, args=args, name=f"paperboard-{what}")
    child.start()
    child.join()
    if child.exitcode != 0:
        log.warning("building the %s in its process failed (exit code %s)", what, child.exitcode)
        return False
    log.info("%s built in %.1f s", what, time.monotonic() - started)
    return True
