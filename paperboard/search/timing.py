"""How long each search stage takes, told to whoever listens (the web's /metrics).

The searcher only reports (``with timed("keyword"): ...``); it does not know about
Prometheus, so the CLI and benchmarks pay one ``perf_counter`` pair per stage and nothing
else. Stages: ``keyword``, ``embed`` (the query's vector), ``dense`` (nearest vectors),
``fusion``, ``rerank``, ``load`` (reading the page's papers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Observer = Callable[[str, float], None]
_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Called as observer(stage, seconds) after every timed stage, in the searching thread."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    if not _observers:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        for observer in tuple(_observers):
            observer(stage, elapsed)
