"""The server's processes exempt their startup objects from garbage collection (gc_tuning)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

SERVER_PROCESS = """
import gc
from starlette.testclient import TestClient
from paperboard.web.app import app_from_env

app = app_from_env()
assert gc.get_freeze_count() == 0, "frozen before it started"
with TestClient(app) as client:
    assert client.get("/healthz").status_code == 200
    frozen = gc.get_freeze_count()
    gc.collect()
    assert client.get("/").status_code == 200  # requests are served and collected as before
print(frozen)
"""


def test_the_server_app_freezes_what_exists_once_started(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOARD_")}
    env["PAPERBOARD_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run([sys.executable, "-c", SERVER_PROCESS], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) > 10_000  # the app, its routes and templates at least


def test_apps_made_in_tests_leave_the_collector_alone(client):
    assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0


ARENAS = """
import ctypes, os, tempfile, threading
from paperboard.web.gc_tuning import limit_malloc_arenas
assert limit_malloc_arenas(1)
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
def churn():
    for _ in range(200):
        libc.free(ctypes.c_void_p(libc.malloc(100_000)))
threads = [threading.Thread(target=churn) for _ in range(6)]
[t.start() for t in threads]; [t.join() for t in threads]
fd, path = tempfile.mkstemp()
libc.fdopen.restype = ctypes.c_void_p
stream = libc.fdopen(fd, b"w")
libc.malloc_info(0, ctypes.c_void_p(stream)); libc.fflush(ctypes.c_void_p(stream))
print(open(path).read().count("<heap nr="))
"""


def test_server_processes_share_few_malloc_arenas_among_their_threads():
    if not os.path.exists("/lib/x86_64-linux-gnu/libc.so.6") and not os.path.exists("/lib/aarch64-linux-gnu/libc.so.6"):
        import pytest

        pytest.skip("not glibc")
    proc = subprocess.run([sys.executable, "-c", ARENAS], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) == 1  # six threads, one arena (glibc would make one each)
