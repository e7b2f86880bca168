"""The deadline reminders (run daily by the scheduler): the day before the booking deadline of
next week, the accounts of the families whose registered children have nothing booked that week
get one e-mail per activity, unless they opted out (« Agenda et rappels »).

« Next week » is the Monday after the current week; its deadline is the booking deadline of its
first open day, the earliest over the activity's units (a week without an open day — holidays,
closures — has no deadline and no reminder). A reminder goes when that deadline falls within the
next 24 hours (`now` < deadline ≤ `now` + 24 h). Each one is recorded in ReminderSent (unique per
account, activity and week), so running the command again sends nothing twice."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.activities.calendar import closed_reason, is_working_day
from parvis.activities.models import (
    Activity,
    BookingPreferences,
    InscriptionStatus,
    ReminderSent,
    Reservation,
)
from parvis.activities.rules import format_moment, moment
from parvis.activities.services import closures_of
from parvis.communes import tenancy
from parvis.communes.dates import long_date, monday_of
from parvis.communes.models import Commune
from parvis.families.models import FamilyAccess, Personne
from parvis.mail import absolute_url, queue_email

WINDOW = timedelta(hours=24)


def next_week(today: date) -> date:
    """The Monday after the week of `today`."""
    return monday_of(today) + timedelta(days=7)


@dataclass(frozen=True)
class WeekDeadline:
    day: date  # the open day whose deadline it is
    deadline: datetime


def week_deadline(activity: Activity, monday: date) -> WeekDeadline | None:
    """The booking deadline of the first open day of the week of `monday`, the earliest over
    the units; None when no unit runs that week."""
    sunday = monday + timedelta(days=6)
    closures = closures_of(activity, monday, sunday)
    best = None
    for unit in activity.units.all():
        for offset in range(7):
            day = monday + timedelta(days=offset)
            closed = closed_reason(
                day,
                zone=activity.commune.holiday_zone or "C",
                weekdays=unit.weekdays,
                during=activity.runs,
                start=activity.start,
                end=activity.end,
                closures=closures,
            )
            if closed is not None:
                continue
            deadline = moment(
                activity.booking_deadline,
                day,
                starts_at=unit.starts_at,
                is_working_day=is_working_day,
            )
            if best is None or deadline < best.deadline:
                best = WeekDeadline(day=day, deadline=deadline)
            break  # the unit's first open day
    return best


def _bookable_yet(activity: Activity, due: WeekDeadline, now: datetime) -> bool:
    """Whether booking the week has opened (no reminder to book what cannot be booked yet)."""
    if activity.booking_opens is None:
        return True
    opens = moment(activity.booking_opens, due.day, is_working_day=is_working_day)
    return now >= opens


def send_booking_reminders(*, now: datetime | None = None, commune: Commune | None = None) -> int:
    """Send the reminders due at `now` (for one commune, or all the active ones). Returns how
    many e-mails were sent. Each activity's work runs in its commune's scope (its queries say
    commune_id, issue 18 §2); so does the whole run for one commune."""
    with tenancy.scope(commune.pk if commune is not None else None):
        return _send_booking_reminders(now=now or timezone.now(), commune=commune)


def _send_booking_reminders(*, now: datetime, commune: Commune | None) -> int:
    monday = next_week(timezone.localdate(now))
    sunday = monday + timedelta(days=6)
    activities = (
        Activity.objects.filter(
            commune__is_active=True,
            start__lte=sunday,
            end__gte=monday,
            inscriptions__status=InscriptionStatus.ACCEPTEE,
        )
        .distinct()
        .select_related("commune")
        .prefetch_related("units")
        .order_by("commune_id", "position", "pk")
    )
    if commune is not None:
        activities = activities.filter(commune=commune)
    sent = 0
    for activity in activities:
        with tenancy.scope(activity.commune_id):
            due = week_deadline(activity, monday)
            if due is None or not now < due.deadline <= now + WINDOW:
                continue
            if not _bookable_yet(activity, due, now):
                continue
            sent += _remind(activity=activity, monday=monday, due=due)
    return sent


def _unbooked_children(activity: Activity, monday: date) -> dict[int, list[Personne]]:
    """The registered children with no booking (any status) that week, by family."""
    sunday = monday + timedelta(days=6)
    booked = set(
        Reservation.objects.filter(
            unit__activity=activity, day__range=(monday, sunday)
        ).values_list("child_id", flat=True)
    )
    children = Personne.objects.filter(
        inscriptions__activity=activity,
        inscriptions__status=InscriptionStatus.ACCEPTEE,
        commune_id=activity.commune_id,
    ).order_by("birth_date", "first_names", "pk")
    by_family: dict[int, list[Personne]] = defaultdict(list)
    for child in children:
        if child.pk not in booked:
            by_family[child.famille_id].append(child)
    return by_family


def _recipients(activity: Activity, monday: date, families) -> dict[User, list[Personne]]:
    """Each account linked to `families` that wants reminders and has not had this one, with
    the children concerned (of all its families)."""
    accesses = (
        FamilyAccess.objects.filter(
            famille_id__in=list(families),
            commune_id=activity.commune_id,
            user__commune_id=activity.commune_id,
            user__is_active=True,
            user__is_staff=False,
        )
        .exclude(user__email="")
        # A subquery of the commune's preferences, not an outer join from the accounts (a
        # reference table on a sharded PostgreSQL) to them.
        .exclude(
            user_id__in=BookingPreferences.objects.filter(
                commune_id=activity.commune_id, deadline_reminders=False
            ).values("user_id")
        )
        .select_related("user")
        .order_by("user_id", "famille_id")
    )
    already = set(
        ReminderSent.objects.filter(activity=activity, week=monday).values_list(
            "user_id", flat=True
        )
    )
    result: dict[User, list[Personne]] = {}
    for access in accesses:
        if access.user_id in already:
            continue
        children = result.setdefault(access.user, [])
        children.extend(c for c in families[access.famille_id] if c not in children)
    return result


def _remind(*, activity: Activity, monday: date, due: WeekDeadline) -> int:
    families = _unbooked_children(activity, monday)
    if not families:
        return 0
    sent = 0
    for user, children in _recipients(activity, monday, families).items():
        with transaction.atomic():
            _row, created = ReminderSent.objects.get_or_create(
                user=user, activity=activity, week=monday
            )
            if not created:  # another run sent it meanwhile
                continue
            transaction.on_commit(
                lambda user=user, children=children: send_reminder(
                    user=user,
                    activity=activity,
                    monday=monday,
                    due=due,
                    children=children,
                )
            )
        sent += 1
    return sent


def send_reminder(
    *,
    user: User,
    activity: Activity,
    monday: date,
    due: WeekDeadline,
    children: list[Personne],
) -> None:
    """One account's reminder for one activity: the children concerned, each with a link to
    their calendar at that week, the exact deadline, and where to opt out."""
    commune = activity.commune
    anchor = f"#semaine-{monday.isoformat()}"
    lines = [
        (
            child,
            absolute_url(
                reverse("activities:calendrier", args=[commune.slug, activity.slug, child.pk])
                + anchor
            ),
        )
        for child in children
    ]
    week = long_date(monday, "l j F Y")
    queue_email(
        subject=_("%(commune)s — réservez la semaine du %(week)s avant le %(deadline)s")
        % {"commune": commune.name, "week": week, "deadline": format_moment(due.deadline)},
        body=render_to_string(
            "activities/emails/rappel.txt",
            {
                "commune": commune,
                "activity": activity,
                "week": week,
                "deadline": format_moment(due.deadline),
                "first_day": long_date(due.day, "l j F Y"),
                "lines": lines,
                "agenda_url": absolute_url(reverse("activities:agenda", args=[commune.slug])),
            },
        ),
        commune_id=commune.pk,
        to=[user.email],
    )
