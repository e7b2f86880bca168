"""The commune's rule for absences, as pure functions: whether a declared absence counts as
justified (and so is credited on the next invoice), and why, in French.

An absence is justified by the rule when a certificate was received no later than
`certificate_hours` after the start of its first day (00:00 in Europe/Paris) and it lasts at
least `min_days` consecutive calendar days (the first and the last included: towns often credit
only from the 3rd day, « carence »). Those hours are real elapsed hours: a change to or from
summer time inside the window does not lengthen or shorten them. The reason the family chose
does not change the outcome (a medical certificate says what it says); it only changes the
words when there is no certificate.

Strikes, school outings or a certificate handed in on paper are decided by an agent
(services_absences.set_justified), never by this rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parvis.activities.models import AbsenceReason
from parvis.activities.rules import PARIS, format_moment


def days_of(first_day: date, last_day: date) -> int:
    """How many calendar days an absence lasts, the first and the last included."""
    return (last_day - first_day).days + 1


def certificate_deadline(first_day: date, certificate_hours: int) -> datetime:
    """The last moment a certificate counts: `certificate_hours` real hours after 00:00 (Paris)
    of the first day. Computed in UTC: adding hours to a Paris wall time would be off by one
    hour across a DST change."""
    start = datetime.combine(first_day, time(0, 0), tzinfo=PARIS)
    return (start.astimezone(UTC) + timedelta(hours=certificate_hours)).astimezone(PARIS)


def certificate_open_until(
    *,
    first_day: date,
    last_day: date,
    has_certificate: bool,
    certificate_hours: int,
    min_days: int,
    now: datetime,
) -> datetime | None:
    """Until when a certificate sent now would still make this absence justified; None when
    none can (one is already there, the absence is too short, or the delay is over)."""
    if has_certificate or days_of(first_day, last_day) < min_days:
        return None
    deadline = certificate_deadline(first_day, certificate_hours)
    return deadline if now <= deadline else None


def justification(
    *,
    first_day: date,
    last_day: date,
    reason: str,
    certificate_at: datetime | None,
    certificate_hours: int,
    min_days: int,
) -> tuple[bool, str]:
    """(justified, why) for an absence by the commune's rule. The length first (no certificate
    can help a too-short absence), then the certificate and the time it was received."""
    length = days_of(first_day, last_day)
    if length < min_days:
        return False, ngettext(
            "absence de %(days)d jour : la commune rembourse à partir de %(min)d jours consécutifs",
            "absence de %(days)d jours : la commune rembourse à partir de %(min)d jours "
            "consécutifs",
            length,
        ) % {"days": length, "min": min_days}
    if certificate_at is None:
        if reason in AbsenceReason.values and reason != AbsenceReason.MALADIE:
            return False, _("sans certificat (motif : %(reason)s)") % {
                "reason": str(AbsenceReason(reason).label).lower()
            }
        return False, _("sans certificat")
    if certificate_at > certificate_deadline(first_day, certificate_hours):
        return False, _("certificat reçu après le délai de %(hours)d h (le %(moment)s)") % {
            "hours": certificate_hours,
            "moment": format_moment(certificate_at),
        }
    return True, _("certificat reçu dans les %(hours)d h") % {"hours": certificate_hours}
