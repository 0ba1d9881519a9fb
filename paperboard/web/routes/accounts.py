"""Sign up, log in, log out, change password, set the display name authorship claims match.

Recovering, moving and leaving an account live next door (``account_recovery``,
``account_deletion``); their routers join this one.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...store.accounts import User, UsernameTaken
from ...store.library import LibraryError
from .. import deps, ratelimit, sessions
from ..passwords import DUMMY_HASH, hash_password, password_problem, verify_password
from . import account_deletion, account_recovery

router = APIRouter(include_in_schema=False)

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}$")
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,255}\.[^@\s<>\"']{2,63}$")


def _next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _form(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
    ctx.setdefault("error", None)
    ctx.setdefault("done", None)
    ctx.setdefault("next", _next(request.query_params.get("next")))
    return deps.render(request, name, ctx, status_code=status)


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request):
    return _form(request, "signup.html", username="", email="")


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def signup(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=4000)] = "",
    email: Annotated[str, Form(max_length=400)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
):
    username, email = username.strip(), email.strip()
    error = None
    if not USERNAME.match(username):
        error = "A user name has 3 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit."
    elif email and not EMAIL.match(email):
        error = "That email address does not look valid (it is optional: leave it empty)."
    else:
        error = password_problem(password)
        if error:
            error = error[0].upper() + error[1:] + "."
    if error is None:
        try:
            user = request.app.state.store.create_user(
                username, hash_password(password), email=email or None
            )
        except UsernameTaken:
            error = "That user name is taken."
    if error is not None:
        return _form(
            request,
            "signup.html",
            400,
            error=error,
            username=username,
            email=email,
            next=_next(next),
        )
    response = RedirectResponse(_next(next), status_code=303)
    sessions.start_session(request, response, user)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request):
    return _form(request, "login.html", username="", done=request.query_params.get("done"))


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=4000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
):
    username = username.strip()
    if ratelimit.blocked(request, username):
        return _form(
            request, "login.html", 429, username=username, next=_next(next),
            error="Too many failed attempts. Wait 15 minutes and try again.",
        )  # fmt: skip
    store = request.app.state.store
    user = store.get_user_by_name(username) if username else None
    stored = store.get_password_hash(user.id) if user else None
    ok = verify_password(stored or DUMMY_HASH, password) and user is not None and stored is not None
    if not ok:
        ratelimit.record_failure(request, username)
        return _form(
            request, "login.html", 400, username=username, next=_next(next),
            error="Wrong user name or password.",
        )  # fmt: skip
    ratelimit.record_success(request, username)
    response = RedirectResponse(_next(next), status_code=303)
    sessions.start_session(request, response, user)
    return response


@router.post("/logout", dependencies=[Depends(deps.verify_csrf)])
def logout(request: Request):
    response = RedirectResponse("/", status_code=303)
    sessions.end_session(request, response)
    return response


def account_page(request: Request, user: User, status: int = 200, **ctx) -> HTMLResponse:
    ctx.setdefault("error", None)
    ctx.setdefault("done", None)
    ctx.setdefault("email_error", None)
    ctx.setdefault("new_email", "")
    ctx.setdefault("display_name", request.app.state.store.display_name(user.id) or "")
    ctx.setdefault("name_error", None)
    return deps.render(request, "account.html", ctx, status_code=status)


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: Annotated[User, Depends(deps.require_user)]):
    return account_page(request, user, done=request.query_params.get("done"))


@router.post(
    "/account/display-name", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)]
)
def set_display_name(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    display_name: Annotated[str, Form(max_length=1000)] = "",
):
    """The name as it appears on papers: what an authorship claim is matched against."""
    try:
        request.app.state.store.set_display_name(user.id, display_name)
    except LibraryError as exc:
        return account_page(
            request, user, 400, display_name=display_name, name_error=str(exc).capitalize() + "."
        )
    return RedirectResponse("/account?done=name", status_code=303)


@router.post(
    "/account/password", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)]
)
def change_password(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    current: Annotated[str, Form(max_length=4000)] = "",
    new: Annotated[str, Form(max_length=4000)] = "",
):
    store = request.app.state.store
    error = None
    if not verify_password(store.get_password_hash(user.id) or DUMMY_HASH, current):
        error = "The current password is wrong."
    else:
        problem = password_problem(new)
        if problem:
            error = problem[0].upper() + problem[1:] + "."
    if error:
        return account_page(request, user, 400, error=error)
    store.set_password_hash(user.id, hash_password(new))
    # Every other session of this user ends: a stolen session dies with the old password.
    store.delete_user_sessions(user.id, keep=sessions.session_hash(request))
    return RedirectResponse("/account?done=password", status_code=303)


router.include_router(account_recovery.router)
router.include_router(account_deletion.router)
