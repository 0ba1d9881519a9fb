"""Getting back into an account and moving it: "forgot password" and the reset link, an
address change confirmed at the new address, and "log out everywhere".

The forgot form does the same work and shows the same page whatever address it is given:
the lookup, token and email happen in a background task after the response, so neither
the answer nor its timing says whether an account has that address. The form is rate
limited per client and per address on the login throttle's shared counter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from ...digest.addresses import InvalidAddress, normalize_address
from ...store.account_recovery import TokenRefused
from ...store.accounts import User
from .. import deps, ratelimit, sessions
from ..account_links import AccountLinks, LinkError
from ..account_mail import AccountMailer, send_address_confirmation, send_reset_links
from ..passwords import DUMMY_HASH, hash_password, password_problem, verify_password

router = APIRouter(include_in_schema=False)
TokenParam = Annotated[str, Query()]
"""No max_length: an over-long token gets the same clear page as any bad one."""
MAX_PER_ADDRESS = 3
"""Reset emails per address per window: a stranger cannot flood someone's inbox."""
MAX_PER_CLIENT = 10
NO_STORE = {"Cache-Control": "no-store"}


def _mailer(request: Request) -> AccountMailer:
    return AccountMailer(deps.get_settings(request), AccountLinks(request.app.state.secret_key))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def problem(
    request: Request, message: str, *, status: int = 400, title: str = "This link does not work"
):
    """The one page for every refused link: what is wrong and what to do; nothing changed."""
    return deps.render(
        request, "account/problem.html", {"title": title, "message": _sentence(message)},
        status_code=status, headers=NO_STORE,
    )  # fmt: skip


# -- forgot password -------------------------------------------------------------------------
@router.get("/forgot", response_class=HTMLResponse)
def forgot_form(request: Request):
    return deps.render(request, "account/forgot.html", {"error": None, "email": ""})


@router.post("/forgot", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def forgot(request: Request, email: Annotated[str, Form(max_length=1000)] = ""):
    try:
        address = normalize_address(email)
    except InvalidAddress as exc:
        return deps.render(request, "account/forgot.html", {"error": _sentence(str(exc)), "email": email},
                           status_code=400)  # fmt: skip
    client_key = "reset-ip:" + ratelimit.client_address(request)
    if ratelimit.attempts_exceeded(request, client_key, MAX_PER_CLIENT):
        return deps.render(
            request, "account/forgot.html", status_code=429,
            context={"error": "Too many reset requests from your network. Wait 15 minutes and try again.",
                     "email": email},
        )  # fmt: skip
    address_key = "reset-address:" + address.lower()
    over = ratelimit.attempts_exceeded(request, address_key, MAX_PER_ADDRESS)
    ratelimit.record_attempt(request, client_key)
    ratelimit.record_attempt(request, address_key)
    task = (
        None
        if over
        else BackgroundTask(send_reset_links, _mailer(request), deps.get_store(request), address)
    )
    response = deps.render(request, "account/forgot_sent.html", {"email": address})
    response.background = task
    return response


# -- the reset link --------------------------------------------------------------------------
def _reset_target(request: Request, token: str | None) -> tuple[int, str, User]:
    """Raises ``LinkError``/``TokenRefused`` with words for the page."""
    user_id, digest = AccountLinks(request.app.state.secret_key).read("reset", token)
    return user_id, digest, deps.get_store(request).check_account_token(digest, user_id, "reset")


@router.get("/reset", response_class=HTMLResponse)
def reset_form(request: Request, token: TokenParam = ""):
    try:
        _, _, user = _reset_target(request, token)
    except (LinkError, TokenRefused) as exc:
        return problem(request, str(exc), title="This reset link does not work")
    return deps.render(request, "account/reset.html", {"token": token, "username": user.username, "error": None},
                       headers=NO_STORE)  # fmt: skip


@router.post("/reset", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def reset(
    request: Request,
    token: Annotated[str, Form()] = "",
    new: Annotated[str, Form(max_length=4000)] = "",
    repeat: Annotated[str, Form(max_length=4000)] = "",
):
    try:
        user_id, digest, user = _reset_target(request, token)
    except (LinkError, TokenRefused) as exc:
        return problem(request, str(exc), title="This reset link does not work")
    error = password_problem(new)
    if error is None and new != repeat:
        error = "the two passwords differ"
    if error:
        return deps.render(request, "account/reset.html",
                           {"token": token, "username": user.username, "error": _sentence(error)},
                           status_code=400, headers=NO_STORE)  # fmt: skip
    try:
        user = deps.get_store(request).reset_password_with_token(
            digest, user_id, hash_password(new)
        )
    except TokenRefused as exc:  # used by another request meanwhile
        return problem(request, str(exc), title="This reset link does not work")
    ratelimit.record_success(request, user.username)  # a locked-out owner can log in at once
    return RedirectResponse("/login?done=reset", status_code=303)


# -- address change --------------------------------------------------------------------------
@router.post(
    "/account/email", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)]
)
def change_email(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=4000)] = "",
):
    """The password is asked again: a session left open somewhere must not be enough to
    point the account (and so its password resets) at someone else's address."""
    from .accounts import account_page

    if ratelimit.blocked(request, user.username):
        return account_page(
            request,
            user,
            429,
            email_error="Too many failed attempts. Wait 15 minutes and try again.",
        )
    store = deps.get_store(request)
    if not verify_password(store.get_password_hash(user.id) or DUMMY_HASH, password):
        ratelimit.record_failure(request, user.username)
        return account_page(
            request, user, 400, email_error="The password is wrong.", new_email=email
        )
    try:
        address = normalize_address(email)
    except InvalidAddress as exc:
        return account_page(request, user, 400, email_error=_sentence(str(exc)), new_email=email)
    if user.email and address.lower() == user.email.lower():
        return account_page(
            request, user, 400, email_error="That is already your address.", new_email=email
        )
    response = RedirectResponse("/account?done=email-sent", status_code=303)
    response.background = BackgroundTask(
        send_address_confirmation, _mailer(request), store, user, address
    )
    return response


def _address_target(request: Request, user: User, token: str | None) -> tuple[str, str]:
    """The hash and new address of a link for this user's account; raises with words."""
    user_id, digest = AccountLinks(request.app.state.secret_key).read("email", token)
    if user_id != user.id:
        raise LinkError(
            "this link is for another account: log out, then log in as the account it was sent for"
        )
    store = deps.get_store(request)
    store.check_account_token(digest, user_id, "email")
    found = store.account_token(digest)
    assert found is not None  # checked just above
    return digest, found.email


@router.get("/account/email/confirm", response_class=HTMLResponse)
def confirm_email_form(
    request: Request, user: Annotated[User, Depends(deps.require_user)], token: TokenParam = ""
):
    """A page with a button, not a change on GET: mail scanners open links too."""
    try:
        _, address = _address_target(request, user, token)
    except (LinkError, TokenRefused) as exc:
        return problem(request, str(exc), title="This confirmation link does not work")
    return deps.render(
        request,
        "account/email_confirm.html",
        {"token": token, "address": address},
        headers=NO_STORE,
    )


@router.post(
    "/account/email/confirm", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)]
)
def confirm_email(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    token: Annotated[str, Form()] = "",
):
    try:
        digest, _ = _address_target(request, user, token)
        deps.get_store(request).change_email_with_token(digest, user.id)
    except (LinkError, TokenRefused) as exc:
        return problem(request, str(exc), title="This confirmation link does not work")
    return RedirectResponse("/account?done=email", status_code=303)


# -- log out everywhere ----------------------------------------------------------------------
@router.post("/account/sessions/end", dependencies=[Depends(deps.verify_csrf)])
def end_all_sessions(request: Request, user: Annotated[User, Depends(deps.require_user)]):
    """Every session of the account ends, this one too (a stolen cookie dies with it)."""
    deps.get_store(request).delete_user_sessions(user.id)
    response = RedirectResponse("/login?done=everywhere", status_code=303)
    sessions.end_session(request, response)
    return response
