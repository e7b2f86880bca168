"""Writes on accounts: citizen sign-up and e-mail confirmation, login with lockout, password and
e-mail changes, the audit log, and the throttling every guessable form shares."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib import auth
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count, Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parvis.accounts.models import AgentRole, Attempt, AuditEntry, PlatformAuditEntry, User
from parvis.accounts.network import client_ip  # the apps' views ask services.client_ip
from parvis.communes.models import Commune
from parvis.communes.prepared import Prepared
from parvis.mail import absolute_url, queue_email

security_log = logging.getLogger("parvis.security")

# Lockout and rate limits (issue: 5 failures on an account within 15 minutes → wait 15 minutes).
# The login doors follow the finer rules of login_throttle (below): those counts lock a pair of
# identifier and address, never an identifier for everyone.
ACCOUNT_MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
IP_MAX_FAILURES = 30  # per address, commune and kind, within the same window
PAIR_MAX_FAILURES = 5  # per identifier and address (login doors), within the same window
SLOWDOWN_AFTER = 5  # failures of an identifier from elsewhere than its usual address…
SLOWDOWN_CAP = timedelta(minutes=5)  # …then 2 s, 4 s, 8 s… between attempts, at most this
ALERT_AFTER = 5  # such failures on an agent's account: an e-mail, and a notice at the next login
KEY_MAX_FAILURES = 5  # wrong service keys per account within the window
SIGNUP_MAX_PER_IP = 10  # accounts created per address within an hour
SIGNUP_WINDOW = timedelta(hours=1)
EMAIL_CONFIRMATION_MAX_AGE = timedelta(days=3)


def normalise_identifier(value: str) -> str:
    return (value or "").strip().lower()


# --- Audit ---------------------------------------------------------------------------------------


def audit(
    *,
    actor: User | None,
    action: str,
    commune: Commune | None,
    target=None,
    famille_id: int | None = None,
    changes: dict | None = None,
) -> AuditEntry | PlatformAuditEntry:
    """One row of the audit log. `changes` maps a field to [old, new]. Without a commune (the
    operator's own account), a row of the platform's journal."""
    entry = _audit_entry(
        actor=actor,
        action=action,
        commune=commune,
        target=target,
        famille_id=famille_id,
        changes=changes,
    )
    entry.save(force_insert=True)
    return entry


def audit_many(*, actor: User | None, rows: Iterable[dict]) -> list:
    """Rows of the audit log by one actor, in one statement whatever their number (a bulk
    decision writes one row per booking). Each row: the keyword arguments of `audit`."""
    entries = [_audit_entry(actor=actor, **row) for row in rows]
    platform = [entry for entry in entries if isinstance(entry, PlatformAuditEntry)]
    if platform:
        PlatformAuditEntry.objects.bulk_create(platform)
    return (
        AuditEntry.objects.bulk_create(
            [entry for entry in entries if isinstance(entry, AuditEntry)]
        )
        + platform
    )


def _audit_entry(
    *,
    actor: User | None,
    action: str,
    commune: Commune | None,
    target=None,
    famille_id: int | None = None,
    changes: dict | None = None,
) -> AuditEntry | PlatformAuditEntry:
    fields = {} if commune is None else {"commune": commune, "famille_id": famille_id}
    return (AuditEntry if commune is not None else PlatformAuditEntry)(
        **fields,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.get_full_name() or actor.get_username()) if actor is not None else "",
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        changes={k: [_jsonable(a), _jsonable(b)] for k, (a, b) in (changes or {}).items()},
    )


def give_administrator_role(*, user: User, commune: Commune) -> AgentRole:
    """A commune's administrator (communes.services.create_commune_administrator) is
    « administrateur » at its guichet."""
    return AgentRole.objects.create(user=user, commune=commune, role=AgentRole.Role.ADMINISTRATEUR)


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        # Kept a JSON list, so that the journal reads it (it used to be stored as its repr).
        items = [_jsonable(item) for item in value]
        return items if isinstance(value, list | tuple) else sorted(items, key=str)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)


def diff(instance, fields: dict) -> dict:
    """{field: [old, new]} for the fields whose value changes."""
    return {
        name: [getattr(instance, name), value]
        for name, value in fields.items()
        if getattr(instance, name) != value
    }


# --- Throttling ----------------------------------------------------------------------------------


_ATTEMPT_COLUMNS = ("commune", "kind", "identifier", "ip", "succeeded", "blocked", "at")


def _record_attempt(
    *, commune, kind, identifier="", ip=None, succeeded=False, blocked=False, now=None
) -> None:
    """One row of the attempts' log, in one INSERT written once (issue 23: the model's save
    costs more CPU than the statement). Each value as its field gives it to the database."""
    connection = connections[router.db_for_write(Attempt)]
    values = {
        "commune": commune.pk if commune is not None else None,
        "kind": kind,
        "identifier": identifier,
        "ip": ip,
        "succeeded": succeeded,
        "blocked": blocked,
        "at": now or timezone.now(),
    }
    fields = [Attempt._meta.get_field(name) for name in _ATTEMPT_COLUMNS]
    params = [
        field.get_db_prep_value(values[field.name], connection, prepared=False) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(_attempt_insert_sql(connection), params)


def _attempt_insert_sql(connection) -> str:
    q = connection.ops.quote_name
    fields = [Attempt._meta.get_field(name) for name in _ATTEMPT_COLUMNS]
    columns = ", ".join(q(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {q(Attempt._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


def _recent_failures(*, kind, since, commune=None, identifier=None, ip=None):
    qs = Attempt.objects.filter(kind=kind, succeeded=False, blocked=False, at__gte=since)
    if commune is not None:
        qs = qs.filter(commune=commune)
    if identifier is not None:
        qs = qs.filter(identifier=identifier)
    if ip is not None:
        qs = qs.filter(ip=ip)
    return qs


def locked_until(
    *,
    commune: Commune,
    kind: str,
    identifier: str,
    ip: str | None,
    now: datetime,
    max_failures: int,
) -> datetime | None:
    """When the lock on this identifier (or address) ends, None when not locked.

    An identifier is locked for LOCK_DURATION after its max_failures-th failure within
    FAILURE_WINDOW (failures before its last success don't count); an address likewise after
    IP_MAX_FAILURES failures of this kind in this commune, whatever the identifiers."""
    last_success = (
        Attempt.objects.filter(commune=commune, kind=kind, identifier=identifier, succeeded=True)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    since = now - FAILURE_WINDOW - LOCK_DURATION
    if last_success is not None and last_success > since:
        since = last_success
    candidates = []
    failures = list(
        _recent_failures(kind=kind, since=since, commune=commune, identifier=identifier)
        .order_by("-at")
        .values_list("at", flat=True)[:max_failures]
    )
    if len(failures) == max_failures and failures[0] - failures[-1] <= FAILURE_WINDOW:
        candidates.append(failures[0] + LOCK_DURATION)
    if ip:
        ip_failures = list(
            _recent_failures(
                kind=kind, since=now - FAILURE_WINDOW - LOCK_DURATION, commune=commune, ip=ip
            )
            .order_by("-at")
            .values_list("at", flat=True)[:IP_MAX_FAILURES]
        )
        if (
            len(ip_failures) == IP_MAX_FAILURES
            and ip_failures[0] - ip_failures[-1] <= FAILURE_WINDOW
        ):
            candidates.append(ip_failures[0] + LOCK_DURATION)
    until = max(candidates, default=None)
    return until if until is not None and until > now else None


def retry_time(until: datetime) -> str:
    """The local time (HH:MM) after which a locked form may be tried again, rounded up to the
    minute so that « Réessayez après 14:47 » is true."""
    local = timezone.localtime(until)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return local.strftime("%H:%M")


def seconds_to_wait(until: datetime, *, now: datetime | None = None) -> int:
    """Whole seconds until `until`, rounded up (« Réessayez dans 3 secondes » is then true)."""
    remaining = (until - (now or timezone.now())).total_seconds()
    return max(1, math.ceil(remaining))


# --- Login throttling ----------------------------------------------------------------------------
# Issue « login throttling that cannot be turned against users ». At each login door (the
# families' and the guichet's, each its own Attempt kind, in each commune):
# - an identifier and an address together: PAIR_MAX_FAILURES failures within FAILURE_WINDOW lock
#   that pair for LOCK_DURATION after the last one (a success from that address resets it); the
#   same identifier from another address is not locked;
# - an identifier from everywhere: from its SLOWDOWN_AFTER-th failure since its last success,
#   each further attempt waits 2, 4, 8… seconds after the last failure, at most SLOWDOWN_CAP;
# - an address: IP_MAX_FAILURES failures within FAILURE_WINDOW lock it for LOCK_DURATION, for
#   this door of this commune only.
# The address of an identifier's last success is its usual address: failures from elsewhere
# neither slow it down there nor count against it (only its own pair limit applies), so nobody
# can keep the rightful user out of their office or home by failing from elsewhere. An unknown
# identifier goes through the same rules (it simply never has a usual address).
# Everything is counted from Attempt rows (several app servers), in four bounded queries.

_SLOWDOWN_ROWS = SLOWDOWN_AFTER + 12  # beyond this many failures the wait is SLOWDOWN_CAP anyway


def slowdown(failures: int) -> timedelta:
    """The wait after an identifier's `failures`-th failure: none before SLOWDOWN_AFTER, then
    2 s, doubling, at most SLOWDOWN_CAP."""
    if failures < SLOWDOWN_AFTER:
        return timedelta(0)
    exponent = min(failures - SLOWDOWN_AFTER + 1, 20)
    return min(timedelta(seconds=2**exponent), SLOWDOWN_CAP)


@dataclass(frozen=True)
class LoginThrottle:
    """What the log says of one login attempt's identifier and address, newest first."""

    now: datetime
    ip: str | None
    last_success: tuple[datetime, str | None] | None  # (when, from which address)
    pair_failures: tuple[datetime, ...]  # this identifier from this address
    failures_elsewhere: tuple[datetime, ...]  # this identifier, not from its usual address
    ip_failures: tuple[datetime, ...]  # this address, any identifier

    @property
    def from_usual_address(self) -> bool:
        return self.last_success is not None and self.last_success[1] == self.ip

    def until(self) -> datetime | None:
        """When the next attempt may be made, None when it may be made now."""
        candidates = []
        pair = self.pair_failures
        if len(pair) >= PAIR_MAX_FAILURES and pair[0] - pair[-1] <= FAILURE_WINDOW:
            candidates.append(pair[0] + LOCK_DURATION)
        if not self.from_usual_address:
            elsewhere = self.failures_elsewhere
            if len(elsewhere) >= SLOWDOWN_AFTER:
                candidates.append(elsewhere[0] + slowdown(len(elsewhere)))
            by_ip = self.ip_failures
            if self.ip and len(by_ip) >= IP_MAX_FAILURES and by_ip[0] - by_ip[-1] <= FAILURE_WINDOW:
                candidates.append(by_ip[0] + LOCK_DURATION)
        until = max(candidates, default=None)
        return until if until is not None and until > self.now else None

    def after_failure(self) -> LoginThrottle:
        """The same counts once this attempt is recorded as a failure (no query)."""
        now = self.now
        elsewhere = self.failures_elsewhere
        if not self.from_usual_address:
            elsewhere = (now, *elsewhere[: _SLOWDOWN_ROWS - 1])
        return replace(
            self,
            pair_failures=(now, *self.pair_failures[: PAIR_MAX_FAILURES - 1]),
            failures_elsewhere=elsewhere,
            ip_failures=(now, *self.ip_failures[: IP_MAX_FAILURES - 1]) if self.ip else (),
        )


def _failures_elsewhere(*, commune, kind, identifier, last_success):
    """The identifier's failures since its last success, from elsewhere than that success's
    address (from everywhere when it never succeeded)."""
    qs = Attempt.objects.filter(
        commune=commune, kind=kind, identifier=identifier, succeeded=False, blocked=False
    )
    if last_success is not None:
        at, usual_ip = last_success
        qs = qs.filter(at__gt=at)
        qs = qs.exclude(ip__isnull=True) if usual_ip is None else qs.exclude(ip=usual_ip)
    return qs


def login_throttle(
    *, commune: Commune | None, kind: str, identifier: str, ip: str | None, now: datetime
) -> LoginThrottle:
    """The counts of the login rules for this identifier and address at `now`: the four lists
    (its last success, the pair's latest outcomes, its failures from elsewhere since that
    success, the address's failures) read in one statement written once (_throttle_sql)."""
    if ip and ":" in ip:
        # As GenericIPAddressField stores it, so that the usual address compares equal.
        with contextlib.suppress(ValidationError):
            ip = clean_ipv6_address(ip)
    connection = connections[router.db_for_read(Attempt)]
    ops = connection.ops
    since = ops.adapt_datetimefield_value(now - FAILURE_WINDOW - LOCK_DURATION)
    same = [commune.pk] if commune is not None else []
    of_identifier = [*same, kind, identifier]
    stored_ip = ops.adapt_ipaddressfield_value(ip) if ip else None
    params = [
        *of_identifier,  # the last success
        *of_identifier,  # the pair
        since,
        *([stored_ip] if ip else []),
        *of_identifier,  # elsewhere (joined to the last success)
        *of_identifier,
    ]
    if ip:
        params += [*same, kind, since, stored_ip]  # the address
    sql = _throttle_sql(connection, with_commune=commune is not None, with_ip=bool(ip))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    convert = (
        (lambda value: ops.convert_datetimefield_value(value, None, connection))
        if connection.vendor == "sqlite"
        else (lambda value: value)
    )
    lists: dict[int, list] = {1: [], 2: [], 3: [], 4: []}
    for which, pk, at, row_ip, succeeded in rows:
        lists[which].append((convert(at), pk, row_ip, bool(succeeded)))
    for found in lists.values():
        found.sort(key=lambda row: (row[0], row[1]), reverse=True)  # newest first, as written
    last_success = (lists[1][0][0], lists[1][0][2]) if lists[1] else None
    # The pair's latest outcomes: its failures count back to its latest success.
    pair_failures = []
    for at, _pk, _ip, succeeded in lists[2]:
        if succeeded:
            break
        pair_failures.append(at)
    return LoginThrottle(
        now=now,
        ip=ip,
        last_success=last_success,
        pair_failures=tuple(pair_failures),
        failures_elsewhere=tuple(row[0] for row in lists[3]),
        ip_failures=tuple(row[0] for row in lists[4]),
    )


_THROTTLE_SQL: dict[tuple, str] = {}


def _throttle_sql(connection, *, with_commune: bool, with_ip: bool) -> str:
    """login_throttle's statement: the four lists of LoginThrottle, each the ORM's query of
    before (newest first, as many rows as the rules read), tagged 1-4 (a UNION ALL of four
    SELECTs; the third joins the first, the identifier's last success). The text depends on the
    vendor, the table and whether a commune and an address are given: worked out once."""
    table = Attempt._meta.db_table
    key = (connection.vendor, table, with_commune, with_ip)
    sql = _THROTTLE_SQL.get(key)
    if sql is None:
        sql = _THROTTLE_SQL[key] = _throttle_sql_text(
            connection.ops.quote_name, table, with_commune=with_commune, with_ip=with_ip
        )
    return sql


def _throttle_sql_text(q, table: str, *, with_commune: bool, with_ip: bool) -> str:
    at, pk, ip, ok, blocked, table = (
        q("at"),
        q("id"),
        q("ip"),
        q("succeeded"),
        q("blocked"),
        q(table),
    )

    def of_identifier(a: str) -> str:
        commune = f"{a}{q('commune_id')} = %s" if with_commune else f"{a}{q('commune_id')} IS NULL"
        return f"{commune} AND {a}{q('kind')} = %s AND {a}{q('identifier')} = %s"

    def newest(a: str = "") -> str:
        return f"ORDER BY {a}{at} DESC, {a}{pk} DESC"

    def columns(a: str = "") -> str:
        return f"{a}{pk}, {a}{at}, {a}{ip}, {a}{ok}"

    same_ip = f"{ip} = %s" if with_ip else f"{ip} IS NULL"
    last = f"SELECT {at}, {ip} FROM {table} WHERE {of_identifier('')} AND {ok} {newest()} LIMIT 1"  # noqa: S608
    # Since the last success, from elsewhere than its address (from everywhere without one).
    elsewhere = (
        f"(s.{at} IS NULL OR (a.{at} > s.{at} AND ((s.{ip} IS NULL AND a.{ip} IS NOT NULL)"
        f" OR (s.{ip} IS NOT NULL AND (a.{ip} IS NULL OR a.{ip} <> s.{ip})))))"
    )
    parts = [
        f"SELECT 1 AS w, {columns()} FROM {table} WHERE {of_identifier('')} AND {ok}"  # noqa: S608
        f" {newest()} LIMIT 1",
        f"SELECT 2 AS w, {columns()} FROM {table} WHERE {of_identifier('')} AND NOT {blocked}"  # noqa: S608
        f" AND {at} >= %s AND {same_ip} {newest()} LIMIT {PAIR_MAX_FAILURES}",
        f"SELECT 3 AS w, {columns('a.')} FROM {table} a LEFT JOIN ({last}) s ON 1 = 1"  # noqa: S608
        f" WHERE {of_identifier('a.')} AND NOT a.{ok} AND NOT a.{blocked} AND {elsewhere}"
        f" {newest('a.')} LIMIT {_SLOWDOWN_ROWS}",
    ]
    if with_ip:
        # The address's failures at this door of this commune (the administration's: any).
        scope = f"{q('commune_id')} = %s AND " if with_commune else ""
        parts.append(
            f"SELECT 4 AS w, {columns()} FROM {table} WHERE {scope}{q('kind')} = %s"  # noqa: S608
            f" AND NOT {ok} AND NOT {blocked} AND {at} >= %s AND {ip} = %s {newest()}"
            f" LIMIT {IP_MAX_FAILURES}"
        )
    union = (f"SELECT * FROM ({part}) AS t{n}" for n, part in enumerate(parts))  # noqa: S608
    return " UNION ALL ".join(union)


def _same_ip(ip: str | None) -> dict:
    return {"ip": ip} if ip else {"ip__isnull": True}


# --- Login ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    user: User | None = None
    locked_until: datetime | None = None
    unconfirmed: User | None = None  # right password, e-mail not confirmed yet


def find_citizen(*, commune: Commune, identifier: str) -> User | None:
    """The citizen account of `commune` that `identifier` names: its e-mail, or its code famille
    when the commune offers that mode."""
    identifier = normalise_identifier(identifier)
    if not identifier:
        return None
    if "@" in identifier:
        if not commune.login_with_email:
            return None
        found = _CITIZEN_BY_EMAIL.all(commune.pk, identifier)
    else:
        if not commune.login_with_family_code:
            return None
        found = _CITIZEN_BY_FAMILY_CODE.all(commune.pk, identifier)
    # The first by id, as .first() gave (two codes that differ only by case both match).
    return min(found, key=lambda user: user.pk, default=None)


# find_citizen's two reads, on every login: their SQL written once (issue 23).
def _citizens(commune_id: int):
    return User.objects.filter(commune_id=commune_id, is_active=True, is_staff=False)


_CITIZEN_BY_EMAIL = Prepared(
    lambda commune_id, email: _citizens(commune_id).filter(email__iexact=email)
)
_CITIZEN_BY_FAMILY_CODE = Prepared(
    lambda commune_id, code: _citizens(commune_id).filter(family_code__iexact=code)
)


def attempt_login(*, request, commune: Commune, identifier: str, password: str) -> LoginResult:
    """Check the credentials under the login rules (login_throttle); log every attempt. Does not
    log in. Known and unknown identifiers get the same answers."""
    now = timezone.now()
    ip = client_ip(request)
    key = normalise_identifier(identifier)
    throttle = login_throttle(
        commune=commune, kind=Attempt.Kind.LOGIN, identifier=key, ip=ip, now=now
    )
    until = throttle.until()
    if until is not None:
        _record_attempt(
            commune=commune, kind=Attempt.Kind.LOGIN, identifier=key, ip=ip, blocked=True, now=now
        )
        security_log.warning("login blocked commune=%s identifier=%s ip=%s", commune.slug, key, ip)
        return LoginResult(locked_until=until)
    user = auth.authenticate(request, commune=commune, identifier=identifier, password=password)
    _record_attempt(
        commune=commune,
        kind=Attempt.Kind.LOGIN,
        identifier=key,
        ip=ip,
        succeeded=user is not None,
        now=now,
    )
    if user is None:
        security_log.info("login failed commune=%s identifier=%s ip=%s", commune.slug, key, ip)
        until = throttle.after_failure().until()
        if until is not None:
            security_log.warning(
                "login throttled commune=%s identifier=%s ip=%s until=%s",
                commune.slug,
                key,
                ip,
                until.isoformat(),
            )
        return LoginResult(locked_until=until)
    # Only an account opened by e-mail waits for its confirmation. A code famille was handed
    # over at the desk: its account stays usable while the e-mail given at first login waits
    # for confirmation (it is a pending_email until then, so no reset link goes there).
    if user.email_confirmed_at is None and not user.family_code and not user.must_choose_password:
        return LoginResult(unconfirmed=user)
    return LoginResult(user=user)


def log_in(request, user: User) -> None:
    """Open the session (a new session key: no fixation); record_login remembers the previous
    login for « Dernière connexion le … »."""
    auth.login(request, user, backend="parvis.accounts.backends.CommuneBackend")


def record_login(sender, user, **kwargs) -> None:
    """user_logged_in receiver (AccountsConfig.ready, instead of Django's update_last_login):
    every login's time, and a citizen's previous one for « Dernière connexion le … », in one
    UPDATE."""
    now = timezone.now()
    fields = {"last_login": now}
    if not user.is_staff:
        fields["previous_login"] = user.last_login
    User.objects.filter(pk=user.pk).update(**fields)
    for name, value in fields.items():
        setattr(user, name, value)


# --- The agents' login at the guichet ------------------------------------------------------------


@dataclass(frozen=True)
class AgentLoginResult:
    user: User | None = None
    locked_until: datetime | None = None
    # On success: the failures on the account since its previous login, from elsewhere than
    # that login's address, when there were ALERT_AFTER or more (the guichet says so once).
    failed_attempts: int = 0
    last_failed_at: datetime | None = None


def agent_login_identifier(username: str) -> str:
    return f"agent:{normalise_identifier(username)}"


def _agents_of(commune: Commune):
    """The accounts that may log in at `commune`'s guichet (as parvis.accounts.agents.agent_of
    says)."""
    return User.objects.filter(
        commune=commune,
        is_active=True,
        is_staff=True,
        pk__in=AgentRole.objects.filter(commune=commune).values("user"),
    )


def _attempt_staff_login(
    *,
    request,
    commune: Commune | None,
    kind: str,
    identifier: str,
    username: str,
    password,
    staff,
) -> tuple[User | None, LoginThrottle, datetime | None]:
    """A staff door's attempt under the rules of login_throttle: the account if the password is
    right and the account is one of `staff` (else a failure like any other), the throttle
    (after this attempt) and when the next attempt may be made. Every attempt is recorded."""
    now = timezone.now()
    ip = client_ip(request)
    throttle = login_throttle(commune=commune, kind=kind, identifier=identifier, ip=ip, now=now)
    until = throttle.until()
    where = commune.slug if commune is not None else "admin"
    if until is not None:
        _record_attempt(
            commune=commune, kind=kind, identifier=identifier, ip=ip, blocked=True, now=now
        )
        security_log.warning(
            "staff login blocked door=%s identifier=%s ip=%s", where, identifier, ip
        )
        return None, throttle, until
    user = auth.authenticate(request, username=(username or "").strip(), password=password)
    if user is not None and not staff.filter(pk=user.pk).exists():
        user = None
    _record_attempt(
        commune=commune, kind=kind, identifier=identifier, ip=ip, succeeded=user is not None,
        now=now,
    )  # fmt: skip
    if user is None:
        security_log.info("staff login failed door=%s identifier=%s ip=%s", where, identifier, ip)
        throttle = throttle.after_failure()
        return None, throttle, throttle.until()
    return user, throttle, None


def attempt_agent_login(
    *, request, commune: Commune, username: str, password: str
) -> AgentLoginResult:
    """Check an agent's credentials under the login rules of login_throttle, at the guichet's
    own door. A right password of an account that is not an agent of `commune` is a failure like
    any other. Every attempt is recorded; nobody is logged in here. An agent whose account fails
    ALERT_AFTER times from elsewhere than their usual address is e-mailed once per wave."""
    identifier = agent_login_identifier(username)
    kind = Attempt.Kind.AGENT_LOGIN
    user, throttle, until = _attempt_staff_login(
        request=request, commune=commune, kind=kind, identifier=identifier, username=username,
        password=password, staff=_agents_of(commune),
    )  # fmt: skip
    if user is None:
        if len(throttle.failures_elsewhere) >= ALERT_AFTER and not throttle.from_usual_address:
            _alert_agent(commune=commune, username=username, throttle=throttle)
        return AgentLoginResult(locked_until=until)
    # The notice says « d'une autre adresse que celle de cette connexion »: the agent's own
    # mistakes from where they log in now are not told back to them as an attack.
    failed = (
        _failures_elsewhere(
            commune=commune, kind=kind, identifier=identifier, last_success=throttle.last_success
        )
        .exclude(**_same_ip(throttle.ip))
        .aggregate(count=Count("id"), last=Max("at"))
    )
    if failed["count"] >= ALERT_AFTER:
        return AgentLoginResult(
            user=user, failed_attempts=failed["count"], last_failed_at=failed["last"]
        )
    return AgentLoginResult(user=user)


def attempt_admin_login(*, request, username: str, password: str) -> AgentLoginResult:
    """The administration's door (/admin/): the operator and the communes' administrators, under
    the same rules as the guichet's, counted apart from every commune's doors. Nobody is logged
    in here (Django's admin does it with the account returned). A commune's administrator is
    one of its agents: attacked at this door, they are e-mailed as at the guichet's."""
    user, throttle, until = _attempt_staff_login(
        request=request,
        commune=None,
        kind=Attempt.Kind.ADMIN_LOGIN,
        identifier=normalise_identifier(username),
        username=username,
        password=password,
        staff=User.objects.filter(is_active=True, is_staff=True),
    )
    attacked = len(throttle.failures_elsewhere) >= ALERT_AFTER and not throttle.from_usual_address
    if user is None and attacked:
        commune = (
            Commune.objects.filter(
                users__username__iexact=(username or "").strip(), users__is_staff=True
            )
            .order_by("pk")
            .first()
        )
        if commune is not None:
            _alert_agent(commune=commune, username=username, throttle=throttle)
    return AgentLoginResult(user=user, locked_until=until)


def staff_retry_message(until: datetime) -> str:
    """The staff doors' words when an attempt is held back: the same whatever holds it (this
    address, this name, both), so they never tell whether the name is an account's."""
    seconds = seconds_to_wait(until)
    if seconds < 60:
        return ngettext(
            "Trop de tentatives de connexion. Par sécurité, réessayez dans %(seconds)d seconde.",
            "Trop de tentatives de connexion. Par sécurité, réessayez dans %(seconds)d secondes.",
            seconds,
        ) % {"seconds": seconds}
    return _("Trop de tentatives de connexion. Par sécurité, réessayez après %(time)s.") % {
        "time": retry_time(until)
    }


LOGIN_ALERT_ACTION = "account.login_alert"


def _alert_agent(*, commune: Commune, username: str, throttle: LoginThrottle) -> None:
    """E-mail the agent `username` names, if any, that logins fail on their account: once per
    wave (an audit row marks it; the next successful login starts a new wave). Two queries
    once the wave's alert is sent; the account row is locked before sending, so two app
    servers never both send it."""
    agents = _agents_of(commune).filter(username__iexact=(username or "").strip())
    agent = agents.order_by("pk").first()
    if agent is None or _alerted(agent, throttle):
        return
    with transaction.atomic():
        agent = agents.select_for_update().filter(pk=agent.pk).first()
        if agent is None or _alerted(agent, throttle):
            return
        failures = len(throttle.failures_elsewhere)
        audit(
            actor=None,
            action=LOGIN_ALERT_ACTION,
            commune=commune,
            target=agent,
            changes={"failed_attempts": [None, failures]},
        )
        security_log.warning(
            "agent alerted of failed logins commune=%s user=%s failures=%s",
            commune.slug,
            agent.pk,
            failures,
        )
        if agent.email:
            last = throttle.failures_elsewhere[0]
            transaction.on_commit(
                lambda: send_login_alert(user=agent, failures=failures, last_failed_at=last)
            )


def _alerted(agent: User, throttle: LoginThrottle) -> bool:
    """Whether the agent was already told of this wave (since their last successful login, at
    this door or any other: an administrator who never uses /admin/ still hears of a new wave
    there once they logged in at the guichet)."""
    alerts = AuditEntry.objects.filter(
        action=LOGIN_ALERT_ACTION, target_type="user", target_id=str(agent.pk)
    )
    logins = [agent.last_login, throttle.last_success[0] if throttle.last_success else None]
    if since := max((at for at in logins if at is not None), default=None):
        alerts = alerts.filter(at__gt=since)
    return alerts.exists()


def send_login_alert(*, user: User, failures: int, last_failed_at: datetime) -> None:
    commune = user.commune
    context = {
        "user": user,
        "commune": commune,
        "failures": failures,
        "last_failed_at": last_failed_at,
        "login_url": absolute_url(
            reverse("backoffice:connexion", kwargs={"commune": commune.slug})
        ),
    }
    queue_email(
        subject=_("%(commune)s — des connexions ont échoué sur votre compte du guichet")
        % {"commune": commune.name},
        body=render_to_string("accounts/emails/login_alert.txt", context),
        commune_id=user.commune_id,
        to=[user.email],
    )


def log_in_agent(request, user: User) -> None:
    """Open the agent's session: a new session key (no fixation), the backend that checked it."""
    auth.login(request, user)


# --- Sign-up and e-mail confirmation -------------------------------------------------------------


def signup_rate_limited(*, commune: Commune, ip: str | None, now: datetime | None = None) -> bool:
    if not ip:
        return False
    now = now or timezone.now()
    # Per commune, like the login doors: one address's sign-ups in a town never refuse another's.
    created = Attempt.objects.filter(
        commune=commune,
        kind=Attempt.Kind.SIGNUP,
        ip=ip,
        succeeded=True,
        at__gte=now - SIGNUP_WINDOW,
    ).count()
    return created >= SIGNUP_MAX_PER_IP


@transaction.atomic
def create_citizen_account(
    *,
    commune: Commune,
    email: str,
    password: str,
    civility: str,
    first_name: str,
    last_name: str,
    phone: str = "",
    address: str = "",
    postal_code: str = "",
    city: str = "",
    ip: str | None = None,
) -> User | None:
    """A citizen account, usable once its e-mail is confirmed (the e-mail leaves on commit).

    When the address already has an account, nothing is created and its owner gets an e-mail
    saying so: the page answers the same, so sign-up tells nobody which addresses have accounts.
    """
    existing = User.objects.filter(
        commune=commune, email__iexact=normalise_identifier(email)
    ).first()
    if existing is not None:
        _answer_existing_account(existing=existing, ip=ip)
        return None
    user = User(
        commune=commune,
        username=f"{commune.slug}/{uuid.uuid4().hex}",
        email=normalise_identifier(email),
        civility=civility,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        phone=phone.strip(),
        address=address.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
    )
    user.set_password(password)
    try:
        with transaction.atomic():  # a savepoint: the outer transaction survives the refusal
            user.save()
    except IntegrityError:
        # The same address signed up a moment ago, in another request: same answer as above.
        existing = User.objects.filter(commune=commune, email__iexact=user.email).first()
        if existing is not None:
            _answer_existing_account(existing=existing, ip=ip)
        return None
    _record_attempt(
        commune=commune, kind=Attempt.Kind.SIGNUP, identifier=user.email, ip=ip, succeeded=True
    )
    audit(actor=user, action="account.create", commune=commune, target=user)
    transaction.on_commit(lambda: send_email_confirmation(user=user))
    return user


ACCOUNT_EXISTS_MAX_EMAILS = 3  # per address and SIGNUP_WINDOW: sign-up can't flood an inbox


def _answer_existing_account(*, existing: User, ip: str | None) -> None:
    recent = Attempt.objects.filter(
        commune=existing.commune,
        kind=Attempt.Kind.SIGNUP,
        identifier=existing.email,
        succeeded=False,
        at__gte=timezone.now() - SIGNUP_WINDOW,
    ).count()
    _record_attempt(
        commune=existing.commune, kind=Attempt.Kind.SIGNUP, identifier=existing.email, ip=ip
    )
    if recent < ACCOUNT_EXISTS_MAX_EMAILS:
        transaction.on_commit(lambda: send_account_exists(user=existing))


def _confirmation_state(user: User) -> str:
    # The token dies once used: it signs the state it changes (confirmed or pending address).
    state = f"{user.pk}|{user.email}|{user.pending_email}|{user.email_confirmed_at}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def email_confirmation_token(user: User) -> str:
    return signing.dumps(
        {"u": user.pk, "s": _confirmation_state(user)}, salt="parvis.email-confirmation"
    )


def send_email_confirmation(*, user: User) -> None:
    token = email_confirmation_token(user)
    url = absolute_url(
        reverse(
            "accounts:confirmer_courriel", kwargs={"commune": user.commune.slug, "token": token}
        )
    )
    to = user.pending_email or user.email
    context = {
        "user": user,
        "commune": user.commune,
        "url": url,
        "days": EMAIL_CONFIRMATION_MAX_AGE.days,
    }
    queue_email(
        subject=_("%(commune)s — confirmez votre adresse électronique")
        % {"commune": user.commune.name},
        body=render_to_string("accounts/emails/confirmation.txt", context),
        commune_id=user.commune_id,
        to=[to],
    )


def send_account_exists(*, user: User) -> None:
    context = {
        "user": user,
        "commune": user.commune,
        "login_url": absolute_url(
            reverse("accounts:connexion", kwargs={"commune": user.commune.slug})
        ),
        "reset_url": absolute_url(
            reverse("accounts:mot_de_passe_oublie", kwargs={"commune": user.commune.slug})
        ),
    }
    queue_email(
        subject=_("%(commune)s — vous avez déjà un espace") % {"commune": user.commune.name},
        body=render_to_string("accounts/emails/account_exists.txt", context),
        commune_id=user.commune_id,
        to=[user.email],
    )


class InvalidToken(Exception):
    pass


@transaction.atomic
def confirm_email(*, commune: Commune, token: str) -> User:
    """Confirm the address a token was sent to (a new account, or a changed e-mail)."""
    try:
        data = signing.loads(
            token, salt="parvis.email-confirmation", max_age=EMAIL_CONFIRMATION_MAX_AGE
        )
    except signing.BadSignature as error:  # includes SignatureExpired
        raise InvalidToken from error
    user = User.objects.select_for_update().filter(pk=data.get("u"), commune=commune).first()
    if user is None or data.get("s") != _confirmation_state(user):
        raise InvalidToken
    changes = {}
    if user.pending_email:
        changes["email"] = [user.email, user.pending_email]
        user.email, user.pending_email = user.pending_email, ""
    user.email_confirmed_at = timezone.now()
    user.save(update_fields=["email", "pending_email", "email_confirmed_at"])
    audit(actor=user, action="account.confirm_email", commune=commune, target=user, changes=changes)
    return user


# --- Password ------------------------------------------------------------------------------------


def password_reset_url(user: User) -> str:
    return reverse(
        "accounts:nouveau_mot_de_passe",
        kwargs={
            "commune": user.commune.slug,
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


# Forgotten password: at most this many requests per address (IP) and this many e-mails per
# identifier within the window; beyond, the page answers the same and nothing is sent.
PASSWORD_RESET_WINDOW = timedelta(hours=1)
PASSWORD_RESET_MAX_PER_IP = 10
PASSWORD_RESET_MAX_PER_IDENTIFIER = 3


def _reset_recipient(*, commune: Commune, identifier: str) -> User | None:
    """The account a forgotten-password request names, if a reset link may go to its e-mail (a
    confirmed address: an address waiting for confirmation is a pending_email)."""
    user = find_citizen(commune=commune, identifier=identifier)
    key = normalise_identifier(identifier)
    if user is None and "@" in key and commune.login_with_family_code:
        # A family that forgot its code famille gives the e-mail of its space: the e-mail
        # reminds it of its code (seed 003: « Vos code famille et mot de passe vous seront
        # communiqués par mail »).
        user = User.objects.filter(
            commune=commune, is_active=True, is_staff=False, email__iexact=key
        ).first()
    return user if user is not None and user.email else None


@transaction.atomic
def request_password_reset(*, commune: Commune, identifier: str, ip: str | None) -> None:
    """Send a reset link if the identifier names an account with an e-mail; say nothing either
    way (the page answers the same), nor when the request is over a rate limit. Every request
    is an Attempt row (succeeded: an e-mail leaves; blocked: over the limit)."""
    now = timezone.now()
    key = normalise_identifier(identifier)
    since = now - PASSWORD_RESET_WINDOW
    recent = Attempt.objects.filter(kind=Attempt.Kind.PASSWORD_RESET, blocked=False, at__gte=since)
    user = None
    blocked = bool(ip) and recent.filter(ip=ip).count() >= PASSWORD_RESET_MAX_PER_IP
    if not blocked:
        user = _reset_recipient(commune=commune, identifier=identifier)
        blocked = (
            user is not None
            and recent.filter(commune=commune, identifier=key, succeeded=True).count()
            >= PASSWORD_RESET_MAX_PER_IDENTIFIER
        )
    _record_attempt(
        commune=commune,
        kind=Attempt.Kind.PASSWORD_RESET,
        identifier=key,
        ip=ip,
        succeeded=user is not None and not blocked,
        blocked=blocked,
        now=now,
    )
    if blocked:
        security_log.warning(
            "password reset rate-limited commune=%s identifier=%s ip=%s", commune.slug, key, ip
        )
        return
    security_log.info(
        "password reset requested commune=%s identifier=%s ip=%s", commune.slug, key, ip
    )
    if user is not None:
        transaction.on_commit(lambda: send_password_reset(user=user))


def send_password_reset(*, user: User) -> None:
    commune = user.commune
    context = {"user": user, "commune": commune, "url": absolute_url(password_reset_url(user))}
    queue_email(
        subject=_("%(commune)s — choisissez un nouveau mot de passe") % {"commune": commune.name},
        body=render_to_string("accounts/emails/password_reset.txt", context),
        commune_id=user.commune_id,
        to=[user.email],
    )


@transaction.atomic
def set_password(*, user: User, password: str, actor: User | None = None) -> User:
    """A new password. Other sessions end: Django checks each session against a hash of the
    password. The caller keeps the current session with update_session_auth_hash if it wants."""
    user.set_password(password)
    fields = ["password"]
    if user.must_choose_password:
        user.must_choose_password = False
        fields.append("must_choose_password")
    user.save(update_fields=fields)
    audit(actor=actor or user, action="account.set_password", commune=user.commune, target=user)
    return user


@transaction.atomic
def request_email_change(*, user: User, new_email: str) -> User:
    user.pending_email = normalise_identifier(new_email)
    user.save(update_fields=["pending_email"])
    audit(
        actor=user,
        action="account.request_email_change",
        commune=user.commune,
        target=user,
        changes={"pending_email": ["", user.pending_email]},
    )
    transaction.on_commit(lambda: send_email_confirmation(user=user))
    if user.email and user.email != user.pending_email:
        # The current address hears of it: a stolen session can't move the account silently.
        transaction.on_commit(lambda: send_email_change_notice(user=user))
    return user


def send_email_change_notice(*, user: User) -> None:
    context = {
        "user": user,
        "commune": user.commune,
        "new_email": user.pending_email,
        "reset_url": absolute_url(
            reverse("accounts:mot_de_passe_oublie", kwargs={"commune": user.commune.slug})
        ),
    }
    queue_email(
        subject=_("%(commune)s — changement d'adresse électronique demandé")
        % {"commune": user.commune.name},
        body=render_to_string("accounts/emails/email_change_notice.txt", context),
        commune_id=user.commune_id,
        to=[user.email],
    )


def email_taken(*, commune: Commune, email: str, exclude: User | None = None) -> bool:
    qs = User.objects.filter(commune=commune, email__iexact=normalise_identifier(email))
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.exists()


# --- Citizen's own space: coordinates and account deletion (« Gérer mes informations ») -------

# What a citizen may change directly on their account. The e-mail is not among them: it changes
# through request_email_change, confirmed from the new address. When the « démarches » feature
# lands, a change of coordinates becomes a request (« signalement d'un changement de
# coordonnées ») that an agent validates; this function then applies the accepted request.
COORDINATE_FIELDS = (
    "civility",
    "last_name",
    "first_name",
    "address",
    "postal_code",
    "city",
    "phone",
)


@transaction.atomic
def update_coordinates(*, user: User, actor: User | None = None, **fields) -> User:
    """Change the account holder's own coordinates; one audit row with old → new values (none
    when nothing changes)."""
    unknown = set(fields) - set(COORDINATE_FIELDS)
    if unknown:
        raise ValueError(f"not a coordinate: {', '.join(sorted(unknown))}")
    # A FranceConnect identity certifies some fields: they stay as FranceConnect gave them.
    cleaned = {
        name: (value or "").strip()
        for name, value in fields.items()
        if name not in user.certified_fields
    }
    changes = diff(user, cleaned)
    if not changes:
        return user
    for name in changes:
        setattr(user, name, cleaned[name])
    user.save(update_fields=list(changes))
    audit(
        actor=actor or user,
        action="account.update_coordinates",
        commune=user.commune,
        target=user,
        changes=changes,
    )
    return user


@transaction.atomic
def delete_citizen_account(*, user: User) -> None:
    """Delete a citizen's account at their request. Its links to families go with it (the
    families' files stay with the services); the audit log keeps who it was (actor_label) and
    says, on each family's history, that this responsable's access ended."""
    commune = user.commune
    # The reverse relation of families.FamilyAccess: accounts does not import families.
    for famille_id, label in user.family_accesses.values_list("famille_id", "famille__name"):
        audit(
            actor=user,
            action="family_access.remove",
            commune=commune,
            target=user,
            famille_id=famille_id,
            changes={"famille": [label, None]},
        )
    audit(actor=user, action="account.delete", commune=commune, target=user)
    security_log.info(
        "account deleted commune=%s user=%s", commune.slug if commune else "-", user.pk
    )
    user.delete()


# --- First login with a code famille -------------------------------------------------------------


@transaction.atomic
def complete_first_login(*, user: User, password: str, email: str) -> User:
    """At the first login with a code famille (temporary password of the printed letter), the
    family chooses its own password and gives an e-mail. The address waits for confirmation as
    pending_email (a link goes there on commit) and becomes the account's e-mail once
    confirmed, so no reset link goes to an unchecked address; meanwhile the family logs in with
    its code famille. Other sessions end (the password changes); the caller keeps its own with
    update_session_auth_hash."""
    new_email = normalise_identifier(email)
    changes = {"must_choose_password": [user.must_choose_password, False]}
    user.set_password(password)
    user.must_choose_password = False
    fields = ["password", "must_choose_password"]
    confirm = False
    if new_email != normalise_identifier(user.email):
        changes["pending_email"] = [user.pending_email, new_email]
        user.pending_email = new_email
        fields.append("pending_email")
        confirm = True
    elif user.email_confirmed_at is None:
        confirm = True  # the address on file was typed by an agent: confirm it too
    user.save(update_fields=fields)
    audit(
        actor=user,
        action="account.first_login",
        commune=user.commune,
        target=user,
        changes=changes,
    )
    if confirm:
        transaction.on_commit(lambda: send_email_confirmation(user=user))
    return user


# --- Sign-up: checking a confirmation link, sending it again -------------------------------------
# (added with « Créer mon espace », parvis/families/views_signup.py)

# « Renvoyer le courriel »: at most this many requests per address (IP) and e-mails per
# identifier within SIGNUP_WINDOW; beyond, nothing is sent (the per-identifier limit answers the
# same; the per-IP one says to wait). Logged as SIGNUP attempts whose identifier starts with
# RESEND_PREFIX, never `succeeded`, so signup_rate_limited (which counts accounts created)
# ignores them.
RESEND_MAX_PER_IP = 10
RESEND_MAX_PER_IDENTIFIER = 3
RESEND_PREFIX = "renvoi:"


def check_email_confirmation_token(*, commune: Commune, token: str) -> User:
    """The account a confirmation link would confirm, without confirming it (the page shows a
    button first: mail scanners that open links must not use them up). Raises InvalidToken like
    confirm_email; its __cause__ is a signing.SignatureExpired when the link is too old."""
    try:
        data = signing.loads(
            token, salt="parvis.email-confirmation", max_age=EMAIL_CONFIRMATION_MAX_AGE
        )
    except signing.BadSignature as error:  # includes SignatureExpired
        raise InvalidToken from error
    user = User.objects.filter(pk=data.get("u"), commune=commune).first()
    if user is None or data.get("s") != _confirmation_state(user):
        raise InvalidToken
    return user


@transaction.atomic
def resend_email_confirmation(*, commune: Commune, email: str, ip: str | None) -> bool:
    """« Renvoyer le courriel »: the confirmation link again, to an account of `commune` whose
    address (or pending new address) is `email` and waits for confirmation; an account already
    confirmed gets the « vous avez déjà un espace » e-mail instead (where citizens log in by
    e-mail). Nothing is said about which happened: the page answers the same.

    Every request is an Attempt row (blocked: over the per-IP limit). Returns False only when
    the requesting address (IP) is over its limit."""
    now = timezone.now()
    address = normalise_identifier(email)
    identifier = f"{RESEND_PREFIX}{address}"[:254]
    recent = Attempt.objects.filter(
        kind=Attempt.Kind.SIGNUP,
        identifier__startswith=RESEND_PREFIX,
        blocked=False,
        at__gte=now - SIGNUP_WINDOW,
    )
    if ip and recent.filter(ip=ip).count() >= RESEND_MAX_PER_IP:
        _record_attempt(
            commune=commune,
            kind=Attempt.Kind.SIGNUP,
            identifier=identifier,
            ip=ip,
            blocked=True,
            now=now,
        )
        security_log.warning("confirmation resend rate-limited commune=%s ip=%s", commune.slug, ip)
        return False
    send = None
    citizens = User.objects.filter(commune=commune, is_active=True, is_staff=False)
    user = (
        (citizens.filter(email__iexact=address) | citizens.filter(pending_email__iexact=address))
        .order_by("pk")
        .first()
        if address
        else None
    )
    if user is not None:
        if normalise_identifier(user.pending_email) == address or (
            user.email_confirmed_at is None and not user.must_choose_password
        ):
            send = send_email_confirmation
        elif commune.login_with_email:
            send = send_account_exists
    if recent.filter(commune=commune, identifier=identifier).count() >= RESEND_MAX_PER_IDENTIFIER:
        send = None
    # Never `succeeded`: signup_rate_limited counts the successful SIGNUP rows (accounts made).
    _record_attempt(
        commune=commune, kind=Attempt.Kind.SIGNUP, identifier=identifier, ip=ip, now=now
    )
    if send is not None:
        transaction.on_commit(lambda: send(user=user))
    return True


# --- The current password, asked again in the personal space ------------------------------------
# (password change, e-mail change and account deletion in « Modification de votre espace »)


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    locked_until: datetime | None = None  # when the forms open again, if locked


def check_current_password(*, user: User, password: str, ip: str | None) -> PasswordCheck:
    """Check the password of a logged-in citizen who confirms a sensitive change, under the
    lockout rules of the login: ACCOUNT_MAX_FAILURES wrong passwords within FAILURE_WINDOW lock
    these checks for LOCK_DURATION (the password is then not even checked); a right one resets
    the count. Every check is an Attempt row, recorded outside any transaction.

    A stolen session must not be able to guess its way to the password (and then to the
    e-mail). The rows are of their own kind, identified by the account id: the lock never
    locks the login page (a thief holding a session could otherwise lock the owner out of
    every other device), and nobody typing « user:… » on the login page locks these forms."""
    now = timezone.now()
    commune = user.commune
    identifier = f"user:{user.pk}"

    def lock():
        return locked_until(
            commune=commune,
            kind=Attempt.Kind.CURRENT_PASSWORD,
            identifier=identifier,
            ip=ip,
            now=now,
            max_failures=ACCOUNT_MAX_FAILURES,
        )

    def record(**outcome):
        _record_attempt(
            commune=commune,
            kind=Attempt.Kind.CURRENT_PASSWORD,
            identifier=identifier,
            ip=ip,
            now=now,
            **outcome,
        )

    until = lock()
    if until is not None:
        record(blocked=True)
        security_log.warning(
            "current password blocked commune=%s user=%s ip=%s", commune.slug, user.pk, ip
        )
        return PasswordCheck(ok=False, locked_until=until)
    ok = bool(password) and user.check_password(password)
    record(succeeded=ok)
    if ok:
        return PasswordCheck(ok=True)
    security_log.info("current password wrong commune=%s user=%s ip=%s", commune.slug, user.pk, ip)
    until = lock()
    if until is not None:
        security_log.warning(
            "current password locked commune=%s user=%s ip=%s", commune.slug, user.pk, ip
        )
    return PasswordCheck(ok=False, locked_until=until)
