"""Shared custody (« garde partagée »): who pays a child's day, by the rule an agent recorded
(families.SharedCustody). Pure functions, no query: billing reads the rules once per month
(activities.custody.plans) and asks here for each day.

- A week runs Monday to Sunday: the Sunday belongs to the week it ends, the Monday after starts
  the next one (the day custody changes hands).
- « Semaines paires »: the even ISO weeks go to `first_side`, the odd ones to the other side
  (a 53-week year gives two odd weeks in a row, as the calendar does).
- « Une semaine sur deux »: the week of `start_week` and every second week from it (before it
  too) go to `first_side`.
- Holidays change nothing: a holiday week is a week like any other.
- « Par activité »: each activity's side, `first_side` for the others.
- « Pourcentage »: both sides pay their part of every amount: the child's foyer
  `percent_foyer` % rounded half up to the cent, the other side the rest, so the two parts of
  one amount always add up to it exactly.
- Before `since`, the child's foyer pays everything (as before the decision)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from parvis.communes.dates import monday_of
from parvis.families.models import CustodyRule, CustodySide
from parvis.money import CENT

HUNDRED = Decimal(100)


def other_side(side: str) -> str:
    return CustodySide.AUTRE if side == CustodySide.FOYER else CustodySide.FOYER


def foyer_part(amount: Decimal, percent_foyer: Decimal) -> Decimal:
    """The child's foyer's part of `amount`: its percent, rounded half up to the cent (a
    negative amount, a credit, is split the same way)."""
    part = (abs(amount) * percent_foyer / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return part if amount >= 0 else -part


def part_of(amount: Decimal, *, side: str, percent_foyer: Decimal) -> Decimal:
    """`side`'s part of `amount`: the foyer's rounded percent, the other side the rest."""
    foyer = foyer_part(amount, percent_foyer)
    return foyer if side == CustodySide.FOYER else amount - foyer


@dataclass(frozen=True)
class Share:
    """What one household pays of a child's day: all of it (percent None) or its part."""

    famille_id: int
    side: str
    percent_foyer: Decimal | None = None

    @property
    def percent(self) -> Decimal | None:
        """This side's percent (None: all of it)."""
        if self.percent_foyer is None:
            return None
        if self.side == CustodySide.FOYER:
            return self.percent_foyer
        return HUNDRED - self.percent_foyer

    def of(self, amount: Decimal) -> Decimal:
        if self.percent_foyer is None:
            return amount
        return part_of(amount, side=self.side, percent_foyer=self.percent_foyer)


@dataclass(frozen=True)
class Plan:
    """A child's custody rule, as billing and the booking screen use it."""

    child_id: int
    foyer_id: int  # the family of the child's row
    other_id: int
    rule: str
    first_side: str = CustodySide.FOYER
    start_week: date | None = None
    percent_foyer: Decimal | None = None
    since: date = date.min
    activity_sides: dict[int, str] = field(default_factory=dict)

    def famille_of(self, side: str) -> int:
        return self.foyer_id if side == CustodySide.FOYER else self.other_id

    def week_side(self, day: date) -> str:
        """Whose week `day` is in (alternating rules)."""
        monday = monday_of(day)
        if self.rule == CustodyRule.SEMAINES_PAIRES:
            even = monday.isocalendar().week % 2 == 0
        else:
            start = monday_of(self.start_week or self.since)
            even = ((monday - start).days // 7) % 2 == 0
        return self.first_side if even else other_side(self.first_side)

    def shares(self, day: date, activity_id: int) -> tuple[Share, ...]:
        """Who pays the child's `day` of `activity_id`, and how much of it."""
        if day < self.since:
            return (Share(self.foyer_id, CustodySide.FOYER),)
        if self.rule == CustodyRule.POURCENTAGE:
            percent = self.percent_foyer if self.percent_foyer is not None else HUNDRED
            return (
                Share(self.foyer_id, CustodySide.FOYER, percent),
                Share(self.other_id, CustodySide.AUTRE, percent),
            )
        if self.rule == CustodyRule.PAR_ACTIVITE:
            side = self.activity_sides.get(activity_id, self.first_side)
        else:
            side = self.week_side(day)
        return (Share(self.famille_of(side), side),)

    def payers(self, day: date, activity_id: int) -> set[int]:
        return {share.famille_id for share in self.shares(day, activity_id)}
