"""Statistics per procedure at the guichet (issue 21 §8): requests filed per month (Paris time), by
status, and the median processing time (filed → final decision: accepted or refused), scoped like
the queue (the commune in the URL and the services the agent's roles cover; the administrator sees
every procedure of the commune). Drafts are never counted.

A bounded number of queries whatever the number of requests: the procedures (1), the counts by
procedure and status (1, in SQL), the counts by month (1, in SQL) and the processing times of the
decided requests (1: the durations, computed by the database; the median is taken from them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import TruncMonth

from parvis.accounts.agents import Agent
from parvis.communes.models import Commune
from parvis.demarches.guichet.selectors_demandes import (
    QUEUE_STATUSES,
    visible_demandes,
    visible_procedures,
)
from parvis.demarches.models import Procedure, Status

PARIS = ZoneInfo("Europe/Paris")
MONTHS = 12
# A final decision, for the processing time: « classée sans suite » decides nothing.
DECISIONS = (Status.ACCEPTEE, Status.REFUSEE)


@dataclass
class ProcedureStats:
    procedure: Procedure | None  # None: every procedure the agent sees
    by_status: dict[str, int] = field(default_factory=dict)
    durations: list[timedelta] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def statuses(self) -> list[int]:
        """The counts in the order of QUEUE_STATUSES (the table's columns)."""
        return [self.by_status.get(status, 0) for status in QUEUE_STATUSES]

    @property
    def decided(self) -> int:
        return len(self.durations)

    @property
    def median(self) -> timedelta | None:
        return median(sorted(self.durations)) if self.durations else None


@dataclass
class MonthCount:
    month: date  # the first day of the month
    count: int


@dataclass
class Statistics:
    procedures: list[ProcedureStats]
    overall: ProcedureStats
    chosen: Procedure | None
    months: list[MonthCount]

    @property
    def month_max(self) -> int:
        return max((row.count for row in self.months), default=0)


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first days of the `count` months ending with `today`'s, oldest first."""
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def procedures_for(commune: Commune, agent: Agent) -> list[Procedure]:
    return list(visible_procedures(commune, agent).only("pk", "title", "slug"))


def statistics(
    commune: Commune,
    agent: Agent,
    *,
    procedures: list[Procedure],
    chosen: Procedure | None,
    today: date,
) -> Statistics:
    """The counts of every procedure in `procedures` (the agent's, from `procedures_for`), and the
    months of `chosen` (or of them all)."""
    demandes: QuerySet = visible_demandes(commune, agent).filter(submitted_at__isnull=False)
    rows = {procedure.pk: ProcedureStats(procedure) for procedure in procedures}
    overall = ProcedureStats(None)
    counts = demandes.values("procedure_id", "status").annotate(n=Count("pk")).order_by()
    for row in counts:
        stats = rows.get(row["procedure_id"])
        if stats is None:
            continue
        stats.by_status[row["status"]] = row["n"]
        overall.by_status[row["status"]] = overall.by_status.get(row["status"], 0) + row["n"]
    durations = (
        demandes.filter(status__in=DECISIONS, closed_at__isnull=False)
        .annotate(
            took=ExpressionWrapper(F("closed_at") - F("submitted_at"), output_field=DurationField())
        )
        .values_list("procedure_id", "took")
    )
    for procedure_id, took in durations:
        stats = rows.get(procedure_id)
        if stats is None:
            continue
        stats.durations.append(took)
        overall.durations.append(took)
    starts = month_starts(today)
    first = datetime.combine(starts[0], datetime.min.time(), tzinfo=PARIS)
    filed = demandes.filter(submitted_at__gte=first, procedure_id__in=list(rows))
    if chosen is not None:
        filed = filed.filter(procedure=chosen)
    by_month = {
        row["month"].date() if isinstance(row["month"], datetime) else row["month"]: row["n"]
        for row in filed.annotate(month=TruncMonth("submitted_at", tzinfo=PARIS))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    }
    return Statistics(
        procedures=list(rows.values()),
        overall=overall,
        chosen=chosen,
        months=[MonthCount(start, by_month.get(start, 0)) for start in starts],
    )
