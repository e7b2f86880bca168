"""The activities part of the benchmark (../shared/BENCHMARK.md), called by `manage.py bench`:
the reference periscolaire activity with a school year of bookings, then the figures of the
household calendar, the basket's « Valider » and booking throughput under concurrent clients.

The bookings are bulk-created through reservations.load_booked (the benchmark measures pages and
validations, not the loading), which sets the seat counters (UnitDay) from them, so the rules see
what a real year would leave."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import date, timedelta
from datetime import time as clock

from django.db import connections
from django.test import Client
from django.utils import timezone

from parvis.activities.calendar import closed_reason
from parvis.activities.models import (
    SEAT_HOLDING,
    Activity,
    Inscription,
    InscriptionStatus,
    Reservation,
    Runs,
    Unit,
    UnitDay,
)
from parvis.activities.reservations import load_booked
from parvis.activities.services import validate_basket

DAY_BEFORE_9H = {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True}
# (code, label, from, to, weekdays, weekdays booked by every child)
UNITS = [
    ("ACC_MATIN", "Acc Matin", clock(7, 30), clock(8, 30), [0, 1, 2, 3, 4], {0, 3}),
    ("RESTAURATION", "Restauration", clock(11, 30), clock(13, 30), [0, 1, 3, 4], {0, 1, 3, 4}),
    ("ACC_SOIR", "Acc Soir", clock(16, 30), clock(18, 30), [0, 1, 2, 3, 4], {0, 1, 3}),
]
BASKET_CHANGES = 40
THROUGHPUT_SEATS = 10


def school_year(today: date) -> tuple[date, date]:
    """From the first Monday of September to the first Saturday of July, for the school year
    that has not ended on `today`."""
    year = today.year if today.month >= 8 else today.year - 1
    start = date(year, 9, 1)
    start += timedelta(days=(7 - start.weekday()) % 7)
    end = date(year + 1, 7, 1)
    end += timedelta(days=(5 - end.weekday()) % 7)
    return start, end


def _open_days(activity: Activity, unit: Unit) -> list[date]:
    days, day = [], activity.start
    while day <= activity.end:
        if (
            closed_reason(
                day,
                zone=activity.commune.holiday_zone,
                weekdays=unit.weekdays,
                during=activity.runs,
                start=activity.start,
                end=activity.end,
            )
            is None
        ):
            days.append(day)
        day += timedelta(days=1)
    return days


def build_bookings(commune, service, today: date, *, only=None) -> dict:
    """The periscolaire activity, every child registered to it and booked on about 265
    unit-days of the school year; care units have seats (never full), the canteen none. With
    `only` (first, last day), only the days between them are booked (the invoicing benchmark
    needs one month)."""
    from parvis.families.models import MemberKind, Personne

    start, end = school_year(today)
    activity = Activity.objects.create(
        commune=commune,
        service=service,
        name="Périscolaire",
        slug="periscolaire",
        runs=Runs.SCHOOL,
        start=start,
        end=end,
        booking_deadline=DAY_BEFORE_9H,
        cancel_deadline=DAY_BEFORE_9H,
    )
    children = list(Personne.objects.filter(commune=commune, kind=MemberKind.ENFANT).order_by("pk"))
    units, booked_days = [], {}
    for position, (code, label, starts, ends, weekdays, booked) in enumerate(UNITS):
        unit = Unit.objects.create(
            commune=commune,
            activity=activity,
            code=code,
            label=label,
            starts_at=starts,
            ends_at=ends,
            weekdays=weekdays,
            position=position,
            capacity=None if code == "RESTAURATION" else len(children) + THROUGHPUT_SEATS,
        )
        units.append(unit)
        booked_days[unit.pk] = [
            d
            for d in _open_days(activity, unit)
            if d.weekday() in booked and (only is None or only[0] <= d <= only[1])
        ]
    Inscription.objects.bulk_create(
        (
            Inscription(
                commune=commune,
                famille_id=c.famille_id,
                child=c,
                activity=activity,
                status=InscriptionStatus.ACCEPTEE,
            )
            for c in children
        ),
        batch_size=2000,
    )
    batch = []
    for child in children:
        for unit in units:
            for day in booked_days[unit.pk]:
                batch.append(
                    Reservation(
                        commune=commune,
                        famille_id=child.famille_id,
                        child=child,
                        unit=unit,
                        day=day,
                    )
                )
        if len(batch) >= 20000:
            load_booked(batch)  # « réservée », with their seat counters
            batch = []
    load_booked(batch)
    per_child = sum(len(days) for days in booked_days.values())
    return {"activity": activity, "units": units, "unit_days_per_child": per_child}


def _future_days(unit: Unit, activity: Activity, *, after: date, count: int, booked: bool):
    """`count` open days of `unit` from `after`, among those the bench booked (or not)."""
    weekdays_booked = next(b for code, *_rest, b in UNITS if code == unit.code)
    days = [
        d
        for d in _open_days(activity, unit)
        if d >= after and (d.weekday() in weekdays_booked) == booked
    ]
    return days[:count]


def basket_post(activity, changes_add, changes_remove) -> dict:
    return {
        "ajout": [f"{u.pk}:{d.isoformat()}" for u, d in changes_add],
        "retrait": [f"{u.pk}:{d.isoformat()}" for u, d in changes_remove],
    }


def measure_basket(client: Client, commune, world: dict, child, requests: int) -> list[float]:
    """« Valider » of a basket of 40 changes (20 cancelled canteen days, 20 added morning care
    days) through the page, then the reverse basket (40 changes too): every request counts."""
    activity = world["activity"]
    morning, canteen = world["units"][0], world["units"][1]
    after = timezone.localdate() + timedelta(days=14)
    half = BASKET_CHANGES // 2
    added = [(morning, d) for d in _future_days(morning, activity, after=after, count=half,
                                                 booked=False)]  # fmt: skip
    removed = [(canteen, d) for d in _future_days(canteen, activity, after=after, count=half,
                                                   booked=True)]  # fmt: skip
    if len(added) + len(removed) < BASKET_CHANGES:
        raise RuntimeError("the school year has too few days left for a 40-change basket")
    url = f"/{commune.slug}/mon-espace/reservations/{activity.slug}/{child.pk}/panier/"
    forward = basket_post(activity, added, removed)
    backward = basket_post(activity, removed, added)
    timings = []
    for n in range(requests + 2):
        start = time.perf_counter()
        response = client.post(url, forward if n % 2 == 0 else backward)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 302:
            raise RuntimeError(f"basket refused: {response.status_code}")
        if n >= 2:  # the first two are the warm-up
            timings.append(elapsed)
    return timings


def measure_throughput(commune, world: dict, clients: int) -> dict:
    """`clients` threads validate at the same instant, each a basket of 5 days for its own
    child on a unit with THROUGHPUT_SEATS seats left on those days: validations per second,
    and the oversold seats counted afterwards (must be 0)."""
    from parvis.families.models import MemberKind, Personne

    activity, evening = world["activity"], world["units"][2]
    days = _future_days(
        evening, activity, after=timezone.localdate() + timedelta(days=14), count=5, booked=False
    )
    # Fill those days up to THROUGHPUT_SEATS seats left.
    for day in days:
        UnitDay.objects.update_or_create(
            unit=evening, day=day, defaults={"taken": evening.capacity - THROUGHPUT_SEATS}
        )
    children = list(
        Personne.objects.filter(commune=commune, kind=MemberKind.ENFANT)
        .select_related("famille")
        .order_by("-pk")[:clients]
    )
    from parvis.accounts.models import User

    actor = User.objects.filter(commune=commune, is_staff=False).first()
    barrier = threading.Barrier(len(children))
    errors = []

    def run(child):
        try:
            barrier.wait()
            validate_basket(
                famille=child.famille,
                child=child,
                activity=activity,
                add=[(evening, d) for d in days],
                remove=[],
                actor=actor,
            )
        except Exception as error:
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(child,)) for child in children]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    oversold = 0
    for day in days:
        row = UnitDay.objects.get(unit=evening, day=day)
        holding = Reservation.objects.filter(
            unit=evening, day=day, status__in=SEAT_HOLDING, child__in=children
        ).count()
        oversold += max(0, row.taken - evening.seats)
        # The counter must match what was booked on top of the pre-filled seats.
        oversold += max(0, holding - THROUGHPUT_SEATS)
    return {
        "clients": len(children),
        "per_s": (len(children) - len(errors)) / elapsed,
        "oversold": oversold,
        "errors": errors,
    }


def summarise(timings: list[float]) -> tuple[float, float]:
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) >= 20 else max(timings)
    return p50, p95
