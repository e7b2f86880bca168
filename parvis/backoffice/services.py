"""Writes of the guichet itself: the agents' login, throttled like the citizens' (the families'
writes are in parvis.families.services)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib import auth
from django.utils import timezone

from parvis.accounts.models import Attempt, User
from parvis.accounts.services import (
    ACCOUNT_MAX_FAILURES,
    _record_attempt,
    client_ip,
    locked_until,
    normalise_identifier,
)
from parvis.backoffice.permissions import agent_of
from parvis.communes.models import Commune

security_log = logging.getLogger("parvis.security")


@dataclass(frozen=True)
class AgentLoginResult:
    user: User | None = None
    locked_until: datetime | None = None


def agent_login_identifier(username: str) -> str:
    return f"agent:{normalise_identifier(username)}"


def attempt_agent_login(
    *, request, commune: Commune, username: str, password: str
) -> AgentLoginResult:
    """Check an agent's credentials under the lockout rules of the citizens' login (5 failures
    within 15 minutes lock the username for 15 minutes; 30 per address). A right password of an
    account that is not an agent of `commune` is a failure like any other. Every attempt is
    recorded; nobody is logged in here."""
    now = timezone.now()
    ip = client_ip(request)
    identifier = agent_login_identifier(username)

    def lock():
        return locked_until(
            commune=commune,
            kind=Attempt.Kind.LOGIN,
            identifier=identifier,
            ip=ip,
            now=now,
            max_failures=ACCOUNT_MAX_FAILURES,
        )

    until = lock()
    if until is not None:
        _record_attempt(
            commune=commune, kind=Attempt.Kind.LOGIN, identifier=identifier, ip=ip, blocked=True
        )
        security_log.warning(
            "agent login blocked commune=%s identifier=%s ip=%s", commune.slug, identifier, ip
        )
        return AgentLoginResult(locked_until=until)
    user = auth.authenticate(request, username=(username or "").strip(), password=password)
    if user is not None and agent_of(user, commune) is None:
        user = None
    _record_attempt(
        commune=commune,
        kind=Attempt.Kind.LOGIN,
        identifier=identifier,
        ip=ip,
        succeeded=user is not None,
        now=now,
    )
    if user is None:
        security_log.info(
            "agent login failed commune=%s identifier=%s ip=%s", commune.slug, identifier, ip
        )
        return AgentLoginResult(locked_until=lock())
    return AgentLoginResult(user=user)


def log_in_agent(request, user: User) -> None:
    """Open the agent's session: a new session key (no fixation), the backend that checked it."""
    auth.login(request, user)
