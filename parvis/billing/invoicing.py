"""The monthly invoicing of a régie, computed (nothing is written here: `services_runs` issues
the invoices, the guichet previews them, `services_warnings` warns before the penalties).

One invoice per family and month (« facturation unique »), for the activities the régie bills
(RegieActivity), from the month's bookings and the attendance registers. The rules:

- **Booked days.** Every day booked (a Reservation « réservée ») of the month is billed, as a
  « prestation » line per child × unit × tariff: quantity = the days, unit price =
  `pricing.unit_price` with the tariff in force on those days (a new tariff from a day inside the
  month splits the line), amount = `pricing.line_amount` (17 × 4,15 € = 70,55 €). The line says
  the bracket (`price_label`), the reasoning (`explanation`) and the days (ISO dates).
- **Family quotient.** The QF valid on the month's first day (the latest recorded if several);
  none or expired: the highest price (`pricing` does it). Residence: `pricing.is_resident`.
- **Siblings.** The family's children who have a booked day or a presence in this régie and
  month, ordered by birth date (oldest first, unknown dates last): the first has rank 1, the
  next 2, then 3…; each unit's tariff gives its discount for that rank.
- **Presence without booking** (ticked present on a unit and day without a confirmed booking,
  whatever the register's `booked` flag said then): a prestation line at the unit price
  (« Présence sans réservation — … ») plus the rule « présence sans réservation » in force.
- **Unjustified absence** (booked, ticked absent, no justified absence declared over the day):
  the day stays billed, plus the rule « absence non justifiée ».
- **Justified absence** (booked, a justified Absence covers the day, not ticked present): a
  « déduction » line of the rule « absence justifiée déduite » (negative, never more than the
  day's price, so a day never costs less than nothing).
- **Late pick-up** (ticked « retard le soir »): the rule « retard le soir ».
- **Late booking** (a booking made — `queued_at` — at or after that day's booking deadline of the
  activity, e.g. by an agent): the rule « réservation tardive ».
- A rule is the activity's own, else the commune's, in force on the day (`pricing`); no rule,
  no line. A percent rule takes its percent of that child's unit price of the day. Penalty and
  credit lines group per child × unit × rule × amount (quantity = occurrences, days listed).
- Each line is rounded once; the invoice's total is the sum of its lines. A family with nothing
  to bill gets no invoice. Invoices are due `DUE_DAYS` days after they are issued.

A unit with a billed day and no tariff in force that day stops the computation (MissingTariff,
in French for the agent): a price is never guessed.

Reads are made in bulk: a fixed number of queries per chunk of families, whatever their number
of children, days or lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from parvis.activities import custody
from parvis.activities.calendar import is_working_day
from parvis.activities.models import (
    Absence,
    ActivityClosure,
    Attendance,
    BookingStatus,
    Reservation,
    Unit,
)
from parvis.activities.rules import moment
from parvis.billing import pricing
from parvis.billing.models import LineKind, PenaltyKind, PenaltyRule, Regie, Tariff
from parvis.billing.services import LineData
from parvis.communes.dates import first_of_month, month_bounds
from parvis.families.custody import Plan, Share
from parvis.families.models import Famille, Personne, QuotientFamilial, SharedCustody
from parvis.families.services import QF_LATEST_FIRST
from parvis.money import ZERO

DUE_DAYS = 30  # an invoice is due 30 days after it is issued
CHUNK = 500  # families read together when computing a whole month

# The order of the penalty and credit lines of a child and unit.
PENALTY_ORDER = [
    PenaltyKind.PRESENCE_SANS_RESERVATION,
    PenaltyKind.RESERVATION_TARDIVE,
    PenaltyKind.ABSENCE_NON_JUSTIFIEE,
    PenaltyKind.RETARD_SOIR,
    PenaltyKind.ABSENCE_JUSTIFIEE,
]


class MissingTariff(ValueError):
    """A billed day of a unit without a tariff in force: nothing can be computed."""

    def __init__(self, unit: Unit, day: date):
        self.unit, self.day = unit, day
        super().__init__(
            _(
                "L'unité « %(unit)s » de l'activité « %(activity)s » n'a pas de tarif en vigueur "
                "le %(day)s : ajoutez son tarif dans l'administration avant de facturer."
            )
            % {
                "unit": unit.label,
                "activity": unit.activity.name,
                "day": day.strftime("%d/%m/%Y"),
            }
        )


@dataclass
class FamilyBill:
    """What one family will be invoiced for the month: its lines and their total."""

    famille: Famille
    lines: list[LineData]
    total: Decimal

    @property
    def famille_id(self) -> int:
        return self.famille.pk


@dataclass(frozen=True)
class PenaltyEvent:
    """One occurrence that adds a penalty (for the warning before the run)."""

    child_id: int
    child_name: str
    unit_id: int
    unit_title: str
    day: date
    kind: str
    penalty: Decimal  # what the rule adds
    price: Decimal  # the day's price, billed too for a presence without booking (else 0)

    @property
    def added(self) -> Decimal:
        return self.penalty + self.price


# --- Months ------------------------------------------------------------------------------------


def previous_month(today: date) -> date:
    """The first day of the month before `today`'s: the month a run on `today` bills."""
    return first_of_month(today, -1)


def month_name(month: date) -> str:
    """« novembre 2026 » (in the page's language)."""
    return date_format(month, "F Y")


def invoice_label(month: date) -> str:
    with translation.override("fr"):
        name = date_format(month, "F Y")
        if name[:1].lower() in "aeiou":  # « Facture d'octobre 2026 », « Facture d'avril 2027 »
            return _("Facture d'%(month)s") % {"month": name}
        return _("Facture de %(month)s") % {"month": name}


def invoice_category(regie: Regie) -> str:
    return regie.name.upper()


def child_name(first_names: str, last_name: str) -> str:
    return f"{first_names} {last_name.upper()}"


def unit_title(unit: Unit) -> str:
    """« Restauration scolaire (Repas) »."""
    return f"{unit.activity.name} ({unit.label})"


def batched(items: list, size: int) -> Iterator[list]:
    """`items` in lists of `size` (the last one shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Which families ----------------------------------------------------------------------------


def regie_units(regie: Regie) -> list[Unit]:
    """The units the régie bills, in the order of their activities and positions."""
    return list(
        Unit.objects.filter(activity__regie_links__regie=regie)
        .select_related("activity")
        .order_by("activity__position", "activity__name", "position", "starts_at", "code")
    )


def families_to_bill(*, regie: Regie, month: date, until: date | None = None) -> list[int]:
    """The families with a booked day or a ticked register row of the régie's units in the
    month (up to `until` when given), and both households of a child in shared custody who has
    one, by name and number. One query."""
    first, last = month_bounds(month)
    if until is not None:
        last = min(last, until)
    units = Unit.objects.filter(activity__regie_links__regie=regie).values("pk")
    booked = Reservation.objects.filter(
        unit__in=units, day__range=(first, last), status=BookingStatus.RESERVEE
    ).values("famille_id")
    ticked = Attendance.objects.filter(unit__in=units, day__range=(first, last)).values(
        "famille_id"
    )
    shared = SharedCustody.objects.filter(commune_id=regie.commune_id).filter(
        Q(child__in=booked.values("child_id")) | Q(child__in=ticked.values("child_id"))
    )
    return list(
        Famille.objects.filter(commune_id=regie.commune_id)
        .filter(
            Q(pk__in=booked)
            | Q(pk__in=ticked)
            | Q(pk__in=shared.values("other_famille_id"))
            | Q(pk__in=shared.values("child__famille_id"))
        )
        .order_by("name", "number", "pk")
        .values_list("pk", flat=True)
    )


# --- Reading a chunk of families ---------------------------------------------------------------


@dataclass
class _Child:
    pk: int
    famille_id: int
    name: str
    birth_date: date | None


@dataclass
class _Unit:
    """What happened for one child on one unit during the month."""

    booked: dict[date, datetime | None] = field(default_factory=dict)  # day → queued_at
    present: set[date] = field(default_factory=set)
    absent: set[date] = field(default_factory=set)
    late_pickup: set[date] = field(default_factory=set)


class _Month:
    """The régie's rows for the month, read once, and the prices and rules they give."""

    def __init__(self, regie: Regie, month: date, *, until: date | None = None):
        self.regie = regie
        self.commune = regie.commune
        self.first, self.last = month_bounds(month)
        if until is not None:
            self.last = min(self.last, until)
        self.units = {unit.pk: unit for unit in regie_units(regie)}
        self.unit_order = {pk: index for index, pk in enumerate(self.units)}
        self.tariffs: dict[int, list[Tariff]] = defaultdict(list)
        for tariff in Tariff.objects.filter(
            unit_id__in=list(self.units), valid_from__lte=self.last
        ).prefetch_related("brackets"):
            self.tariffs[tariff.unit_id].append(tariff)
        activity_ids = {unit.activity_id for unit in self.units.values()}
        self.rules = list(
            PenaltyRule.objects.filter(
                commune_id=regie.commune_id, valid_from__lte=self.last
            ).filter(Q(activity__isnull=True) | Q(activity_id__in=activity_ids))
        )
        self._tariff_cache: dict[tuple[int, date], Tariff | None] = {}
        self._rule_cache: dict[tuple[str, int, date], PenaltyRule | None] = {}
        self._price_cache: dict[tuple, pricing.Price] = {}
        self._deadline_cache: dict[tuple[int, date], datetime] = {}
        self._explanation_cache: dict[tuple[int, Decimal], str] = {}
        self._kind_labels: dict[str, str] = {}
        # The children in shared custody: who pays each of their days (families.custody).
        self.plans: dict[int, Plan] = custody.plans(commune_id=regie.commune_id)
        # Closed days (an activity's, or every activity's when None): a booking still there
        # (its closing job interrupted, not yet resumed) is never billed.
        self.closed: set[tuple[int | None, date]] = set(
            ActivityClosure.objects.filter(
                commune_id=regie.commune_id, day__range=(self.first, self.last)
            ).values_list("activity_id", "day")
        )

    def is_closed(self, unit_id: int, day: date) -> bool:
        return (None, day) in self.closed or (self.units[unit_id].activity_id, day) in self.closed

    # Prices and rules of a day

    def tariff(self, unit_id: int, day: date) -> Tariff:
        key = (unit_id, day)
        if key not in self._tariff_cache:
            self._tariff_cache[key] = pricing.tariff_in_force(self.tariffs[unit_id], day)
        found = self._tariff_cache[key]
        if found is None:
            raise MissingTariff(self.units[unit_id], day)
        return found

    def price(self, tariff: Tariff, *, qf, resident: bool, rank: int) -> pricing.Price:
        key = (tariff.pk, qf, resident, rank)
        if key not in self._price_cache:
            self._price_cache[key] = pricing.unit_price(
                tariff=tariff,
                brackets=tariff.brackets.all(),
                qf=qf,
                resident=resident,
                sibling_rank=rank,
            )
        return self._price_cache[key]

    def rule(self, kind: str, unit_id: int, day: date) -> PenaltyRule | None:
        key = (kind, unit_id, day)
        if key not in self._rule_cache:
            self._rule_cache[key] = pricing.penalty_rule_in_force(
                self.rules, kind=kind, activity_id=self.units[unit_id].activity_id, day=day
            )
        return self._rule_cache[key]

    def penalty_explanation(self, rule: PenaltyRule, unit_price: Decimal) -> str:
        key = (rule.pk, unit_price)
        if key not in self._explanation_cache:
            self._explanation_cache[key] = pricing.penalty_explanation(rule, unit_price)
        return self._explanation_cache[key]

    def kind_label(self, kind: str) -> str:
        if kind not in self._kind_labels:
            self._kind_labels[kind] = str(PenaltyKind(kind).label)
        return self._kind_labels[kind]

    def deadline(self, unit_id: int, day: date) -> datetime:
        key = (unit_id, day)
        if key not in self._deadline_cache:
            unit = self.units[unit_id]
            self._deadline_cache[key] = moment(
                unit.activity.booking_deadline,
                day,
                starts_at=unit.starts_at,
                is_working_day=is_working_day,
            )
        return self._deadline_cache[key]

    # The rows of some families

    def read(self, famille_ids: list[int]) -> _Chunk:
        """The chunk's bookings, register rows, justified absences, children, families and
        QFs: eight queries. A day of a child in shared custody goes to the household its plan
        names (both, each with its part, under a percentage), whichever booked it."""
        chunk = _Chunk()
        unit_ids = list(self.units)
        if not unit_ids or not famille_ids:
            return chunk
        period = (self.first, self.last)
        # When the booking was made only matters where a late-booking rule exists (reading
        # every timestamp costs more than all the rest of the bookings).
        late_rules = any(rule.kind == PenaltyKind.RESERVATION_TARDIVE for rule in self.rules)
        fields = ["famille_id", "child_id", "unit_id", "day"] + (
            ["queued_at"] if late_rules else []
        )
        units = set(unit_ids)
        in_chunk = set(famille_ids)
        plans = {
            child_id: plan
            for child_id, plan in self.plans.items()
            if plan.foyer_id in in_chunk or plan.other_id in in_chunk
        }
        rows = Q(famille_id__in=famille_ids)
        if plans:
            rows |= Q(child_id__in=list(plans))

        def slots_of(famille_id: int, child_id: int, unit_id: int, day: date) -> list[_Unit]:
            """Where a row goes: its family's slot, or (a shared child) the payers'."""
            plan = plans.get(child_id) if plans else None
            if plan is None:
                return [chunk.slot(famille_id, child_id, unit_id)]
            activity_id = self.units[unit_id].activity_id
            return [
                chunk.slot(share.famille_id, child_id, unit_id, share)
                for share in plan.shares(day, activity_id)
                if share.famille_id in in_chunk
            ]

        # By family and day only, and the units kept here: with the unit in the WHERE clause
        # the database picks the (unit, day) index and reads the whole month of every family
        # for each chunk, which made the run grow with the square of the families.
        for famille_id, child_id, unit_id, day, *queued_at in (
            Reservation.objects.filter(rows, day__range=period, status=BookingStatus.RESERVEE)
            .order_by()
            .values_list(*fields)
        ):
            if unit_id not in units or (self.closed and self.is_closed(unit_id, day)):
                continue
            if plans and child_id in plans:
                for slot in slots_of(famille_id, child_id, unit_id, day):
                    slot.booked[day] = queued_at[0] if queued_at else None
            else:  # the common case, kept as cheap as before shared custody
                chunk.slot(famille_id, child_id, unit_id).booked[day] = (
                    queued_at[0] if queued_at else None
                )
        for famille_id, child_id, unit_id, day, present, late in (
            Attendance.objects.filter(rows, day__range=period)
            .order_by()
            .values_list("famille_id", "child_id", "unit_id", "day", "present", "late_pickup")
        ):
            if unit_id not in units:
                continue
            for slot in slots_of(famille_id, child_id, unit_id, day):
                (slot.present if present else slot.absent).add(day)
                if late:
                    slot.late_pickup.add(day)
        for child_id, first_day, last_day in Absence.objects.filter(
            rows,
            justified=True,
            first_day__lte=self.last,
            last_day__gte=self.first,
        ).values_list("child_id", "first_day", "last_day"):
            chunk.justified[child_id].append((first_day, last_day))
        child_ids = {key[0] for slots in chunk.slots.values() for key in slots}
        for pk, famille_id, first_names, last_name, birth_date in Personne.objects.filter(
            pk__in=child_ids
        ).values_list("pk", "famille_id", "first_names", "last_name", "birth_date"):
            chunk.children[pk] = _Child(
                pk, famille_id, child_name(first_names, last_name), birth_date
            )
        chunk.familles = {
            famille.pk: famille
            for famille in Famille.objects.filter(pk__in=list(chunk.slots)).order_by(
                "name", "number", "pk"
            )
        }
        for famille_id, value in (
            QuotientFamilial.objects.filter(
                famille_id__in=list(chunk.slots),
                valid_from__lte=self.first,
                valid_until__gte=self.first,
            )
            .order_by("famille_id", *QF_LATEST_FIRST)
            .values_list("famille_id", "value")
        ):
            chunk.qf.setdefault(famille_id, value)
        return chunk


class _Chunk:
    def __init__(self):
        # famille → (child, unit, share) → what happened (share: the household's part of a
        # child in shared custody under a percentage, else None)
        self.slots: dict[int, dict[tuple[int, int, Share | None], _Unit]] = defaultdict(dict)
        self.justified: dict[int, list[tuple[date, date]]] = defaultdict(list)
        self.children: dict[int, _Child] = {}
        self.familles: dict[int, Famille] = {}
        self.qf: dict[int, Decimal] = {}

    def slot(
        self, famille_id: int, child_id: int, unit_id: int, share: Share | None = None
    ) -> _Unit:
        if share is not None and share.percent_foyer is None:
            share = None  # the whole day: as any child's
        return self.slots[famille_id].setdefault((child_id, unit_id, share), _Unit())

    def is_justified(self, child_id: int, day: date) -> bool:
        return any(first <= day <= last for first, last in self.justified.get(child_id, ()))


# --- One family --------------------------------------------------------------------------------


def _ranks(children: list[_Child]) -> dict[int, int]:
    ordered = sorted(children, key=lambda c: (c.birth_date is None, c.birth_date or date.min, c.pk))
    return {child.pk: rank for rank, child in enumerate(ordered, start=1)}


@dataclass
class _Family:
    """The family's situation, and the lines and penalty events it gives."""

    data: _Month
    chunk: _Chunk
    famille: Famille
    lines: list[LineData] = field(default_factory=list)
    events: list[PenaltyEvent] = field(default_factory=list)

    def __post_init__(self):
        self.qf = self.chunk.qf.get(self.famille.pk)
        self.resident = pricing.is_resident(self.famille, self.data.commune)
        slots = self.chunk.slots[self.famille.pk]
        billed = {key[0] for key, slot in slots.items() if slot.booked or slot.present}
        self.ranks = _ranks([self.chunk.children[pk] for pk in billed])

    def day_price(self, child_id: int, unit_id: int, day: date) -> tuple[Tariff, pricing.Price]:
        tariff = self.data.tariff(unit_id, day)
        rank = self.ranks.get(child_id, 1)
        return tariff, self.data.price(tariff, qf=self.qf, resident=self.resident, rank=rank)

    def _late_booking(self, unit_id: int, day: date, queued_at: datetime | None) -> bool:
        # The deadline is only worked out where a rule would bill it.
        if (
            queued_at is None
            or self.data.rule(PenaltyKind.RESERVATION_TARDIVE, unit_id, day) is None
        ):
            return False
        return queued_at >= self.data.deadline(unit_id, day)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    def compute(self) -> None:
        slots = self.chunk.slots[self.famille.pk]
        keys = sorted(
            slots,
            key=lambda key: (
                self.ranks.get(key[0], len(self.ranks) + 1),
                self.chunk.children[key[0]].name,
                key[0],
                self.data.unit_order[key[1]],
                key[2] is not None,
            ),
        )
        for child_id, unit_id, share in keys:
            start = len(self.lines)
            self._child_unit(child_id, unit_id, slots[(child_id, unit_id, share)])
            if share is not None:
                self.lines[start:] = [_part(line, share) for line in self.lines[start:]]

    def _child_unit(self, child_id: int, unit_id: int, slot: _Unit) -> None:
        child = self.chunk.children[child_id]
        unit = self.data.units[unit_id]
        title = f"{unit_title(unit)} — {child.name}"
        common = {"child_id": child_id, "child_name": child.name, "unit_id": unit_id}
        # penalty / credit occurrences: (kind, rule pk, per occurrence) → [rule, tariff, days]
        penalties: dict[tuple, list] = {}

        def occurrence(kind: str, day: date, tariff: Tariff, price: pricing.Price) -> None:
            rule = self.data.rule(kind, unit_id, day)
            if rule is None:
                return
            amount = pricing.penalty_amount(rule, price.amount)
            if kind == PenaltyKind.ABSENCE_JUSTIFIEE:
                amount = max(amount, -price.amount)  # a day never costs less than nothing
            if amount == 0:
                return
            entry = penalties.setdefault((kind, rule.pk, amount, price.amount), [rule, tariff, []])
            entry[2].append(day)
            if kind != PenaltyKind.ABSENCE_JUSTIFIEE:
                self.events.append(
                    PenaltyEvent(
                        child_id=child_id,
                        child_name=child.name,
                        unit_id=unit_id,
                        unit_title=unit_title(unit),
                        day=day,
                        kind=kind,
                        penalty=amount,
                        price=price.amount
                        if kind == PenaltyKind.PRESENCE_SANS_RESERVATION
                        else ZERO,
                    )
                )

        booked_groups: dict[int, tuple[Tariff, pricing.Price, list[date]]] = {}
        for day in sorted(slot.booked):
            tariff, price = self.day_price(child_id, unit_id, day)
            booked_groups.setdefault(tariff.pk, (tariff, price, []))[2].append(day)
            present = day in slot.present
            if self._late_booking(unit_id, day, slot.booked[day]):
                occurrence(PenaltyKind.RESERVATION_TARDIVE, day, tariff, price)
            if not present and self.chunk.is_justified(child_id, day):
                occurrence(PenaltyKind.ABSENCE_JUSTIFIEE, day, tariff, price)
            elif day in slot.absent:
                occurrence(PenaltyKind.ABSENCE_NON_JUSTIFIEE, day, tariff, price)
        unbooked_groups: dict[int, tuple[Tariff, pricing.Price, list[date]]] = {}
        for day in sorted(slot.present - set(slot.booked)):
            tariff, price = self.day_price(child_id, unit_id, day)
            unbooked_groups.setdefault(tariff.pk, (tariff, price, []))[2].append(day)
            occurrence(PenaltyKind.PRESENCE_SANS_RESERVATION, day, tariff, price)
        for day in sorted(slot.late_pickup):
            tariff, price = self.day_price(child_id, unit_id, day)
            occurrence(PenaltyKind.RETARD_SOIR, day, tariff, price)

        for tariff, price, days in booked_groups.values():
            self.lines.append(self._prestation(title, tariff, price, days, common))
        for tariff, price, days in unbooked_groups.values():
            label = _("Présence sans réservation — %(title)s") % {"title": title}
            self.lines.append(self._prestation(label, tariff, price, days, common))
        for (kind, _pk, amount, price_amount), (rule, tariff, days) in sorted(
            penalties.items(), key=lambda item: (PENALTY_ORDER.index(item[0][0]), item[1][2][0])
        ):
            credit = kind == PenaltyKind.ABSENCE_JUSTIFIEE
            explanation = self.data.penalty_explanation(rule, price_amount)
            self.lines.append(
                LineData(
                    kind=LineKind.DEDUCTION if credit else LineKind.PENALITE,
                    label=f"{self.data.kind_label(kind)} — {title}"[:200],
                    quantity=len(days),
                    unit_price=amount,
                    amount=pricing.line_amount(len(days), amount),
                    price_label=explanation[:120],
                    explanation=explanation,
                    days=[day.isoformat() for day in days],
                    # A credit lowers the childcare costs paid; a penalty is not childcare.
                    childcare=tariff.childcare if credit else False,
                    **common,
                )
            )

    @staticmethod
    def _prestation(label, tariff, price, days, common) -> LineData:
        return LineData(
            kind=LineKind.PRESTATION,
            label=label[:200],
            quantity=len(days),
            unit_price=price.amount,
            amount=pricing.line_amount(len(days), price.amount),
            price_label=price.label[:120],
            explanation=price.explanation,
            days=[day.isoformat() for day in days],
            childcare=tariff.childcare,
            **common,
        )


def _part(line: LineData, share: Share) -> LineData:
    """A line of a child in shared custody under a percentage: the household's part of its
    amount (families.custody: the child's foyer its rounded percent, the other the rest)."""
    percent = f"{share.percent.normalize():f}".replace(".", ",")
    said = _("part de %(percent)s %% (garde partagée)") % {"percent": percent}
    line.amount = share.of(line.amount)
    line.label = f"{line.label} — {said}"[:200]
    line.explanation = f"{line.explanation} — {said}" if line.explanation else said
    return line


# --- The month ---------------------------------------------------------------------------------


def _families(data: _Month, famille_ids: list[int]) -> Iterator[_Family]:
    chunk = data.read(famille_ids)
    for famille in chunk.familles.values():
        family = _Family(data=data, chunk=chunk, famille=famille)
        family.compute()
        yield family


def _chunks(regie: Regie, month: date, famille_ids, until=None) -> Iterable[list[int]]:
    if famille_ids is None:
        famille_ids = families_to_bill(regie=regie, month=month, until=until)
    return batched(list(famille_ids), CHUNK)


def compute_month(
    *, regie: Regie, month: date, famille_ids: Iterable[int] | None = None
) -> list[FamilyBill]:
    """The bills of the month for the families the régie has something to bill (or those of
    `famille_ids`), by family name; the families with nothing to bill are left out. The
    invoices' language is French, whatever the page's."""
    data = _Month(regie, month)
    bills = []
    with translation.override("fr"):
        for ids in _chunks(regie, month, famille_ids):
            for family in _families(data, ids):
                if family.lines:
                    total = sum((line.amount for line in family.lines), ZERO)
                    if total < 0:  # credits are capped per day: cannot happen
                        raise ValueError(f"negative total for famille {family.famille.pk}")
                    bills.append(
                        FamilyBill(famille=family.famille, lines=family.lines, total=total)
                    )
    return bills


def penalty_events(
    *, regie: Regie, month: date, until: date | None = None, famille_ids=None
) -> list[tuple[Famille, list[PenaltyEvent]]]:
    """The families whose children have, in the month up to `until`, a situation that a rule
    in force will bill (presence without booking, unjustified absence, late pick-up, late
    booking), with those occurrences by child, unit and day."""
    data = _Month(regie, month, until=until)
    found = []
    with translation.override("fr"):
        for ids in _chunks(regie, month, famille_ids, until=until):
            for family in _families(data, ids):
                if family.events:
                    events = sorted(
                        family.events,
                        key=lambda e: (e.day, data.unit_order[e.unit_id], e.child_name),
                    )
                    found.append((family.famille, events))
    return found
