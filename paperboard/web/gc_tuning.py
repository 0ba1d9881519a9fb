"""Garbage collection for a long-running server process.

Why: a full (generation 2) collection walks every container object the process holds, and a
serving process holds ~100k of them from startup (routes, templates, settings, the models'
Python parts) that live as long as it does. At 75k papers one such collection took 83 ms,
during which every request of that process stood still: a p99 of every page. So once the
app has started, what exists is moved out of the collector's sight (``gc.freeze``, as
CPython's documentation recommends for pre-fork servers); what requests allocate is
collected as before, and full collections now walk only that.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect startup garbage, then exempt everything left from later collections; how many
    objects are now exempt."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Let glibc's malloc share ``arenas`` arenas among the request threads, not one per
    thread (up to 8 a core): Python hands every block over 512 bytes (rows, pages, arrays) to
    malloc, and memory freed in one thread's arena is reused only by that arena, so a server
    whose threads take turns grows. The usual ``MALLOC_ARENA_MAX=2``, set from inside: it
    must run before the request threads exist. False where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
