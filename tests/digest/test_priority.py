"""The worker lowers its own CPU priority (digest/priority.py), in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, os
from pathlib import Path
from paperboard.digest.priority import lower_priority
before = os.nice(0)
done = lower_priority(5)
try:  # empty when the process's cgroup is not an autogroup (containers); absent without autogroup
    group = (Path("/proc/self/autogroup").read_text().split() or [None])[-1]
except OSError:
    group = None
print(json.dumps({"before": before, "after": os.nice(0), "done": done, "group": group}))
"""


def _probe(**popen) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, **popen)
    assert out.returncode == 0, f"the probe failed (exit {out.returncode}):\n{out.stderr}"
    return json.loads(out.stdout)


def test_the_worker_process_runs_nicer_and_leaves_a_shared_session_alone():
    got = _probe()
    assert got["after"] == min(19, got["before"] + 5) and got["done"]["nice"] == got["after"]
    assert got["done"]["autogroup"] is None  # not its own session: the terminal's group is left as is


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroup scheduling")
def test_a_worker_leading_its_own_session_lowers_its_group_too():
    got = _probe(start_new_session=True)
    assert got["done"]["autogroup"] == 5
    if got["group"] is not None:  # a cgroup other than the root one shows no autogroup line
        assert got["group"] == "5"


def test_no_increment_changes_nothing():
    from paperboard.digest.priority import lower_priority

    assert lower_priority(0) == {"nice": None, "autogroup": None}
