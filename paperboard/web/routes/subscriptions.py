"""Subscribe, confirm, unsubscribe, and a user's saved-search alerts.

Confirmation and unsubscribe links carry signed tokens, so they work without a login; a bad,
cut or expired link gets a page that says so (status 400), never a trace. The answer to a
subscribe form is the same whether or not the address was known, so the form cannot be
used to find out who subscribes. Confirmation emails are sent after the response (a slow
SMTP server never slows the page); if that fails, the worker's outbox flush retries them.

Unsubscribing is one click, and only a click (RFC 8058): the URL in every email (the body's
link and the ``List-Unsubscribe`` header) unsubscribes on POST only. Mail providers' own
unsubscribe button POSTs ``List-Unsubscribe=One-Click`` to it, with no cookie and so no CSRF
token: the signed token in the URL is the credential. Opened with GET (a reader's click, or
one of the link scanners many providers run on incoming mail) the same URL only shows a page
with one button that POSTs; nothing changes until it is pressed. Tokens are as they always
were, so links in mail sent before this change keep working (one more click). A bad, cut or
expired token changes nothing on either method. A For-you email's link stops only the For-you
digest (the token says so).

A logged-in user chooses the For-you digest (off, daily, weekly) on the alerts page, with a
CSRF-checked form; it goes to an address of theirs that has opted in.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ...digest.addresses import InvalidAddress
from ...digest.subscriptions import SUBSCRIBE_KINDS, Subscriptions
from ...digest.tokens import TokenError, TokenExpired
from ...search.query import QueryError
from ...store.accounts import User
from .. import deps

router = APIRouter(include_in_schema=False)
TokenParam = Annotated[str, Query()]
"""No max_length here: an over-long token gets the same clear page as any bad one."""


def _subs(request: Request) -> Subscriptions:
    return Subscriptions(deps.get_settings(request), deps.get_store(request))


def _message(request: Request, title: str, message: str, *, problem: bool = False, status: int = 200,
             detail: str | None = None, show_form: bool = False, **ctx) -> HTMLResponse:  # fmt: skip
    return deps.render(
        request, "subscriptions/message.html",
        {"title": title, "message": message, "problem": problem, "detail": detail,
         "show_form": show_form, "email": ctx.get("email"), "kind": ctx.get("kind")},
        status_code=status,
    )  # fmt: skip


def _send_later(subs: Subscriptions, outbox_id: int | None) -> BackgroundTask | None:
    if outbox_id is None:
        return None
    return BackgroundTask(_send_quietly, subs, outbox_id)


def _send_quietly(subs: Subscriptions, outbox_id: int) -> None:
    """After the response: a failure stays in the outbox for the worker to retry."""
    try:
        subs.send_now([outbox_id], lock_wait=2.0)
    except Exception:  # noqa: BLE001 - logged by the server; the row is retried later
        import logging

        logging.getLogger("paperboard.digest").exception("could not send confirmation email now")


# -- subscribe -------------------------------------------------------------------------------
@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(request: Request):
    return deps.render(request, "subscriptions/subscribe.html", {"error": None, "email": "", "kind": "daily"})


@router.post("/subscribe", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def subscribe(
    request: Request,
    email: Annotated[str, Form(max_length=1000)] = "",
    kind: Annotated[str, Form(max_length=20)] = "daily",
):
    subs = _subs(request)
    if kind not in SUBSCRIBE_KINDS:
        kind = "daily"
    user = deps.current_user(request)
    try:
        result = subs.subscribe(email, kind, user_id=user.id if user and user.email and
                                user.email.lower() == email.strip().lower() else None)  # fmt: skip
    except InvalidAddress as exc:
        return deps.render(
            request, "subscriptions/subscribe.html",
            {"error": f"{str(exc)[0].upper()}{str(exc)[1:]}.", "email": email[:254], "kind": kind},
            status_code=400,
        )  # fmt: skip
    response = _message(
        request, "Check your inbox",
        f"If {result.subscriber.email} can receive email, a confirmation link is on its way to it.",
        detail="Open the link to start getting the "
        + ("daily trending papers (weekdays)." if kind == "daily" else "weekly top papers.")
        + " Nothing is sent before that.",
    )  # fmt: skip
    response.background = _send_later(subs, result.confirmation_id)
    return response


@router.get("/subscribe/confirm", response_class=HTMLResponse)
def confirm(request: Request, token: TokenParam = ""):
    try:
        sub = _subs(request).confirm(token)
    except TokenExpired:
        return _message(request, "This link has expired", "Confirmation links work for a few days only.",
                        problem=True, status=400, detail="Subscribe again to get a new one.", show_form=True)  # fmt: skip
    except TokenError as exc:
        return _message(request, "This link does not work", f"{str(exc)[0].upper()}{str(exc)[1:]}.",
                        problem=True, status=400, show_form=True)  # fmt: skip
    what = {"daily": "the daily trending papers", "weekly": "the weekly top papers"}.get(sub.kind, "your alerts")
    return _message(request, "You are subscribed", f"{sub.email} will get {what}.",
                    detail="Every email has a link to unsubscribe in one click.")  # fmt: skip


# -- unsubscribe -----------------------------------------------------------------------------
def _bad_unsubscribe_link(request: Request, exc: TokenError) -> HTMLResponse:
    if isinstance(exc, TokenExpired):
        return _message(request, "This link has expired",
                        "This unsubscribe link is too old to use.", problem=True, status=400,
                        detail="Use the link in a recent email, or reply to any email and we will remove you.")  # fmt: skip
    return _message(request, "This link does not work", f"{str(exc)[0].upper()}{str(exc)[1:]}.",
                    problem=True, status=400, detail="Use the unsubscribe link of a recent email.")  # fmt: skip


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: TokenParam = ""):
    """Shows what the button will do; changes nothing (a link scanner's GET is harmless)."""
    subs = _subs(request)
    try:
        data = subs.check_unsubscribe(token)
    except TokenError as exc:
        return _bad_unsubscribe_link(request, exc)
    sub = deps.get_store(request).get_subscriber(data.subscriber_id)
    listed = sub is not None and sub.email.lower() == data.email.lower()
    if not listed or sub.status == "unsubscribed":
        return _message(request, "You are unsubscribed", "This address is not on our list: we send it nothing.")
    foryou = data.kind == "foryou"
    if foryou and sub.foryou == "off":
        return _message(request, "No more For-you emails", f"The For-you digest to {sub.email} is already off.")
    return deps.render(
        request, "subscriptions/unsubscribe.html",
        {"email": sub.email, "foryou": foryou, "action": f"/unsubscribe?{urlencode({'token': token})}"},
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )  # fmt: skip


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, token: TokenParam = ""):
    """The button on the page above, or a mail client's ``List-Unsubscribe=One-Click`` POST to
    the header's URL (RFC 8058): the token is in the URL either way; a form field is accepted
    too. No CSRF check and no session: the signed token is the credential."""
    if not token:
        try:
            value = (await request.form()).get("token")
        except Exception:  # noqa: BLE001 - an unreadable body is a link without its token
            value = None
        token = value if isinstance(value, str) else ""
    return await run_in_threadpool(_unsubscribe, request, token)


def _unsubscribe(request: Request, token: str) -> HTMLResponse:
    subs = _subs(request)
    try:
        data = subs.check_unsubscribe(token)
        sub = subs.leave(data)
    except TokenError as exc:
        return _bad_unsubscribe_link(request, exc)
    if sub is None:
        return _message(request, "You are unsubscribed", "This address is not on our list: we send it nothing.")
    if data.kind == "foryou":
        return _message(request, "No more For-you emails", f"We will not send the For-you digest to {sub.email} again.",
                        detail="Any other emails you get from us continue. Changed your mind? Choose it again"
                        " under Email and alerts in your account.")  # fmt: skip
    return _message(request, "You are unsubscribed", f"We will not email {sub.email} again.",
                    detail="Changed your mind? Subscribe again below.", show_form=True,
                    email=sub.email, kind=sub.kind)  # fmt: skip


# -- saved-search alerts ---------------------------------------------------------------------
def _alerts_page(request: Request, user: User, *, status: int = 200, **ctx) -> HTMLResponse:
    store = deps.get_store(request)
    searches = store.list_saved_searches(user_id=user.id)
    subscriber = store.get_subscriber_by_email(user.email) if user.email else None
    if subscriber is None and searches:
        subscriber = store.get_subscriber(searches[0].subscriber_id)
    address = user.email or (subscriber.email if subscriber else ctx.get("address"))
    base = {"error": None, "notice": None, "query": "", "category": "", "searches": searches,
            "subscriber": subscriber, "address": address,
            "foryou_sub": _subs(request).foryou_address(user)}  # fmt: skip
    base.update({k: v for k, v in ctx.items() if k != "address" or not address})
    return deps.render(request, "subscriptions/alerts.html", base, status_code=status)


@router.get("/account/alerts", response_class=HTMLResponse)
def alerts(request: Request, user: Annotated[User, Depends(deps.require_user)]):
    return _alerts_page(request, user, notice=request.query_params.get("done") and "Saved.")


@router.post("/account/alerts", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def add_alert(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    query: Annotated[str, Form(max_length=2000)] = "",
    category: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
):
    subs = _subs(request)
    address = user.email or email
    try:
        saved, result = subs.add_alert(user.id, address, query, category or None)
    except (InvalidAddress, QueryError, ValueError) as exc:
        msg = str(exc)
        return _alerts_page(request, user, status=400, error=f"{msg[0].upper()}{msg[1:]}.",
                            query=query[:200], category=category[:40], address=email[:254])  # fmt: skip
    if result.subscriber.status == "confirmed":
        notice = f"Saved “{saved.query}”: new matching papers will be emailed to {result.subscriber.email}."
    else:
        notice = (f"Saved “{saved.query}”. Open the confirmation link we emailed to "
                  f"{result.subscriber.email} to start getting alerts.")  # fmt: skip
    response = _alerts_page(request, user, notice=notice)
    response.background = _send_later(subs, result.confirmation_id)
    return response


@router.post("/account/alerts/{saved_id}/delete", dependencies=[Depends(deps.verify_csrf)])
def delete_alert(request: Request, saved_id: int, user: Annotated[User, Depends(deps.require_user)]):
    deps.get_store(request).delete_saved_search(saved_id, user.id)
    return RedirectResponse("/account/alerts", status_code=303)


# -- the For-you digest ------------------------------------------------------------------------
@router.post("/account/foryou-digest", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def choose_foryou(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    cadence: Annotated[str, Form(max_length=20)] = "off",
):
    try:
        sub = _subs(request).set_foryou(user, cadence)
    except ValueError as exc:
        msg = str(exc)
        return _alerts_page(request, user, status=400, error=f"{msg[0].upper()}{msg[1:]}.")
    if sub.foryou == "off":
        notice = "The For-you digest is off."
    else:
        when = "every weekday" if sub.foryou == "daily" else "every Monday, for the week before"
        notice = f"Your For-you papers will be emailed to {sub.email} {when}."
        if sub.status != "confirmed":
            notice += " They start once you open the confirmation link we emailed."
    return _alerts_page(request, user, notice=notice)
