"""Reads behind the PDFs and « Édition de documents ».

For a citizen every function is scoped twice: to the commune of the URL and to the families the
account is linked to there (parvis.families.selectors_citizen); anything else — another
family's invoice, payment or child, another commune's, a malformed id — is None, so a 404.

The two certificates are computed here, from the rows, without any price logic:

- `tax_certificate`: what the family PAID in a year for the childcare of each child under 6
  (method in its docstring);
- `attendance_days`: the days a child was present on each unit between two dates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, Q, Sum
from django.db.models.functions import ExtractYear

from parvis.accounts.models import User
from parvis.activities import custody
from parvis.activities.models import (
    Absence,
    ActivityClosure,
    Attendance,
    BookingStatus,
    Reservation,
    Unit,
)
from parvis.billing.models import (
    Invoice,
    InvoiceLine,
    LineKind,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Regie,
)
from parvis.communes.models import Commune
from parvis.families import selectors as family_selectors
from parvis.families.models import Famille, MemberKind, Personne
from parvis.families.selectors_citizen import _linked_families, linked_children_q
from parvis.ids import parse_id
from parvis.money import CENT, ZERO

# The lines that count as childcare in the tax certificate: the care itself and its credits.
CHILDCARE_LINE_KINDS = (LineKind.PRESTATION, LineKind.DEDUCTION)
TAX_CREDIT_MAX_AGE = 6


def responsables_prefetch(prefix: str = "famille__") -> Prefetch:
    """The family's responsables (first one first) as `famille.responsables`: the name an
    invoice is addressed to, and the e-mails it goes to."""
    return Prefetch(
        f"{prefix}members", queryset=family_selectors.responsables(), to_attr="responsables"
    )


# --- Scoped to the account --------------------------------------------------------------------


def linked_familles(*, user: User, commune: Commune) -> list[Famille]:
    return list(_linked_families(user=user, commune=commune))


def family_invoice(*, user: User, commune: Commune, pk) -> Invoice | None:
    """One invoice of the account's families in `commune` (any state), else None."""
    pk = parse_id(pk)
    if pk is None:
        return None
    return Invoice.objects.filter(
        pk=pk, commune=commune, famille__in=_linked_families(user=user, commune=commune)
    ).first()


def family_payment(*, user: User, commune: Commune, pk) -> Payment | None:
    """One payment (valid or cancelled) of the account's families in `commune`, else None."""
    pk = parse_id(pk)
    if pk is None:
        return None
    return Payment.objects.filter(
        pk=pk, commune=commune, famille__in=_linked_families(user=user, commune=commune)
    ).first()


def family_payments(*, user: User, commune: Commune):
    """The payments of the account's families, the latest first, each with its régie and its
    allocations' invoices (a queryset: the page shows them a page at a time, two queries)."""
    return (
        Payment.objects.filter(
            commune=commune, famille__in=_linked_families(user=user, commune=commune)
        )
        .select_related("regie")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("invoice").order_by(
                    "invoice__number"
                ),
            )
        )
        .order_by("-received_on", "-pk")
    )


def family_children(*, user: User, commune: Commune) -> list[Personne]:
    """The children of the account's families, and those a family of it shares with another
    household (for the attendance certificate)."""
    return list(
        Personne.objects.filter(
            linked_children_q(user=user, commune=commune),
            commune=commune,
            kind=MemberKind.ENFANT,
        )
        .select_related("famille")
        .order_by("famille__name", "famille__number", "birth_date", "first_names", "pk")
    )


def payment_years(*, familles: list[Famille]) -> list[int]:
    """The years in which the families have valid payments, the latest first."""
    if not familles:
        return []
    years = (
        Payment.objects.filter(famille__in=familles, status=PaymentStatus.VALIDE)
        .annotate(year=ExtractYear("received_on"))
        .values_list("year", flat=True)
        .distinct()
    )
    return sorted(set(years), reverse=True)


# --- The tax certificate ----------------------------------------------------------------------


def under_six_on_first_january(child: Personne, year: int) -> bool:
    """Whether the tax credit for childcare counts `child` for the expenses of `year`: under 6
    on 1 January of the year, which the tax administration reads as « born on or after
    1 January of year − 6 » (for 2025: born from 1 January 2019 on). A child without a birth
    date is not counted (nothing proves its age)."""
    return child.birth_date is not None and child.birth_date >= date(
        year - TAX_CREDIT_MAX_AGE, 1, 1
    )


@dataclass
class ChildAmount:
    child: Personne
    amount: Decimal


@dataclass
class TaxCertificate:
    famille: Famille
    year: int
    children: list[ChildAmount] = field(default_factory=list)
    regies: list[Regie] = field(default_factory=list)
    payment_count: int = 0

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.children), ZERO)


def tax_certificate(*, famille: Famille, year: int) -> TaxCertificate:
    """The amounts the family PAID during `year` for the childcare of each of its children
    under 6 on 1 January of the year (`under_six_on_first_january`).

    Method, for each share (allocation) of a valid payment received in the year, from 1 January
    to 31 December included (a cancelled payment counts for nothing):

    1. the invoice's childcare base for the child is the sum of the amounts of its lines for
       that child marked `childcare` (copied from the unit's tariff) of kind « prestation »
       minus its « déduction » lines (credits are negative amounts); penalties, meals and any
       line not marked childcare are left out;
    2. the child's part of the share is share × base ÷ invoice total: a payment settles every
       line of an invoice in proportion, so a half-paid invoice counts half of each child's
       childcare;
    3. parts are added up unrounded over the year, and the child's total is rounded once to the
       cent (ROUND_HALF_UP); a total below zero (more credits than care paid) counts 0.

    Five queries whatever the number of payments."""
    children = [
        child
        for child in Personne.objects.filter(
            Q(famille=famille) | Q(custody__other_famille=famille),  # shared custody: its part
            kind=MemberKind.ENFANT,
            birth_date__isnull=False,
        ).order_by("birth_date", "first_names", "pk")
        if under_six_on_first_january(child, year)
    ]
    allocations = list(
        PaymentAllocation.objects.filter(
            payment__famille=famille,
            payment__commune_id=famille.commune_id,
            payment__status=PaymentStatus.VALIDE,
            payment__received_on__range=(date(year, 1, 1), date(year, 12, 31)),
        ).select_related("invoice", "payment")
    )
    certificate = TaxCertificate(famille=famille, year=year)
    certificate.payment_count = len({a.payment_id for a in allocations})
    regie_ids = {a.payment.regie_id for a in allocations}
    certificate.regies = list(Regie.objects.filter(pk__in=regie_ids)) if regie_ids else []
    if not children:
        return certificate
    bases: dict[tuple[int, int], Decimal] = {}
    invoice_ids = {a.invoice_id for a in allocations}
    if invoice_ids:
        rows = (
            InvoiceLine.objects.filter(
                invoice_id__in=invoice_ids,
                child_id__in=[c.pk for c in children],
                childcare=True,
                kind__in=CHILDCARE_LINE_KINDS,
            )
            .values("invoice_id", "child_id")
            .annotate(base=Sum("amount"))
        )
        bases = {(row["invoice_id"], row["child_id"]): row["base"] for row in rows}
    sums: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for allocation in allocations:
        invoice_total = allocation.invoice.total
        if invoice_total <= 0:
            continue
        for child in children:
            base = bases.get((allocation.invoice_id, child.pk))
            if base:
                sums[child.pk] += allocation.amount * base / invoice_total
    for child in children:
        amount = max(sums[child.pk], ZERO).quantize(CENT, rounding=ROUND_HALF_UP)
        certificate.children.append(ChildAmount(child=child, amount=amount))
    return certificate


# --- The attendance certificate ---------------------------------------------------------------


@dataclass
class UnitDays:
    unit: Unit
    days: list[date] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.days)


def attendance_days(
    *, child: Personne, start: date, end: date, famille: Famille | None = None
) -> list[UnitDays]:
    """The days `child` was present on each unit from `start` to `end` included: where the
    register was taken, the days ticked present; where it was not (no row for the child, the
    unit and the day), the days booked (« réservée ») that no declared absence covers and no
    closure of the activity (or of every activity) cancelled. Units in the activities' order,
    days in order; a unit without a present day is left out. A child in shared custody, for
    `famille` (one of its two households): the days its rule bills to that household (all of
    them under a percentage). Five queries, six with `famille` (seven for a shared child)."""
    registered: dict[tuple[int, date], bool] = {}
    units: dict[int, Unit] = {}
    for row in Attendance.objects.filter(
        child=child, commune_id=child.commune_id, day__range=(start, end)
    ).select_related("unit__activity"):
        registered[(row.unit_id, row.day)] = row.present
        units[row.unit_id] = row.unit
    absences = list(
        Absence.objects.filter(child=child, first_day__lte=end, last_day__gte=start).values_list(
            "first_day", "last_day"
        )
    )
    closures = set(
        ActivityClosure.objects.filter(
            commune_id=child.commune_id, day__range=(start, end)
        ).values_list("activity_id", "day")
    )
    present: set[tuple[int, date]] = {key for key, value in registered.items() if value}
    for booking in Reservation.objects.filter(
        child=child,
        commune_id=child.commune_id,
        day__range=(start, end),
        status=BookingStatus.RESERVEE,
    ).select_related("unit__activity"):
        key = (booking.unit_id, booking.day)
        if key in registered:
            continue
        if any(first <= booking.day <= last for first, last in absences):
            continue
        activity_id = booking.unit.activity_id
        if (activity_id, booking.day) in closures or (None, booking.day) in closures:
            continue
        present.add(key)
        units[booking.unit_id] = booking.unit
    if famille is not None:
        plan = custody.plan_of(child)
        if plan is not None:
            present = {
                (unit_id, day)
                for unit_id, day in present
                if famille.pk in plan.payers(day, units[unit_id].activity_id)
            }
    by_unit: dict[int, UnitDays] = {}
    for unit_id, day in present:
        by_unit.setdefault(unit_id, UnitDays(unit=units[unit_id])).days.append(day)
    result = sorted(
        by_unit.values(),
        key=lambda u: (
            u.unit.activity.position,
            u.unit.activity.name,
            u.unit.position,
            u.unit.code,
        ),
    )
    for unit_days in result:
        unit_days.days.sort()
    return result
