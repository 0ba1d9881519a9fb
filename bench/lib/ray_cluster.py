"""A real Ray cluster of several nodes on this host, for the tests and bench/embed.py.

Each node is what ``ray start`` makes on a machine of a real cluster (a head, then nodes joined
with ``ray start --address``), here all on 127.0.0.1 with ``--num-cpus`` each. Why the care
in stopping: ``ray stop`` finds processes by name and would stop anyone's Ray on the host.
Every ``ray start`` runs in a session of its own, and its daemons and their workers inherit
that session id, so stopping kills exactly the processes in our sessions, by pid. Token
authentication keeps other local users' processes from running code on our workers.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.servers import free_port

RAY = str(Path(sys.executable).parent / "ray")


class LocalRayCluster:
    def __init__(self, nodes: int = 2, *, cpus_per_node: int = 1, object_store_mb: int = 100) -> None:
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.object_store_mb = object_store_mb
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        # Short: Ray's Unix socket paths live under it and are limited to ~107 characters.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="pbray", dir="/tmp"))
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        """What a driver's environment needs to join (tests set it; subprocesses get it)."""
        self._sessions: list[int] = []

    def __enter__(self) -> LocalRayCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        common = ["--node-ip-address=127.0.0.1", f"--num-cpus={self.cpus_per_node}", "--disable-usage-stats",
                  f"--temp-dir={self.temp_dir}", f"--object-store-memory={self.object_store_mb * 1_000_000}"]  # fmt: skip
        for attempt in range(3):  # the free port may be taken before the head binds it
            try:
                self._ray_start("--head", f"--port={self.port}", "--include-dashboard=false", *common)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                self._kill_all()
                self.port = free_port()
                self.address = f"127.0.0.1:{self.port}"
        for _ in range(self.nodes - 1):
            self._ray_start(f"--address={self.address}", *common)

    def _ray_start(self, *args: str) -> None:
        env = {**os.environ, **self.env, "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.Popen([RAY, "start", *args], env=env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        self._sessions.append(proc.pid)
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(args)} failed ({proc.returncode}):\n{out[-3000:]}")

    def processes(self) -> dict[int, str]:
        """Live processes of this cluster (daemons and workers): pid -> command line."""
        found = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                if os.getsid(pid) not in self._sessions:
                    continue
                stat = Path(f"/proc/{pid}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # exited, waiting for init to reap it
                found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except (OSError, ValueError):
                continue
        return found

    def stop(self) -> None:
        """SIGKILL every process of this cluster until none is left; remove its files."""
        left = self._kill_all()
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        if left:
            raise RuntimeError(f"Ray processes still running after stop: {sorted(left)}")

    def _kill_all(self) -> dict[int, str]:
        deadline = time.monotonic() + 30
        while (left := self.processes()) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
        return left

    def wait_for_nodes(self, ray, timeout: float = 60) -> None:
        """Until every node has joined (``ray`` connected to this cluster)."""
        deadline = time.monotonic() + timeout
        while sum(1 for n in ray.nodes() if n["Alive"]) < self.nodes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {[n['Alive'] for n in ray.nodes()]} of {self.nodes} nodes joined")
            time.sleep(0.2)


def reload_ray_auth() -> None:
    """Make this process's Ray read RAY_AUTH_MODE/RAY_AUTH_TOKEN again. Ray reads them once,
    when first imported; a process that joins a cluster started after that (a test module's)
    needs this, a ``paperboard`` command does not (it imports Ray with the variables set)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()

