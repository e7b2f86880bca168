"""Agents' sessions are short (issue 24 §1): town-hall computers are shared, so a staff account's
session (guichet agents, communes' administrators, the operator) ends when the browser closes,
after PARVIS_AGENT_SESSION_MAX_AGE at most and after PARVIS_AGENT_IDLE_TIMEOUT without a request.
Citizens keep Django's session length (SESSION_COOKIE_AGE).

The clocks live in the session (the database): every app server sees the same ones. The idle
clock is written at most once a minute (not a session write per request), so an agent is logged
out after between IDLE - 1 minute and IDLE without a request: the error is on the safe side.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

LOGIN_AT = "_parvis_agent_login_at"
SEEN_AT = "_parvis_agent_seen_at"
SEEN_RESOLUTION = 60  # seconds
# What is never shown back on the warning page: secrets — passwords, a provider's signing key
# (« secret », « hmac »), tokens, bank details, keys and codes (a service key, a code famille, a
# tracking code; not a postal code) — and Django's own token. On a shared town-hall computer the
# page is read by others.
SECRET_WORDS = ("password", "passe", "secret", "hmac", "token", "csrf", "iban")
SECRET_PARTS = frozenset({"key", "cle", "clé", "bic", "next"})


def is_hidden(name: str) -> bool:
    lower = name.lower()
    if any(word in lower for word in SECRET_WORDS):
        return True
    parts = [part for part in re.split(r"[\W_]+", lower) if part]
    return bool(SECRET_PARTS & set(parts)) or (bool(parts) and parts[0] == "code")


def is_agent_session(user) -> bool:
    return user.is_authenticated and user.is_staff


def start_agent_session(session) -> None:
    """At an agent's login: the clocks start now, the cookie lasts until the browser closes."""
    now = time.time()
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    session.set_expiry(0)


def on_login(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver (AccountsConfig.ready): every staff login, the guichet's and the
    administration's alike."""
    if request is not None and hasattr(request, "session") and user.is_staff:
        start_agent_session(request.session)


def expired(session, now: float) -> str | None:
    """« idle » or « max_age » when the agent's session is over, None otherwise. A minute is
    a minute: over at the first request strictly past the limit."""
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if login_at is None or seen_at is None:
        return None
    if now - login_at > settings.PARVIS_AGENT_SESSION_MAX_AGE:
        return "max_age"
    if now - seen_at > settings.PARVIS_AGENT_IDLE_TIMEOUT:
        return "idle"
    return None


def typed_fields(request) -> list[tuple[str, str]]:
    """What the agent had typed in the form they sent, to copy back after logging in again:
    every non-empty field but passwords and tokens."""
    if request.method != "POST":
        return []
    typed = []
    for name, values in request.POST.lists():
        if is_hidden(name):
            continue
        for value in values:
            if value.strip():
                typed.append((name.replace("_", " ").replace("-", " "), value))
    return typed


def login_url(request) -> str:
    """The login page the agent came through, and back to this page afterwards."""
    commune = getattr(request, "commune", None)
    if commune is not None:
        login = reverse("backoffice:connexion", kwargs={"commune": commune.slug})
    else:
        login = reverse("admin:login")
    return f"{login}?{urlencode({'next': request.get_full_path()})}"


class AgentSessionMiddleware:
    """After AuthenticationMiddleware and CommuneMiddleware (the login page is the commune's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        # A session opened before these limits existed: its clocks start now.
        if user is not None and is_agent_session(user) and LOGIN_AT not in request.session:
            start_agent_session(request.session)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_agent_session(request.user):
            return None
        now = time.time()
        reason = expired(request.session, now)
        if reason is None:
            seen_at = request.session.get(SEEN_AT)
            if seen_at is not None and now - seen_at >= SEEN_RESOLUTION:
                request.session[SEEN_AT] = now
            return None
        typed = typed_fields(request)
        files = [upload.name for upload in request.FILES.values()] if typed else []
        back = login_url(request)
        logout(request)
        response = render(
            request,
            "accounts/session_expiree.html",
            {
                "reason": reason,
                "typed": typed,
                "files": files,
                "login_url": back,
                "idle_minutes": settings.PARVIS_AGENT_IDLE_TIMEOUT // 60,
                "max_hours": settings.PARVIS_AGENT_SESSION_MAX_AGE // 3600,
            },
        )
        add_never_cache_headers(response)
        return response
