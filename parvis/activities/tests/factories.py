"""Activities for tests: a school-year activity with one unit, children registered to it."""

from datetime import date, time

from parvis.activities.models import Activity, Inscription, InscriptionStatus, Runs, Unit
from parvis.communes.tests.factories import ServiceFactory

DAY_BEFORE_9H = {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True}


def make_activity(commune, *, capacity=None, needs_instruction=False, **fields) -> Activity:
    service = ServiceFactory(commune=commune, kind="enfance")
    activity = Activity.objects.create(
        commune=commune,
        service=service,
        name=fields.pop("name", "Accueil Périscolaire Maternelle"),
        slug=fields.pop("slug", "peri-maternelle"),
        runs=fields.pop("runs", Runs.SCHOOL),
        start=fields.pop("start", date(2026, 9, 1)),
        end=fields.pop("end", date(2027, 7, 3)),
        booking_deadline=fields.pop("booking_deadline", DAY_BEFORE_9H),
        cancel_deadline=fields.pop("cancel_deadline", DAY_BEFORE_9H),
        needs_instruction=needs_instruction,
        **fields,
    )
    Unit.objects.create(
        commune=commune,
        activity=activity,
        code="PERI_AM_M",
        label="Acc Matin",
        starts_at=time(7, 30),
        ends_at=time(8, 20),
        weekdays=[0, 1, 3, 4],
        capacity=capacity,
    )
    return activity


def register(child, activity, status=InscriptionStatus.ACCEPTEE) -> Inscription:
    return Inscription.objects.create(
        commune=activity.commune,
        famille=child.famille,
        child=child,
        activity=activity,
        status=status,
    )
