"""SMTP delivery with a commit point: the caller records "sending" just before the final dot.

An SMTP server delivers a message only once it has read the terminating ``CRLF.CRLF``; a
connection that drops before that aborts the transaction (RFC 5321 §4.1.1.4). So the
sender writes the whole message body, calls ``before_commit`` (the outbox marks the row
``sending`` and commits), and only then writes the dot. Once the dot is written the kernel
delivers it even if this process is killed the next instant. What is left uncertain is one
gap of a few microseconds between the database commit and that write; see digest/outbox.py
for how resume treats it.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable

from ..config import Settings

_LEADING_DOT = re.compile(rb"(?m)^\.")


class DeliveryError(Exception):
    """An email was not accepted. ``permanent`` (5xx) will never succeed for this address."""

    def __init__(self, message: str, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class ServerUnavailable(DeliveryError):
    """No SMTP session could be opened: nothing is wrong with the address."""


class OutcomeUnknown(DeliveryError):
    """The final dot went out but no reply came back: the server probably has the message."""


def _error(stage: str, code: int, reply: bytes | str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return DeliveryError(f"{stage}: {code} {text}".strip(), code=code, permanent=500 <= code < 600)


class SmtpTransport:
    """One reusable connection, recycled every ``smtp_batch_size`` messages or after an error."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._sent_on_conn = 0

    # -- connection --------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        timeout = s.smtp_timeout
        try:
            if s.smtp_ssl:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
            # The body and the final dot are two writes: without NODELAY, Nagle holds the dot
            # until the body is acknowledged, and delayed ACKs make that ~40 ms per message.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo()
            if s.smtp_starttls and not s.smtp_ssl:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.smtp_user:
                conn.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ServerUnavailable(f"SMTP login refused: {exc.smtp_code}", code=exc.smtp_code) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ServerUnavailable(f"cannot connect to SMTP server {s.smtp_host}:{s.smtp_port}: {exc}") from exc
        return conn

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None and self._sent_on_conn >= max(1, self.settings.smtp_batch_size):
            self.close()
        if self._conn is None:
            self._conn = self._connect()
            self._sent_on_conn = 0
        return self._conn

    def _drop(self) -> None:
        """Close without QUIT: an unfinished DATA must be aborted, never completed."""
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()

    # -- sending -----------------------------------------------------------------------
    def send(self, sender: str, recipient: str, message: bytes, before_commit: Callable[[], None]) -> None:
        """Deliver one message (CRLF line endings) or raise ``DeliveryError``."""
        conn = self._connection()
        committed = False
        try:
            code, reply = conn.mail(sender)
            if code != 250:
                self._reset()
                raise _error("MAIL FROM", code, reply)
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                raise _error("RCPT TO", code, reply)
            conn.putcmd("data")
            code, reply = conn.getreply()
            if code != 354:
                self._reset()
                raise _error("DATA", code, reply)
            body = _LEADING_DOT.sub(b"..", message)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            conn.send(body)
            try:
                before_commit()
            except BaseException:
                self._drop()  # the server discards the unfinished message
                raise
            committed = True
            conn.send(b".\r\n")
            code, reply = conn.getreply()
        except DeliveryError:
            raise
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self._drop()
            if committed:
                raise OutcomeUnknown(f"no reply after the message was sent: {exc}") from exc
            raise DeliveryError(f"connection failed: {exc}") from exc
        self._sent_on_conn += 1
        if code != 250:
            raise _error("end of DATA", code, reply)

    def _reset(self) -> None:
        try:
            code, _ = self._conn.rset() if self._conn else (250, b"")
            if code != 250:
                self._drop()
        except (smtplib.SMTPException, OSError):
            self._drop()
