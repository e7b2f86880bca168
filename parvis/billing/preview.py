"""The price of a reservation basket before « Valider » (PRODUCT.md « beyond every peer » #3):
for each month the basket touches, what the added and cancelled days cost at the family's QF,
the month's booked amount before and after, and any surcharge the changes would cause.

Registered in activities' basket by BillingConfig.ready() (parvis.activities.pricing_hooks):
activities never import billing. Read-only, a constant number of queries whatever the basket's
size and months (régies, bookings, tariffs, brackets, QFs, children, penalty rules; the régies
alone when none bills the basket's activities).

The rules are the invoice's (billing.invoicing), applied with the functions of billing.pricing,
never a second formula:
- a day is billed when its unit's activity is billed by a régie and a tariff of the unit is in
  force on that day (pricing.tariff_in_force); otherwise the preview says « tarif non défini »
  and leaves the day out of every sum;
- the QF is the one valid on the month's first day; none (or expired): the highest price, said
  « quotient familial inconnu : tarif le plus élevé »; residence from the family's address
  (pricing.is_resident);
- the sibling rank, for the sibling discounts: the family's children with a booked day in the
  same régie and month, oldest first (birth date, unknown last, then the record's order),
  as billing.invoicing ranks them (without the presences of the registers). It is worked out
  before and after the basket, so the day of another child whose discount the basket changes
  shows as « Autres jours réservés du mois »;
- lines per child × unit × unit price, each rounded once (pricing.line_amount);
- the days counted are those booked or awaiting the service's decision (counted as if
  accepted: the note says so); a day added on a full unit goes to the waiting list and is not
  billed unless a seat is given;
- surcharges: a day added after its booking deadline is billed the « Réservation tardive » rule
  in force, as the invoice bills a booking made after its deadline. The families' « Valider »
  refuses such a day today (activities.services.why_not_bookable), so from the basket pages it
  never shows; a cancellation is only possible before its deadline and leaves nothing billed,
  so it causes no surcharge."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parvis.activities.calendar import is_working_day
from parvis.activities.models import Activity, BookingStatus, Reservation, Unit
from parvis.activities.rules import is_open_at, moment
from parvis.billing.models import (
    PenaltyKind,
    PenaltyRule,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
)
from parvis.billing.pricing import (
    Price,
    is_resident,
    line_amount,
    money,
    penalty_amount,
    penalty_explanation,
    penalty_rule_in_force,
    tariff_in_force,
    unit_price,
)
from parvis.communes.dates import first_of_month, month_bounds
from parvis.communes.prepared import Prepared
from parvis.families.models import MemberKind, Personne, QuotientFamilial
from parvis.families.services import QF_LATEST_FIRST
from parvis.money import ZERO

# What the preview counts as billed: booked, or awaiting the service's decision (as if accepted).
BILLED_STATUSES = (BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE)

Key = tuple[int, int, date]  # (child id, unit id, day)

ADDED, REMOVED, WAITING, UNPRICED, SURCHARGE, OTHERS = (
    "ajout", "retrait", "attente", "non_tarife", "majoration", "autres",
)  # fmt: skip


def signed(amount: Decimal) -> str:
    """« +8,85 € », « −2,95 € » (a minus sign, read « moins »), « 0,00 € »."""
    if amount > 0:
        return f"+{money(amount)}"
    if amount < 0:
        return f"\u2212{money(-amount)}"
    return money(amount)


@dataclass
class PreviewLine:
    """One line of a month's estimate, said in words (never by colour alone)."""

    kind: str  # ADDED, REMOVED, WAITING, UNPRICED, SURCHARGE, OTHERS
    child: str
    unit: str
    days: int
    unit_price: Decimal | None
    price_label: str  # the bracket or rule: « QF de 700 € à 899,99 € », « tarif unique »
    explanation: str  # pricing's reasoning, one sentence
    amount: Decimal | None  # signed; None: not counted

    @property
    def amount_text(self) -> str:
        return signed(self.amount) if self.amount is not None else ""

    @property
    def text(self) -> str:
        values = {"count": self.days, "price": money(self.unit_price or ZERO)}
        if self.kind == ADDED:
            return ngettext(
                "%(count)s jour ajouté à %(price)s", "%(count)s jours ajoutés à %(price)s",
                self.days,
            ) % values  # fmt: skip
        if self.kind == REMOVED:
            return ngettext(
                "%(count)s jour annulé à %(price)s", "%(count)s jours annulés à %(price)s",
                self.days,
            ) % values  # fmt: skip
        if self.kind == WAITING:
            return (
                ngettext(
                    "%(count)s jour en liste d'attente : facturé seulement si une place vous est "
                    "attribuée",
                    "%(count)s jours en liste d'attente : facturés seulement si une place vous est "
                    "attribuée",
                    self.days,
                )
                % values
            )
        if self.kind == UNPRICED:
            return (
                ngettext(
                    "%(count)s jour : tarif non défini, non compté",
                    "%(count)s jours : tarif non défini, non comptés",
                    self.days,
                )
                % values
            )
        if self.kind == SURCHARGE:
            return ngettext(
                "%(count)s réservation après la date limite", "%(count)s réservations après la "
                "date limite", self.days,
            ) % values  # fmt: skip
        return _(
            "Autres jours réservés du mois : la réduction pour frères et sœurs change avec ce "
            "panier"
        )


@dataclass
class MonthPreview:
    month: date  # its first day
    before: Decimal  # the month's booked amount without the basket
    after: Decimal  # with it (and its surcharges)
    lines: list[PreviewLine] = field(default_factory=list)
    qf: Decimal | None = None
    qf_used: bool = False  # a price of the basket depends on the QF

    @property
    def label(self) -> str:
        return date_format(self.month, "F Y")

    @property
    def change(self) -> Decimal:
        return self.after - self.before

    @property
    def summary(self) -> str:
        """The only line's words when there is one (« 3 jours ajoutés à 2,95 € »), else ""."""
        if len(self.lines) == 1 and self.lines[0].amount is not None:
            return self.lines[0].text
        return ""

    @property
    def change_text(self) -> str:
        return signed(self.change)

    @property
    def before_text(self) -> str:
        return money(self.before)

    @property
    def after_text(self) -> str:
        return money(self.after)

    @property
    def qf_text(self) -> str:
        if not self.qf_used:
            return ""
        if self.qf is None:
            return _("quotient familial inconnu : tarif le plus élevé")
        return _("quotient familial de %(qf)s au 1er %(month)s") % {
            "qf": money(self.qf),
            "month": self.label,
        }


@dataclass
class BasketPreview:
    """What the basket prints before « Valider »: a section per family, a list per month."""

    famille_id: int
    months: list[MonthPreview]
    resident: bool
    pending: bool  # some added days await the service's decision

    @property
    def ident(self) -> str:
        return f"apercu-prix-{self.famille_id}"

    def __html__(self) -> str:
        return render_to_string("billing/includes/apercu_prix.html", {"preview": self})

    def __str__(self) -> str:
        return self.__html__()


# --- Reading, in a constant number of queries --------------------------------------------------


@dataclass
class _Data:
    units: dict[int, Unit]  # the basket's units, with their activity
    activity_of: dict[int, int]  # unit id → activity id, of the basket's and the booked units
    regie_of: dict[int, int]  # activity id → régie id
    tariffs: dict[int, list[Tariff]]  # unit id → its tariffs
    brackets: dict[int, list]  # tariff id → its brackets
    booked: dict[Key, str]  # the family's bookings of the months read → status
    quotients: list[QuotientFamilial]
    birth: dict[int, tuple]  # child id → its order among the siblings
    rules: list[PenaltyRule]
    resident: bool


# The preview's reads, their SQL compiled once per thread (parvis.communes.prepared, issue 23):
# the ORM compiled them on every basket page (about 1 ms of CPU, more than the queries). The
# commune is the scope's (each commune table's manager, the joins' commune_id = commune_id),
# never named here: a statement compiled for one commune runs for the next with its own id.
_REGIES = Prepared(lambda: RegieActivity.objects.values_list("activity_id", "regie_id"))
_ACTIVITIES = Prepared(lambda ids: Activity.objects.filter(pk__in=ids))
_BOOKED = Prepared(
    lambda famille_id, start, end: Reservation.objects.filter(
        famille_id=famille_id, day__range=(start, end), status__in=BILLED_STATUSES
    ).values_list("child_id", "unit_id", "day", "status", "unit__activity_id")
)
_TARIFFS = Prepared(lambda unit_ids: Tariff.objects.filter(unit_id__in=unit_ids))
# A tariff's brackets by their lower bound (unique in a tariff): each tariff's list in the order
# of `tariff.brackets.all()`, without the join of TariffBracket.Meta.ordering's "tariff".
_BRACKETS = Prepared(
    lambda tariff_ids: TariffBracket.objects.filter(tariff_id__in=tariff_ids).order_by(
        "tariff_id", "qf_min"
    )
)
_QUOTIENTS = Prepared(
    lambda famille_id, last, first: QuotientFamilial.objects.filter(
        famille_id=famille_id, valid_from__lte=last, valid_until__gte=first
    ).order_by(*QF_LATEST_FIRST)
)
_BIRTHS = Prepared(
    lambda famille_id, shared: Personne.objects.filter(
        Q(famille_id=famille_id, kind=MemberKind.ENFANT) | Q(pk__in=shared)
    ).values_list("pk", "birth_date")
)
_LATE_RULES = Prepared(lambda: PenaltyRule.objects.filter(kind=PenaltyKind.RESERVATION_TARDIVE))


def _read(*, famille, commune, changes, months) -> _Data | None:
    """The régies first (one small query: the commune's activities billed), so that a basket of
    activities billed by no régie costs one query; the basket's units are those of the changes
    (with their activity, which the pages have: Activity read only for those without). Each
    read is `commune`'s, compiled once (the Prepared statements above)."""
    scope = commune.pk
    regie_of = dict(_REGIES.all(commune_id=scope))
    units = {c.unit.pk: c.unit for c in changes if c.unit.commune_id == scope}
    if not any(unit.activity_id in regie_of for unit in units.values()):
        return None  # these units are not billed here: nothing to say
    unloaded = [unit for unit in units.values() if not Unit.activity.is_cached(unit)]
    if unloaded:
        ids = tuple(sorted({unit.activity_id for unit in unloaded}))
        activities = {a.pk: a for a in _ACTIVITIES.all(ids, commune_id=scope)}
        for unit in unloaded:
            unit.activity = activities[unit.activity_id]
    start, end = months[0], month_bounds(months[-1])[1]
    booked = {}
    activity_of = {unit_id: unit.activity_id for unit_id, unit in units.items()}
    for child_id, unit_id, day, status, activity_id in _BOOKED.all(
        famille.pk, start, end, commune_id=scope
    ):
        booked[(child_id, unit_id, day)] = status
        activity_of.setdefault(unit_id, activity_id)
    tariffs = defaultdict(list)
    brackets = {}
    for tariff in _TARIFFS.all(tuple(sorted(activity_of)), commune_id=scope):
        tariffs[tariff.unit_id].append(tariff)
        brackets[tariff.pk] = []
    if brackets:
        for bracket in _BRACKETS.all(tuple(sorted(brackets)), commune_id=scope):
            brackets[bracket.tariff_id].append(bracket)
    if not any(
        c.unit.pk in units and c.unit.activity_id in regie_of and tariffs[c.unit.pk]
        for c in changes
    ):
        return None  # these units are not billed here: nothing to say
    quotients = _QUOTIENTS.all(famille.pk, months[-1], months[0], commune_id=scope)
    # The household's children and the shared children it books (their file is the other
    # household's): the sibling ranking is by birth date among them all, as on the invoice.
    shared = {child for child, _u, _d in booked} | {change.child.pk for change in changes}
    birth = {
        pk: (birth_date is None, birth_date or date.min, pk)
        for pk, birth_date in _BIRTHS.all(famille.pk, tuple(sorted(shared)), commune_id=scope)
    }
    late = any(c.added for c in changes)
    rules = _LATE_RULES.all(commune_id=scope) if late else []
    return _Data(
        units=units, activity_of=activity_of, regie_of=regie_of, tariffs=tariffs,
        brackets=brackets, booked=booked, quotients=quotients, birth=birth, rules=rules,
        resident=is_resident(famille, commune),
    )  # fmt: skip


# --- Pricing a month ---------------------------------------------------------------------------


class _Month:
    """The prices of one month's days for the family, for a set of billed days (before or
    after the basket)."""

    def __init__(self, data: _Data, month: date, days: set[Key]):
        self.data, self.month = data, month
        quotient = next((q for q in data.quotients if q.valid_from <= month <= q.valid_until), None)
        self.qf = quotient.value if quotient is not None else None
        self.qf_used = False
        self.tariff = {key: self._tariff(key) for key in days}
        # The sibling rank, per régie: children with a booked day of the régie this month.
        children = defaultdict(set)
        for child_id, unit_id, _day in days:
            regie = self._regie(unit_id)
            if regie is not None:
                children[regie].add(child_id)
        self.ranks = {
            (regie, child_id): rank
            for regie, ids in children.items()
            for rank, child_id in enumerate(
                sorted(ids, key=lambda pk: data.birth.get(pk, (True, date.max, pk))), start=1
            )
        }
        self._prices: dict = {}

    def _regie(self, unit_id: int) -> int | None:
        activity_id = self.data.activity_of.get(unit_id)
        return self.data.regie_of.get(activity_id) if activity_id is not None else None

    def _tariff(self, key: Key) -> Tariff | None:
        _child, unit_id, day = key
        if self._regie(unit_id) is None:
            return None
        try:
            return tariff_in_force(self.data.tariffs.get(unit_id, []), day)
        except ValueError:
            return None

    def price(self, key: Key) -> Price | None:
        """The unit price of a day (None: no tariff in force, or a tariff pricing cannot use:
        never a guess)."""
        tariff = self.tariff[key] if key in self.tariff else self._tariff(key)
        if tariff is None:
            return None
        child_id, unit_id, _day = key
        rank = self.ranks.get((self._regie(unit_id), child_id), 1)
        cache_key = (tariff.pk, rank)
        if cache_key not in self._prices:
            try:
                self._prices[cache_key] = unit_price(
                    tariff=tariff,
                    brackets=self.data.brackets.get(tariff.pk, []),
                    qf=self.qf,
                    resident=self.data.resident,
                    sibling_rank=rank,
                )
            except ValueError:
                self._prices[cache_key] = None
        price = self._prices[cache_key]
        if price is not None and tariff.kind != TariffKind.FLAT:
            self.qf_used = self.qf_used or not (
                not self.data.resident and tariff.non_resident_price is not None
            )
        return price

    def total(self) -> Decimal:
        """The month's booked amount: a line per child × unit × unit price, each rounded."""
        counts = defaultdict(int)
        for key in self.tariff:
            price = self.price(key)
            if price is not None:
                counts[(key[0], key[1], price.amount)] += 1
        return sum((line_amount(count, amount) for (_c, _u, amount), count in counts.items()), ZERO)


def _name(child) -> str:
    return f"{child.first_names} {child.last_name}"


def _grouped(keys: list[Key], month: _Month | None, changes: dict, kind: str) -> list:
    """The changes of `kind` as lines per child × unit × unit price (per child × unit for the
    waiting list, which has no price)."""
    groups: dict = defaultdict(list)
    for key in keys:
        price = month.price(key) if month is not None else None
        groups[(key[0], key[1], price)].append(key)
    lines = []
    for (_child, _unit, price), found in groups.items():
        change = changes[found[0]]
        line = PreviewLine(
            kind=kind if price is not None or kind == WAITING else UNPRICED,
            child=_name(change.child),
            unit=change.unit.label, days=len(found), unit_price=None, price_label="",
            explanation="", amount=None,
        )  # fmt: skip
        if price is not None:
            sign = 1 if kind == ADDED else -1
            line.unit_price, line.price_label = price.amount, price.label
            line.explanation = price.explanation
            line.amount = line_amount(len(found), sign * price.amount)
        lines.append(line)
    return lines


def _surcharges(keys: list[Key], month: _Month, changes: dict, now: datetime) -> list:
    """« Réservation tardive » for the added days past their booking deadline at `now`, per
    child × unit × rule × amount."""
    data = month.data
    if not data.rules:
        return []
    groups: dict = defaultdict(list)
    for key in keys:
        unit, price = data.units.get(key[1]), month.price(key)
        if unit is None or price is None:
            continue
        activity = unit.activity
        deadline = moment(
            activity.booking_deadline, key[2], starts_at=unit.starts_at,
            is_working_day=is_working_day,
        )  # fmt: skip
        if is_open_at(now, deadline):
            continue
        rule = penalty_rule_in_force(
            data.rules, kind=PenaltyKind.RESERVATION_TARDIVE, activity_id=activity.pk, day=key[2]
        )
        if rule is not None:
            each = penalty_amount(rule, price.amount)
            groups[(key[0], key[1], rule.pk, each)].append((key, rule, price))
    lines = []
    for (_child, _unit, _rule, each), found in groups.items():
        key, rule, price = found[0]
        change = changes[key]
        lines.append(
            PreviewLine(
                kind=SURCHARGE, child=_name(change.child), unit=change.unit.label,
                days=len(found), unit_price=each, price_label=str(rule.get_kind_display()),
                explanation=penalty_explanation(rule, price.amount),
                amount=line_amount(len(found), each),
            )
        )  # fmt: skip
    return lines


def basket_preview(*, famille, commune, changes, now: datetime) -> BasketPreview | None:
    """The estimate of `changes` (activities.pricing_hooks.BasketChange) for `famille`, month by
    month; None when none of their units is billed (no régie or no tariff)."""
    changes = [c for c in changes if c.child.famille_id == famille.pk]
    if not changes:
        return None
    months = sorted({first_of_month(c.day) for c in changes})
    data = _read(famille=famille, commune=commune, changes=changes, months=months)
    if data is None:
        return None
    result = []
    pending = False
    for first in months:
        in_month = sorted(
            (c for c in changes if first_of_month(c.day) == first),
            key=lambda c: (data.birth.get(c.child.pk, (True, date.max, c.child.pk)),
                           c.unit.activity_id, c.unit.position, c.unit.pk, c.day),
        )  # fmt: skip
        booked = {key for key in data.booked if first_of_month(key[2]) == first}
        by_key = {(c.child.pk, c.unit.pk, c.day): c for c in in_month}
        added = [k for k, c in by_key.items() if c.added and not c.full and k not in booked]
        waiting = [k for k, c in by_key.items() if c.added and c.full and k not in booked]
        removed = [k for k, c in by_key.items() if not c.added and k in booked]
        before = _Month(data, first, booked)
        after = _Month(data, first, (booked - set(removed)) | set(added))
        lines = _grouped(added, after, by_key, ADDED) + _grouped(removed, before, by_key, REMOVED)
        surcharges = _surcharges(added, after, by_key, now)
        lines += surcharges
        lines += _grouped(waiting, None, by_key, WAITING)
        before_total = before.total()
        after_total = after.total() + sum((line.amount for line in surcharges), ZERO)
        others = (after_total - before_total) - sum(
            (line.amount for line in lines if line.amount is not None), ZERO
        )
        if others:
            lines.append(
                PreviewLine(
                    kind=OTHERS, child="", unit="", days=0, unit_price=None, price_label="",
                    explanation="", amount=others,
                )
            )  # fmt: skip
        pending = pending or any(
            data.units[k[1]].activity.needs_instruction for k in added if k[1] in data.units
        )
        result.append(
            MonthPreview(
                month=first, before=before_total, after=after_total, lines=lines,
                qf=after.qf, qf_used=before.qf_used or after.qf_used,
            )
        )  # fmt: skip
    return BasketPreview(
        famille_id=famille.pk, months=result, resident=data.resident, pending=pending
    )
