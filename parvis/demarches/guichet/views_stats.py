"""The agents' statistics per procedure (issue 21 §8), under /<commune>/guichet/statistiques/:
for each procedure of the agent's services, the requests by status and the median processing time
(filed → accepted or refused), and the requests filed per month over a year, as a table with a
bar chart drawn from it (the table is the source; the chart is hidden from screen readers).

Thin view: the reads are `selectors_stats` (a bounded number of queries, scoped to the commune
and the agent's services)."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from parvis.accounts.agents import agent_required
from parvis.demarches.guichet import selectors_stats as selectors
from parvis.demarches.guichet.selectors_demandes import QUEUE_STATUSES
from parvis.demarches.models import Status

SECTION = "backoffice:demandes"  # the navigation entry of the requests
CHART_WIDTH, CHART_HEIGHT, BAR_AREA = 600, 200, 150


def duration_text(value: timedelta | None) -> str:
    """« 2 jours 4 h », « 3 h 05 », « 12 min »; « — » without any decided request."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        text = ngettext("%(days)s jour", "%(days)s jours", days) % {"days": days}
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"
    return _("%(minutes)s min") % {"minutes": minutes}


def chart(months: list[selectors.MonthCount], top: int) -> list[dict]:
    """The bars of the chart (SVG attributes, no inline style: the CSP forbids them)."""
    slot = CHART_WIDTH // max(len(months), 1)
    bars = []
    for index, row in enumerate(months):
        height = round(BAR_AREA * row.count / top) if top else 0
        bars.append(
            {
                "x": index * slot + 6,
                "width": slot - 12,
                "y": 20 + BAR_AREA - height,
                "height": height,
                "count": row.count,
                "count_y": 20 + BAR_AREA - height - 4,
                "label_x": index * slot + slot // 2,
                "label": date_format(row.month, "M"),
            }
        )
    return bars


@agent_required
@require_GET
def statistiques(request):
    procedures = selectors.procedures_for(request.commune, request.agent)
    chosen = None
    asked = request.GET.get("demarche", "")
    if asked:
        chosen = next((p for p in procedures if str(p.pk) == asked), None)
        if chosen is None:
            raise Http404
    stats = selectors.statistics(
        request.commune,
        request.agent,
        procedures=procedures,
        chosen=chosen,
        today=timezone.localdate(),
    )
    labels = dict(Status.choices)
    return render(
        request,
        "demarches/guichet/statistiques.html",
        {
            "stats": stats,
            "status_labels": [labels[status] for status in QUEUE_STATUSES],
            "rows": [(row, duration_text(row.median)) for row in stats.procedures],
            "overall_median": duration_text(stats.overall.median),
            "bars": chart(stats.months, stats.month_max),
            "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT,
            "months_total": sum(row.count for row in stats.months),
            "current_section": SECTION,
        },
    )
