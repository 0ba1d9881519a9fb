"""Email addresses and header values checked at the edge, before they reach a store or a header.

A subscribe form is the one place a stranger writes into our outgoing mail headers, so an
address must be a plain ``local@domain`` with no spaces, quotes or line breaks, and every
other header value we build (subjects with a saved query in them) must be one line.
"""

from __future__ import annotations

import re

MAX_ADDRESS = 254
MAX_LOCAL = 64
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidAddress(ValueError):
    """The message is shown to the person who typed the address."""


def normalize_address(text: str) -> str:
    """A deliverable-looking address with its domain lower-cased, or ``InvalidAddress``."""
    if not isinstance(text, str):
        raise InvalidAddress("enter an email address")
    if _CONTROL.search(text):
        raise InvalidAddress("an email address cannot contain line breaks or control characters")
    address = text.strip()
    if not address:
        raise InvalidAddress("enter an email address")
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress(f"an email address has at most {MAX_ADDRESS} characters")
    if any(c.isspace() for c in address):
        raise InvalidAddress("an email address cannot contain spaces")
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidAddress(f"{_show(address)} is not an email address: it needs a name, @ and a domain")
    if len(local) > MAX_LOCAL or not _LOCAL.match(local):
        raise InvalidAddress(f"{_show(address)} is not a valid email address (the part before @)")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress(f"{_show(address)} has an invalid domain") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(lbl) for lbl in labels) or labels[-1].isdigit():
        raise InvalidAddress(f"{_show(address)} has an invalid domain (expected e.g. example.org)")
    return f"{local}@{domain.lower()}"


def one_line(value: str, what: str = "header") -> str:
    """Refuse a header value with a line break instead of trusting an encoder to fold it."""
    if "\r" in value or "\n" in value or _CONTROL.search(value):
        raise ValueError(f"{what} contains a line break or control character")
    return value


def _show(address: str) -> str:
    return repr(address if len(address) <= 60 else address[:57] + "...")
