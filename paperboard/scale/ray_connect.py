"""Joining a Ray cluster as a driver, with errors a user can act on.

Why the checks before ``ray.init``: given an address where nothing listens, Ray retries for
minutes while printing gRPC warnings, and a missing package would surface as an ImportError
from deep inside a command. Both become one line naming the fix.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

CONNECT_SECONDS = 5.0
"""How long the head's port may take to accept a TCP connection before we give up."""

INSTALL_HINT = "--ray needs Ray on this machine and every node: pip install 'paperboard[ray]'"


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached or refused us."""


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(INSTALL_HINT) from exc
    return ray


def _check_reachable(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise RayUnavailable(f"--ray {address!r}: expected HOST:PORT of the head node (ray start --head --port) or 'auto'")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS):
            pass
    except OSError as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from exc


@contextmanager
def ray_cluster(address: str) -> Iterator[object]:
    """Connected to the cluster at ``address`` (HOST:PORT of the head, or ``auto``: $RAY_ADDRESS,
    else the cluster last started on this machine) for the block; yields the ``ray`` module."""
    ray = _import_ray()
    target = os.environ.get("RAY_ADDRESS") or address
    if target != "auto":
        _check_reachable(target)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    except ConnectionError as exc:
        token = " (token authentication: RAY_AUTH_TOKEN must be the cluster's)" if os.environ.get("RAY_AUTH_MODE") else ""
        raise RayUnavailable(f"cannot join the Ray cluster at {address}: {exc}{token}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()
