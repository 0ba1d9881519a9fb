"""The worker runs at a lower CPU priority than the web server.

Why: the worker's work is background work (embedding new papers, scoring similar lists, the
daily harvest) that can wait a second, while a page view cannot. On a 2-core machine a soak
with the worker at the same priority left the web server about a third of the CPU: p50 1.3 s.

Two knobs, because Linux has two: the process's nice value orders it against processes of
the same scheduling group, and with autogroup scheduling (the default on desktop and many
server kernels) each session is a group that gets an equal share whatever its members' nice
values, so a worker started as its own session (systemd, ``setsid``) also lowers its group's
weight. A worker sharing a terminal session leaves that group alone: it would slow the shell.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(increment: int) -> dict[str, int | None]:
    """Raise this process's nice value by ``increment`` (threads started later inherit it),
    and its autogroup's when it leads its own session; what was set (None: left as is)."""
    done: dict[str, int | None] = {"nice": None, "autogroup": None}
    if increment <= 0:
        return done
    try:
        done["nice"] = os.nice(increment)
    except OSError as exc:
        log.warning("could not lower the worker's priority: %s", exc)
    try:
        leads_session = os.getsid(0) == os.getpid() and AUTOGROUP.exists()
        if leads_session:
            AUTOGROUP.write_text(f"{min(19, increment)}\n")
            done["autogroup"] = min(19, increment)
    except OSError as exc:  # containers and sandboxes may hide or refuse /proc's autogroup file
        log.warning("could not lower the worker's scheduling group's priority: %s", exc)
    return done
