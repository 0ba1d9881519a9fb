"""Double opt-in and one-click unsubscribe, end to end through a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from paperboard.digest.addresses import InvalidAddress
from paperboard.digest.outbox import OutboxSender, plan_digests
from paperboard.digest.subscriptions import Subscriptions
from paperboard.digest.tokens import TokenError, TokenExpired, Tokens

from .conftest import TUESDAY, paper


def _link(text: str, path: str) -> str:
    m = re.search(rf"https://papers\.example\.org{re.escape(path)}\?token=[\w.\-%]+", text)
    assert m, f"no {path} link in:\n{text}"
    return m.group(0)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


@pytest.fixture
def subs(mail_settings, tmp_store) -> Subscriptions:
    return Subscriptions(mail_settings, tmp_store)


def test_subscribe_sends_one_confirmation_and_no_digest_until_confirmed(subs, tmp_store, mail_settings, smtp):
    tmp_store.upsert_papers([paper(1, TUESDAY, "Sparse attention")])
    result = subs.subscribe("Reader@Example.ORG", "daily")
    assert result.created and result.subscriber.status == "pending"
    assert result.subscriber.email == "Reader@example.org"
    assert subs.send_now([result.confirmation_id])
    [mail] = smtp.to("reader@example.org")
    assert mail.message["Subject"] == "Confirm your Paperboard subscription"
    assert "List-Unsubscribe" not in mail.message

    # The daily digest of a day with papers is not sent to a pending address.
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY)])
    OutboxSender(mail_settings, tmp_store).run()
    assert smtp.count() == 1

    confirm_url = _link(mail.part("plain"), "/subscribe/confirm")
    assert confirm_url in mail.part("html").replace("&amp;", "&")
    sub = subs.confirm(_token(confirm_url))
    assert sub.status == "confirmed" and sub.kind == "daily"
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY)])
    OutboxSender(mail_settings, tmp_store).run()
    assert [m.message["Subject"] for m in smtp.to("reader@example.org")][1].startswith("Trending papers")


def test_same_address_twice_is_one_subscription_and_one_email(subs, tmp_store, smtp):
    first = subs.subscribe("twice@example.org", "daily")
    second = subs.subscribe("TWICE@example.org", "daily")
    assert first.subscriber.id == second.subscriber.id and not second.created
    assert second.confirmation_id is None  # cool-down: no second email to the same inbox
    subs.send_now([first.confirmation_id])
    assert len(tmp_store.list_subscribers()) == 1
    assert len(smtp.to("twice@example.org")) == 1


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "no-at-sign", "a@b", "two@@example.org", "sp ace@example.org", "x@exa mple.org",
     "line\nbreak@example.org", "a@example.org\r\nBcc: victim@example.org", "a@-bad-.org",
     "a" * 65 + "@example.org", "a@" + "b" * 250 + ".org", "a..b@example.org", "a@example.123"],
)  # fmt: skip
def test_invalid_addresses_are_refused_with_a_message(subs, tmp_store, bad):
    with pytest.raises(InvalidAddress) as exc:
        subs.subscribe(bad, "daily")
    assert str(exc.value)
    assert tmp_store.list_subscribers() == []


def test_unsubscribe_link_and_headers_stop_all_mail(subs, tmp_store, mail_settings, smtp):
    tmp_store.upsert_papers([paper(1, TUESDAY, "Sparse attention")])
    subs.subscribe("leaver@example.org", "daily", confirmed=True)
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY)])
    OutboxSender(mail_settings, tmp_store).run()
    [mail] = smtp.to("leaver@example.org")
    header = mail.message["List-Unsubscribe"]
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header.strip("<>")
    assert url == _link(mail.part("plain"), "/unsubscribe")
    sub = subs.unsubscribe(_token(url))
    assert sub is not None and sub.status == "unsubscribed"
    # Idempotent: the second click (or the client's POST after the click) is fine.
    assert subs.unsubscribe(_token(url)).status == "unsubscribed"
    tmp_store.upsert_papers([paper(2, TUESDAY + timedelta(days=1), "Dense retrieval")])
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY + timedelta(days=1))])
    OutboxSender(mail_settings, tmp_store).run()
    assert len(smtp.to("leaver@example.org")) == 1


def test_old_confirmation_link_cannot_resubscribe_after_unsubscribe(subs, tmp_store, smtp):
    result = subs.subscribe("back@example.org", "weekly")
    subs.send_now([result.confirmation_id])
    token = _token(_link(smtp.to("back@example.org")[0].part("plain"), "/subscribe/confirm"))
    subs.confirm(token)
    unsub = subs.tokens.make("unsubscribe", result.subscriber.id, "back@example.org")
    subs.unsubscribe(unsub)
    with pytest.raises(TokenError, match="before you unsubscribed"):
        subs.confirm(token)
    # Subscribing again sends a fresh link, which works.
    again = subs.subscribe("back@example.org", "weekly")
    assert again.confirmation_id is not None
    subs.send_now([again.confirmation_id])
    fresh = _token(_link(smtp.to("back@example.org")[-1].part("plain"), "/subscribe/confirm"))
    assert subs.confirm(fresh).status == "confirmed"


def test_tampered_wrong_purpose_and_expired_tokens(subs, mail_settings):
    tokens = Tokens(mail_settings.resolved_secret_key())
    good = tokens.make("confirm", 1, "a@example.org", "daily")
    with pytest.raises(TokenError):
        subs.confirm(good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"))
    with pytest.raises(TokenError):
        subs.confirm("")
    with pytest.raises(TokenError):
        subs.unsubscribe(good)  # a confirmation token is not an unsubscribe token
    with pytest.raises(TokenError):
        Tokens("another-secret").read("confirm", good, max_age_seconds=60)
    with pytest.raises(TokenExpired):
        tokens.read("confirm", good, max_age_seconds=-1)
