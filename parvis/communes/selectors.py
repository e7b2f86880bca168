"""Reads of commune data, always scoped to one commune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from parvis.communes import hours, rgaa
from parvis.communes.models import Actualite, Closure, Commune, OpeningRange, Service
from parvis.communes.prepared import Prepared
from parvis.ids import parse_id


def active_communes() -> QuerySet[Commune]:
    return Commune.objects.filter(is_active=True).order_by("name")


# The commune of every page's URL: its SQL written once (parvis.communes.prepared).
_COMMUNE_BY_SLUG = Prepared(lambda slug: Commune.objects.filter(is_active=True, slug=slug))


def commune_by_slug(slug: str) -> Commune | None:
    return _COMMUNE_BY_SLUG.first(slug)


def published_news(commune: Commune, *, now: datetime | None = None) -> QuerySet[Actualite]:
    now = now or timezone.now()
    return (
        Actualite.objects.filter(commune=commune, published_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-published_at", "-id")
    )


def news_item(commune: Commune, reference: str, *, now: datetime | None = None) -> Actualite:
    """A published news item of `commune` by id or slug; 404 for anything else, including
    another commune's item."""
    news = published_news(commune, now=now)
    pk = parse_id(reference)
    lookup = {"pk": pk} if pk is not None else {"slug": reference}
    return get_object_or_404(news, **lookup)


@dataclass(frozen=True)
class PlaceHours:
    """The hours of one place (the Hôtel de Ville or a service) and whether it is open now."""

    table: list[hours.DayHours]
    status: hours.OpeningStatus
    status_label: str
    same_as_town_hall: bool = False


@dataclass(frozen=True)
class ServiceInfo:
    service: Service
    hours: PlaceHours


@dataclass(frozen=True)
class PracticalInfo:
    town_hall: PlaceHours
    services: list[ServiceInfo]
    upcoming_closures: list[Closure]


def _place_hours(ranges, closures, now, *, same_as_town_hall=False) -> PlaceHours:
    status = hours.opening_status(ranges, closures, now)
    return PlaceHours(
        table=hours.week_table(ranges),
        status=status,
        status_label=hours.status_label(status, now),
        same_as_town_hall=same_as_town_hall,
    )


def practical_info(commune: Commune, *, now: datetime | None = None) -> PracticalInfo:
    """Everything « Infos pratiques » shows, in three queries whatever the number of services."""
    now = now or timezone.now()
    today = now.astimezone(hours.PARIS).date()
    services = list(Service.objects.filter(commune=commune).order_by("position", "name"))
    ranges = list(OpeningRange.objects.filter(commune=commune))
    closures = list(
        Closure.objects.filter(commune=commune, end__gte=today)
        .select_related("service")
        .order_by("start")
    )

    town_ranges = [r.as_range() for r in ranges if r.service_id is None]
    town_closures = [c.as_closed() for c in closures if c.service_id is None]
    infos = []
    for service in services:
        own = [r.as_range() for r in ranges if r.service_id == service.pk]
        service_closures = town_closures + [
            c.as_closed() for c in closures if c.service_id == service.pk
        ]
        infos.append(
            ServiceInfo(
                service=service,
                hours=_place_hours(
                    own or town_ranges, service_closures, now, same_as_town_hall=not own
                ),
            )
        )
    return PracticalInfo(
        town_hall=_place_hours(town_ranges, town_closures, now),
        services=infos,
        upcoming_closures=closures,
    )


def town_hall_hours(commune: Commune, *, now: datetime | None = None) -> PlaceHours:
    now = now or timezone.now()
    today = now.astimezone(hours.PARIS).date()
    ranges = [
        r.as_range() for r in OpeningRange.objects.filter(commune=commune, service__isnull=True)
    ]
    closures = [
        c.as_closed()
        for c in Closure.objects.filter(commune=commune, service__isnull=True, end__gte=today)
    ]
    return _place_hours(ranges, closures, now)


@dataclass(frozen=True)
class AccessibilityStatement:
    """What the accessibility statement of `commune` says (RGAA 4.1's model of a statement)."""

    commune: Commune
    status: str  # the label: « non conforme », « partiellement conforme »…
    audited: bool
    audit_rate: str | None  # « 82,5 % » when audited
    self_assessment_rate: str  # the grid's rate, always given as information
    self_assessment_counts: dict[str, int]  # {"C": …, "NC": …, "NA": …}
    statement_date: date
    assessed_on: date
    sample: list[tuple[str, str]]  # [(label, path under the commune), …]
    non_conformes: list[rgaa.Criterion]
    plan_url: str


def accessibility_statement(commune: Commune) -> AccessibilityStatement:
    grid = rgaa.GRID
    statuses = [criterion.status for criterion in grid]
    audited = commune.has_accessibility_audit
    statement_date = commune.accessibility_statement_date or (
        commune.accessibility_audit_date if audited else rgaa.ASSESSED_ON
    )
    return AccessibilityStatement(
        commune=commune,
        status=commune.accessibility_status.label,
        audited=audited,
        audit_rate=rgaa.format_rate(commune.accessibility_audit_rate) if audited else None,
        self_assessment_rate=rgaa.format_rate(rgaa.compliance_rate(grid)),
        self_assessment_counts={key: statuses.count(key) for key in rgaa.STATUS_LABELS},
        statement_date=statement_date,
        assessed_on=rgaa.ASSESSED_ON,
        sample=[(label, path) for label, path in rgaa.SAMPLE.values()],
        non_conformes=[criterion for criterion in grid if criterion.status == rgaa.NON_CONFORME],
        plan_url=commune.accessibility_plan_url,
    )
