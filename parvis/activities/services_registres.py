"""Agents' writes on the attendance registers: tick children present or absent on a unit and
day, add a registered child who came without booking. Billing charges from these rows
(attendance without booking, unjustified absences), so they only ever hold children who were
booked or registered, on a day that has come, in one transaction with an audit row; ticking
again changes the row, its history stays in the audit log."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities.models import (
    Attendance,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.selectors_registres import unit_closed
from parvis.activities.services import closures_of
from parvis.communes.models import Commune
from parvis.families.models import Personne

PRESENT, ABSENT = "present", "absent"


class RegisterError(Exception):
    """Nothing was written; the message says why, in French, for the agent."""


class FutureDay(RegisterError):
    def __init__(self):
        super().__init__(_("Ce jour n'est pas encore arrivé : on ne pointe que le jour même."))


class NotRunning(RegisterError):
    def __init__(self, reason: str):
        super().__init__(
            _("Pas d'accueil ce jour-là (%(reason)s) : rien à pointer.") % {"reason": reason}
        )


class NotOnRegister(RegisterError):
    def __init__(self, count: int = 1):
        super().__init__(
            ngettext(
                "Un enfant envoyé n'est ni réservé ni inscrit à cette activité : rien n'a été "
                "enregistré.",
                "%(count)d enfants envoyés ne sont ni réservés ni inscrits à cette activité : "
                "rien n'a été enregistré.",
                count,
            )
            % {"count": count}
        )


class AlreadyBooked(RegisterError):
    def __init__(self):
        super().__init__(
            _("Cet enfant est réservé ce jour-là : pointez-le dans la liste du registre.")
        )


def _check_day(unit: Unit, day: date, commune: Commune) -> None:
    if unit.commune_id != commune.pk:
        raise ValueError("unit of another commune")
    if day > timezone.localdate():
        raise FutureDay
    reason = unit_closed(unit, day, closures_of(unit.activity, day, day))
    if reason:
        raise NotRunning(reason)


def _families(unit: Unit, day: date, child_ids) -> tuple[dict[int, int], dict[int, int]]:
    """({child: famille} of the children booked, {child: famille} of those registered), among
    `child_ids`. A booking is the confirmed one of that moment."""
    booked = dict(
        Reservation.objects.filter(
            unit=unit, day=day, status=BookingStatus.RESERVEE, child_id__in=child_ids
        ).values_list("child_id", "famille_id")
    )
    registered = dict(
        Inscription.objects.filter(
            activity_id=unit.activity_id,
            status=InscriptionStatus.ACCEPTEE,
            child_id__in=child_ids,
        ).values_list("child_id", "famille_id")
    )
    return booked, registered


def _state(attendance: Attendance | None) -> str | None:
    if attendance is None:
        return None
    return PRESENT if attendance.present else ABSENT


def _lock(unit: Unit) -> None:
    # One agent at a time per unit: two saving the same register cannot both create a row.
    Unit.objects.select_for_update().filter(pk=unit.pk).first()


@transaction.atomic
def record_attendance(
    *,
    unit: Unit,
    day: date,
    marks: dict[int, bool],
    actor: User | None,
    commune: Commune,
    late_pickups: set[int] | None = None,
) -> dict[str, int]:
    """Tick the children of `marks` ({child id: present}) on `unit` and `day`: each gets its
    Attendance row, created or changed, `booked` saying whether a confirmed booking exists now.
    With `late_pickups` (the children of `marks` picked up late, « Retard le soir »), each row's
    `late_pickup` is set from it (never for a child absent); without, it is left as it was.
    Refused as a whole (RegisterError) for a day to come, a day the unit does not run, or a
    child neither booked nor registered to the activity. Returns the counts (present, absent,
    changed children); one audit row with them and each change, when something changed."""
    if not marks:
        return {"present": 0, "absent": 0, "changed": 0}
    if not all(
        isinstance(k, int) and not isinstance(k, bool) and isinstance(v, bool)
        for k, v in marks.items()
    ):
        raise TypeError("marks maps child ids to booleans")
    _check_day(unit, day, commune)
    _lock(unit)
    booked, registered = _families(unit, day, list(marks))
    strangers = [child_id for child_id in marks if child_id not in booked.keys() | registered]
    if strangers:
        raise NotOnRegister(len(strangers))
    existing = {
        row.child_id: row
        for row in Attendance.objects.select_for_update().filter(
            unit=unit, day=day, child_id__in=list(marks)
        )
    }
    recorder = actor if actor is not None and actor.pk else None
    changes: dict[str, list] = {}
    changed = set()
    for child_id, present in sorted(marks.items()):
        is_booked = child_id in booked
        row = existing.get(child_id)
        before = _state(row)
        was_late = row.late_pickup if row is not None else False
        late = was_late if late_pickups is None else child_id in late_pickups
        late = late and present  # a child absent was not picked up late
        if row is None:
            Attendance.objects.create(
                commune=commune,
                famille_id=booked.get(child_id) or registered[child_id],
                child_id=child_id,
                unit=unit,
                day=day,
                present=present,
                booked=is_booked,
                late_pickup=late,
                recorded_by=recorder,
            )
        elif row.present != present or row.booked != is_booked or row.late_pickup != late:
            if row.booked != is_booked:
                changes[f"child:{child_id}:booked"] = [row.booked, is_booked]
            row.present, row.booked, row.recorded_by = present, is_booked, recorder
            row.late_pickup = late
            row.save(
                update_fields=["present", "booked", "late_pickup", "recorded_by", "recorded_at"]
            )
        after = PRESENT if present else ABSENT
        if before != after:
            changes[f"child:{child_id}"] = [before, after]
            changed.add(child_id)
        if was_late != late:
            changes[f"child:{child_id}:late_pickup"] = [was_late, late]
            changed.add(child_id)
    counts = {
        "present": sum(1 for present in marks.values() if present),
        "absent": sum(1 for present in marks.values() if not present),
        "changed": len(changed),
    }
    if changes:
        audit(
            actor=actor,
            action="presence.pointage",
            commune=commune,
            target=unit,
            changes={
                "day": [None, day.isoformat()],
                "present": [None, counts["present"]],
                "absent": [None, counts["absent"]],
                "changed": [None, counts["changed"]],
                **changes,
            },
        )
    return counts


@transaction.atomic
def add_unbooked_presence(
    *, unit: Unit, day: date, child: Personne, actor: User | None, commune: Commune
) -> Attendance:
    """A child registered to the activity who came on `day` without a booking: present, not
    booked (billed as such later). Refused for a child booked that day (tick them instead),
    not registered, a day to come or a day the unit does not run."""
    _check_day(unit, day, commune)
    _lock(unit)
    booked, registered = _families(unit, day, [child.pk])
    if child.pk in booked:
        raise AlreadyBooked
    if child.pk not in registered or child.commune_id != commune.pk:
        raise NotOnRegister
    row = Attendance.objects.select_for_update().filter(unit=unit, day=day, child=child).first()
    before = _state(row)
    recorder = actor if actor is not None and actor.pk else None
    if row is None:
        row = Attendance.objects.create(
            commune=commune,
            famille_id=registered[child.pk],
            child=child,
            unit=unit,
            day=day,
            present=True,
            booked=False,
            recorded_by=recorder,
        )
    else:
        row.present, row.booked, row.recorded_by = True, False, recorder
        row.save(update_fields=["present", "booked", "recorded_by", "recorded_at"])
    audit(
        actor=actor,
        action="presence.sans_reservation",
        commune=commune,
        target=unit,
        famille_id=registered[child.pk],
        changes={"day": [None, day.isoformat()], f"child:{child.pk}": [before, PRESENT]},
    )
    return row
