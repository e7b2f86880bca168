"""Demo activities of Carrières-sous-Poissy for the current school year (issue 6), and of
Carrières-sur-Seine for the MARTIN family (seed 003, see ACTIVITIES_CSS). Idempotent,
like parvis/families/demo.py (which it needs: the DURAND and LEROY households).

- « Accueil Périscolaire Maternelle »: « Acc Matin » (PERI_AM_M) and « Acc Soir » (PERI_PM_M),
  Mon/Tue/Thu/Fri, 20 seats, book and cancel until the previous working day 09:00;
- « Restauration scolaire »: « Repas » (REPAS), no capacity (the canteen never refuses a pupil);
- « Accueil de loisirs du mercredi »: « Journée » (ALSH_MER), 2 seats so a waiting list shows,
  opens 6 weeks before, cancel until J-7, every booking waits for an agent.

Léa DURAND is registered to all three, Hugo to the canteen and Wednesdays. The bookings go
through `validate_basket` (with a `now` before their deadlines), so the seat counters stay
right: on the first Wednesday LEROY's Inès and Nathan BERNARD take the 2 seats and Léa is first
on the waiting list; Hugo's next Wednesday stays « en attente d'instruction ». A household
that already has bookings of an activity is left alone, so loading again changes nothing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import User
from parvis.activities.models import (
    Activity,
    Inscription,
    InscriptionStatus,
    Reservation,
    Runs,
    Unit,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import (
    accept_bookings,
    closures_of,
    validate_basket,
    why_not_bookable,
)
from parvis.activities.services_custody import record_custody
from parvis.communes.models import Commune, Service
from parvis.families.demo import CITIZEN_EMAIL, MOTHER_EMAIL, PETIT_NUMBER, ROBERT_NUMBER
from parvis.families.documents import school_year_of
from parvis.families.models import (
    CustodyRule,
    CustodySide,
    CustodySource,
    Famille,
    MemberKind,
    Personne,
    SchoolLevel,
    SharedCustody,
)

SLUG = "carrieres-sous-poissy"
DAY_BEFORE_9H = {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True}
J_7 = {"kind": "days_before", "days": 7, "time": "09:00", "working_days": False}
SIX_WEEKS = {"kind": "weeks_before", "weeks": 6}
BERNARD_NUMBER = 40  # a demo household of its own, far from the families demo's numbers
WEEKS_BOOKED = 3

ACTIVITIES = [
    # (slug, name, levels, opens, deadline, cancel, needs_instruction, units)
    (
        "peri-maternelle",
        "Accueil Périscolaire Maternelle",
        ["maternelle"],
        None,
        DAY_BEFORE_9H,
        DAY_BEFORE_9H,
        False,
        [
            ("PERI_AM_M", "Acc Matin", time(7, 30), time(8, 20), [0, 1, 3, 4], 20),
            ("PERI_PM_M", "Acc Soir", time(16, 30), time(18, 30), [0, 1, 3, 4], 20),
        ],
    ),
    (
        "restauration",
        "Restauration scolaire",
        [],
        None,
        DAY_BEFORE_9H,
        DAY_BEFORE_9H,
        False,
        [("REPAS", "Repas", time(11, 30), time(13, 30), [0, 1, 3, 4], None)],
    ),
    (
        "loisirs-mercredi",
        "Accueil de loisirs du mercredi",
        [],
        SIX_WEEKS,
        J_7,
        J_7,
        True,
        [("ALSH_MER", "Journée", time(8, 30), time(17, 30), [2], 2)],
    ),
]


# Carrières-sur-Seine (seed 003): the MARTIN family's Jules (CM1) is registered to both; his
# mornings of Monday and Tuesday and his meals are booked for WEEKS_BOOKED weeks, so Thursdays,
# Fridays and the evenings are left to book, this month and the next.
SLUG_CSS = "carrieres-sur-seine"
ACTIVITIES_CSS = [
    (
        "periscolaire-elementaire",
        "Accueil périscolaire élémentaire",
        ["elementaire"],
        None,
        DAY_BEFORE_9H,
        DAY_BEFORE_9H,
        False,
        [
            ("GARD_AM", "Garderie du matin", time(7, 30), time(8, 20), [0, 1, 3, 4], 30),
            ("GARD_PM", "Garderie du soir", time(16, 30), time(18, 30), [0, 1, 3, 4], 30),
        ],
    ),
    (
        "restauration",
        "Restauration scolaire",
        [],
        None,
        DAY_BEFORE_9H,
        DAY_BEFORE_9H,
        False,
        [("REPAS", "Repas", time(11, 30), time(13, 30), [0, 1, 3, 4], None)],
    ),
]


def school_year_period(today: date) -> tuple[date, date]:
    """From 1 September to the first Saturday of July. In July and August, once the year is
    over, the coming one (so the demo always has days ahead)."""
    year = school_year_of(today)
    start, end = date(year, 9, 1), _first_saturday_of_july(year + 1)
    if today > end:
        start, end = date(year + 1, 9, 1), _first_saturday_of_july(year + 2)
    return start, end


def _first_saturday_of_july(year: int) -> date:
    first = date(year, 7, 1)
    return first + timedelta(days=(5 - first.weekday()) % 7)


def _activities(commune: Commune, start: date, end: date, specs=ACTIVITIES) -> dict[str, Activity]:
    service = Service.objects.get(commune=commune, kind="enfance")
    found = {}
    for position, (slug, name, levels, opens, deadline, cancel, instruct, units) in enumerate(
        specs
    ):
        activity, _created = Activity.objects.update_or_create(
            commune=commune,
            slug=slug,
            defaults={
                "name": name, "service": service, "runs": Runs.SCHOOL, "start": start,
                "end": end, "levels": levels, "booking_opens": opens,
                "booking_deadline": deadline, "cancel_deadline": cancel,
                "needs_instruction": instruct, "position": position,
            },
        )  # fmt: skip
        for unit_position, (code, label, starts, ends, weekdays, capacity) in enumerate(units):
            Unit.objects.update_or_create(
                activity=activity,
                code=code,
                defaults={
                    "commune": commune, "label": label, "starts_at": starts, "ends_at": ends,
                    "weekdays": weekdays, "capacity": capacity, "position": unit_position,
                },
            )  # fmt: skip
        found[slug] = activity
    return found


def _register(child: Personne, activity: Activity) -> None:
    Inscription.objects.get_or_create(
        child=child,
        activity=activity,
        defaults={
            "commune": activity.commune,
            "famille": child.famille,
            "status": InscriptionStatus.ACCEPTEE,
            "decided_at": timezone.now(),
        },
    )


def _open_days(activity: Activity, unit: Unit, first: date, now: datetime) -> list[date]:
    last = first + timedelta(weeks=WEEKS_BOOKED)
    closures = closures_of(activity, first, last)
    days = (first + timedelta(days=n) for n in range((last - first).days))
    return [
        day
        for day in days
        if why_not_bookable(
            activity=activity, unit=unit, day=day, now=now, closures=closures, registered=True
        )
        is None
    ]


def _book(child, activity, changes, *, now, actor=None) -> None:
    """Book `changes` (unit, day) for `child`, unless the child has bookings there already."""
    if not changes:
        return
    if Reservation.objects.filter(child=child, unit__activity=activity).exists():
        return
    validate_basket(
        famille=child.famille, child=child, activity=activity, add=changes, remove=[],
        actor=actor, now=now,
    )  # fmt: skip


def _bernard(commune: Commune) -> Personne:
    famille, _created = Famille.objects.get_or_create(
        commune=commune,
        number=BERNARD_NUMBER,
        defaults={"name": "BERNARD", "postal_code": "78955", "city": commune.name},
    )
    Personne.objects.get_or_create(
        famille=famille, kind=MemberKind.RESPONSABLE, first_names="Claire",
        defaults={"commune": commune, "last_name": "BERNARD", "civility": "mme",
                  "email": "claire.bernard@example.fr"},
    )  # fmt: skip
    child, _created = Personne.objects.get_or_create(
        famille=famille, kind=MemberKind.ENFANT, first_names="Nathan",
        defaults={"commune": commune, "last_name": "BERNARD", "birth_date": date(2018, 1, 12),
                  "school": "Ecole du PARC", "class_name": "CE2",
                  "level": SchoolLevel.ELEMENTAIRE},
    )  # fmt: skip
    return child


def _child(commune, number, first_names) -> Personne:
    return Personne.objects.get(
        commune=commune, famille__number=number, kind=MemberKind.ENFANT, first_names=first_names
    )


def _load_carrieres_sur_seine(today: date) -> dict[str, Activity]:
    commune = Commune.objects.get(slug=SLUG_CSS)
    start, end = school_year_period(today)
    activities = _activities(commune, start, end, ACTIVITIES_CSS)
    peri, cantine = activities["periscolaire-elementaire"], activities["restauration"]
    jules = _child(commune, 1, "Jules")
    _register(jules, peri)
    _register(jules, cantine)
    first = max(today + timedelta(days=1), start)
    now = datetime.combine(first - timedelta(days=7), time(8, 0), tzinfo=PARIS)
    parent = User.objects.filter(commune=commune, family_code="F000001").first()
    units = {unit.code: unit for unit in Unit.objects.filter(activity__in=activities.values())}
    matin, repas = units["GARD_AM"], units["REPAS"]
    mornings = _open_days(peri, matin, first, now)
    _book(jules, peri, [(matin, d) for d in mornings if d.weekday() in (0, 1)], now=now,
          actor=parent)  # fmt: skip
    meals = _open_days(cantine, repas, first, now)
    _book(jules, cantine, [(repas, d) for d in meals], now=now, actor=parent)
    return activities


@transaction.atomic
def load(today: date | None = None) -> dict[str, Activity]:
    today = today or timezone.localdate()
    commune = Commune.objects.get(slug=SLUG)
    start, end = school_year_period(today)
    activities = _activities(commune, start, end)
    peri, cantine, mercredi = (
        activities["peri-maternelle"], activities["restauration"],
        activities["loisirs-mercredi"],
    )  # fmt: skip
    lea, hugo = _child(commune, 1, "Léa"), _child(commune, 1, "Hugo")
    ines, nathan = _child(commune, 2, "Inès"), _bernard(commune)
    for child, activity in [
        (lea, peri), (lea, cantine), (lea, mercredi), (hugo, cantine), (hugo, mercredi),
        (ines, mercredi), (nathan, mercredi),
    ]:  # fmt: skip
        _register(child, activity)

    first = max(today + timedelta(days=1), start)
    # A week before the first day booked, in the morning: before every deadline, after the
    # Wednesdays' opening for the weeks booked.
    now = datetime.combine(first - timedelta(days=7), time(8, 0), tzinfo=PARIS)
    parent = User.objects.filter(commune=commune, email=CITIZEN_EMAIL).first()
    units = {unit.code: unit for unit in Unit.objects.filter(activity__in=activities.values())}

    matin, soir, repas = units["PERI_AM_M"], units["PERI_PM_M"], units["REPAS"]
    peri_days = _open_days(peri, matin, first, now)
    _book(
        lea, peri,
        [(matin, d) for d in peri_days if d.weekday() in (0, 1)]
        + [(soir, d) for d in peri_days if d.weekday() == 3],
        now=now, actor=parent,
    )  # fmt: skip
    meal_days = _open_days(cantine, repas, first, now)
    _book(lea, cantine, [(repas, d) for d in meal_days], now=now, actor=parent)
    _book(hugo, cantine, [(repas, d) for d in meal_days], now=now, actor=parent)

    journee = units["ALSH_MER"]
    wednesdays = _open_days(mercredi, journee, first, now)
    if len(wednesdays) >= 2:
        full, pending = wednesdays[0], wednesdays[1]
        fresh = not Reservation.objects.filter(unit=journee, child=ines).exists()
        _book(ines, mercredi, [(journee, full)], now=now)
        _book(nathan, mercredi, [(journee, full)], now=now)
        if fresh:  # the two seats of that Wednesday are confirmed by the service
            accept_bookings(
                commune=commune,
                actor=None,
                ids=list(
                    Reservation.objects.filter(unit=journee, day=full).values_list("pk", flat=True)
                ),
                activities=[mercredi],
            )
        _book(lea, mercredi, [(journee, full)], now=now, actor=parent)  # → waiting list
        _book(hugo, mercredi, [(journee, pending)], now=now, actor=parent)  # → en attente
    _separated_parents(commune, cantine, repas, first=first, now=now)
    _load_carrieres_sur_seine(today)
    return activities


def _separated_parents(commune, cantine, repas, *, first, now) -> None:
    """Nina ROBERT (families/demo.py): in shared custody between her mother's foyer (PETIT) and
    her father's (ROBERT), even weeks with her mother, as the judgment says; registered to the
    canteen, her coming meals booked by her mother (billing/demo_invoices.py writes last
    month's, so the demo run gives each parent an invoice for their weeks)."""
    nina = Personne.objects.filter(
        commune=commune, famille__number=PETIT_NUMBER, kind=MemberKind.ENFANT, first_names="Nina"
    ).first()
    father = Famille.objects.filter(commune=commune, number=ROBERT_NUMBER).first()
    if nina is None or father is None:
        return
    _register(nina, cantine)
    if not SharedCustody.objects.filter(child=nina).exists():
        record_custody(
            child=nina, other_famille=father, actor=None, rule=CustodyRule.SEMAINES_PAIRES,
            first_side=CustodySide.FOYER, since=cantine.start, source=CustodySource.JUGEMENT,
            source_date=cantine.start - timedelta(days=90),
            note="Jugement du juge aux affaires familiales : garde alternée.",
        )  # fmt: skip
    mother = User.objects.filter(commune=commune, email=MOTHER_EMAIL).first()
    meals = _open_days(cantine, repas, first, now)
    _book(nina, cantine, [(repas, d) for d in meals], now=now, actor=mother)
