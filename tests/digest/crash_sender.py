"""Run the outbox sender and SIGKILL ourselves at one exact point of the N-th message.

Used by test_exactly_once.py as a subprocess: ``python crash_sender.py STAGE N``, with the
store and SMTP server taken from the PAPERBOARD_* environment. Stages, in message order:

- ``body``: the whole body is written, the terminating dot is not, the row is not marked;
- ``gap``: the row is committed as ``sending`` and the dot is not yet written;
- ``dot``: the dot is written, the server's reply is not read;
- ``reply``: the reply is read, the row is not yet marked ``sent``.
"""

from __future__ import annotations

import os
import signal
import sys

from paperboard.config import Settings
from paperboard.digest.outbox import OutboxSender
from paperboard.digest.smtp import SmtpTransport
from paperboard.store import open_store


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class CrashingTransport(SmtpTransport):
    def __init__(self, settings: Settings, stage: str, at: int) -> None:
        super().__init__(settings)
        self.stage, self.at, self.n = stage, at, 0

    def send(self, sender, recipient, message, before_commit) -> None:
        self.n += 1
        if self.n == self.at:
            commit = before_commit
            if self.stage == "body":
                before_commit = die
            elif self.stage == "gap":
                def before_commit() -> None:
                    commit()
                    die()
            elif self.stage in ("dot", "reply"):
                conn = self._connection()
                real_send, real_reply = conn.send, conn.getreply
                state = {"dot": False}

                def send(data: bytes) -> None:
                    real_send(data)
                    if data == b".\r\n":
                        state["dot"] = True
                        if self.stage == "dot":
                            die()

                def getreply():
                    reply = real_reply()
                    if state["dot"]:
                        die()
                    return reply

                conn.send, conn.getreply = send, getreply  # type: ignore[method-assign]
        super().send(sender, recipient, message, before_commit)


def main() -> None:
    stage, at = sys.argv[1], int(sys.argv[2])
    settings = Settings()
    store = open_store(settings.resolved_database_url)
    OutboxSender(settings, store, transport=CrashingTransport(settings, stage, at)).run()
    store.close()


if __name__ == "__main__":
    main()
