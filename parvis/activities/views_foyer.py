"""The household grid (« Toutes les réservations du foyer »): every child and unit on one page,
for a month, a quarter or the school year; « Copier la semaine » and « Appliquer un modèle de
semaine »; then the basket of every change, grouped by child and activity, « Valider » (one
transaction for all) and the confirmation, also e-mailed.

As the one-child calendar (views.py): thin views, reads through selectors_foyer (only the
account's own children, only this commune's activities), the write through
services_foyer.validate_household_basket, nothing saved before « Valider ». The grid carries its
changes in its form — the period shown as checkboxes, the other periods' as hidden fields — so
the tools and « précédent / suivant » work without JavaScript and lose nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.activities import form_painter, selectors_foyer
from parvis.activities.forms import MODIFY
from parvis.activities.forms_foyer import (
    COPY,
    GO,
    PATTERN,
    CopyWeekForm,
    PatternForm,
    read_period,
    read_post,
)
from parvis.activities.painter import Painter
from parvis.activities.pricing_hooks import basket_prices, changes_of
from parvis.activities.selectors import opening_week
from parvis.activities.services_foyer import (
    ChildBasket,
    HouseholdBasketRefused,
    validate_household_basket,
)
from parvis.activities.views import SECTION, _line
from parvis.communes.dates import monday_of
from parvis.communes.links import urls_if_exist

SUMMARY_KEY = "activities_foyer_summary"
# The pages' own addresses, reversed once per process for a commune (communes.links): a
# {% url %} cost 23-50 µs, the grid has four.
PAGES = (
    ("foyer", "activities:foyer"),
    ("panier", "activities:foyer_panier"),
    ("choisir", "activities:choisir"),
    ("index", "activities:index"),
)


def _links(request):
    return urls_if_exist(PAGES, request.commune.slug)


@dataclass
class BasketGroup:
    """The basket's changes of one child for one activity."""

    line: selectors_foyer.Line
    add: list = field(default_factory=list)
    remove: list = field(default_factory=list)
    general: list = field(default_factory=list)  # refusals of the basket as a whole
    html: str = ""  # its days, painted (Painter.basket)


def _painted(request, groups: list[BasketGroup]) -> list[BasketGroup]:
    painter = Painter(request.commune)
    for group in groups:
        group.html = painter.basket(group.add, group.remove, level=4)
    return groups


def _shown(grid_period, house) -> tuple[date, date] | None:
    """The days the page shows: the period, within the days the activities run."""
    bounds = house.bounds
    if bounds is None:
        return None
    first, last = max(grid_period.start, bounds[0]), min(grid_period.end, bounds[1])
    return (first, last) if first <= last else None


def _forms(data, house, shown, *, pressed=None):
    """The tools' forms: bound to the POST for the one pressed, fresh for the other (their
    dates start with the period shown). A fresh « Copier la semaine » is not built (None): the
    same for every household, it is painted once per Monday (_copy_painted)."""
    bounds = house.bounds
    first, last = shown or (None, None)
    copy = None
    if pressed == COPY:
        copy = _copy_form(data, bounds, _monday(first))
    pattern = PatternForm(
        data if pressed == PATTERN else None, prefix="modele", household=house,
        columns=house.columns, bounds=bounds, initial={"du": first, "au": last},
    )  # fmt: skip
    return copy, pattern


def _monday(day: date | None) -> date | None:
    return monday_of(day) if day else None


def _copy_form(data, bounds, monday: date | None) -> CopyWeekForm:
    return CopyWeekForm(data, prefix="copie", bounds=bounds, initial={"semaine": monday})


def _copy_painted(copy, house, shown) -> tuple:
    """« Copier la semaine »'s fields and error summary: the form pressed drawn, a fresh one
    painted once per Monday (form_painter.fresh; `bounds` only checks what is sent)."""
    if copy is not None:
        return form_painter.fields(copy), form_painter.summary(copy)
    monday = _monday(shown[0] if shown else None)
    return form_painter.fresh(
        lambda: _copy_form(None, house.bounds, monday), CopyWeekForm, "copie", monday
    )


def _render_grid(request, house, grid, shown_period, *, tools=None, **extra):
    shown = _shown(shown_period, house)
    painter = Painter(request.commune)
    if extra.get("tool_result"):  # next to the tool's button (includes/foyer_resultat.html)
        extra["tool_html"] = painter.tool_result(extra["tool_result"], extra["tool_done"])
    copy, pattern = tools or _forms(None, house, shown)
    copy_fields, copy_summary = _copy_painted(copy, house, shown)
    changes = grid.changes()
    carried = [cell for cell in changes if not (shown and shown[0] <= cell.day <= shown[1])]
    rows = [
        (week, [painter.day(day) if day else "" for day in week.days])
        for week in (grid.weeks(*shown) if shown else [])
    ]
    # As the one-child calendar: the weeks before the first that can still change are folded,
    # and « Aller à la semaine du … » leads to it.
    opening = opening_week([week for week, _days in rows], today=timezone.localdate())
    first = next((week for week, _days in rows[opening:] if week.changeable), None)
    return render(
        request,
        "activities/foyer.html",
        {
            "house": house,
            "grid": grid,
            "period": shown_period,
            # Worked out once (the template said the label three times, the weekdays twice) and
            # « précédent / suivant » painted (Painter.period_nav: includes/foyer_periode.html).
            "period_label": shown_period.label,
            "period_nav": painter.period_nav(shown_period, selectors_foyer.VUES),
            "column_heads": [capfirst(label) for label in grid.column_labels],
            "rows": rows,
            "folded": [painter.week(week, days) for week, days in rows[:opening]],
            "open_rows": [painter.week(week, days) for week, days in rows[opening:]],
            "first_changeable": first,
            "carried": carried,
            "pattern_form": pattern,
            # Their fields drawn in Python (form_painter: field.html's markup, a third of the
            # page's time through the template engine).
            "copy_fields": copy_fields,
            "pattern_fields": form_painter.fields(pattern),
            # Bound only when posted (None when painted once): {% errortitle %} looks for a
            # form in error in the context to say « Erreur : » first in the page's title.
            "copy_form": copy,
            # forms/error_summary.html's output without an include when there is no error.
            "copy_summary": copy_summary,
            "pattern_summary": form_painter.summary(pattern),
            "current_section": SECTION,
            "links": _links(request),
            **extra,
        },
    )


def _span(*ranges) -> tuple[date, date]:
    ranges = [r for r in ranges if r]
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def _days(keys) -> tuple[date, date] | None:
    days = [day for _child, _unit, day in keys]
    return (min(days), max(days)) if days else None


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def foyer(request):
    """The grid. GET: what is booked, for `?vue=mois|trimestre|annee&debut=…`. POST: the form
    re-displayed after a tool or another period, or the basket of the changes."""
    house = selectors_foyer.household(user=request.user, commune=request.commune)
    now, today = timezone.now(), timezone.localdate()
    if request.method == "GET":
        shown_period = read_period(request.GET, today=today)
        span = _shown(shown_period, house) or (shown_period.start, shown_period.end)
        grid = selectors_foyer.grid(household=house, now=now, start=span[0], end=span[1])
        return _render_grid(request, house, grid, shown_period)

    if not house.lines:  # nothing to book: the page says so
        return redirect("activities:foyer", commune=request.commune.slug)
    posted = read_post(request.POST, household=house, today=today)
    shown = _shown(posted.shown, house)
    # The tools' forms, bound to the POST, only for a tool pressed: the basket and the other
    # periods show fresh ones (_render_grid makes them) or none at all.
    tools = None
    if posted.action in (COPY, PATTERN):
        tools = copy, pattern = _forms(request.POST, house, shown, pressed=posted.action)
    tool = None  # the days the tool pressed reaches
    if posted.action == COPY and copy.is_valid():
        monday, targets = copy.targets()
        tool = (monday, max([monday, *targets]) + timedelta(days=6))
    elif posted.action == PATTERN and pattern.is_valid():
        tool = (pattern.cleaned_data["du"], pattern.cleaned_data["au"])
    span = _span(
        shown or (posted.shown.start, posted.shown.end),
        _days(posted.add | posted.remove),
        tool,
        _shown(posted.go, house) if posted.go else None,
    )
    grid = selectors_foyer.grid(household=house, now=now, start=span[0], end=span[1])
    if posted.from_grid:
        grid.set_wanted(add=posted.add, remove=posted.remove, checked=posted.checked, shown=shown)
    else:  # « Modifier » from the basket
        grid.set_wanted(add=posted.add, remove=posted.remove)

    if posted.action == GO:
        return _render_grid(request, house, grid, posted.go)
    extra = {}
    if posted.action in (COPY, PATTERN) and tool:
        # Said next to the tool's button, which calendrier.js gives the focus back to.
        extra["tool_used"] = posted.action
    if posted.action == COPY and tool:
        extra["tool_result"] = grid.copy_week(monday, targets)
        extra["tool_done"] = _("Semaine du %(monday)s copiée.") % {
            "monday": monday.strftime("%d/%m/%Y")
        }
    elif posted.action == PATTERN and tool:
        line, units = pattern.target()
        extra["tool_result"] = grid.apply_pattern(
            line, units, weekdays=pattern.weekdays, first=tool[0], last=tool[1],
            wanted=pattern.wanted,
        )  # fmt: skip
        extra["tool_done"] = _("Modèle de semaine appliqué.")
    if posted.action in (COPY, PATTERN, MODIFY):
        return _render_grid(request, house, grid, posted.shown, tools=tools, **extra)
    changes = grid.changes()
    if not changes:
        return _render_grid(request, house, grid, posted.shown, tools=tools, nothing=True)
    groups = _groups(house, changes)
    return render(
        request,
        "activities/foyer_panier.html",
        {
            "groups": _painted(request, groups),
            "period": posted.shown,
            "price_previews": _prices(request, groups),
            "current_section": SECTION,
            "links": _links(request),
        },
    )


def _prices(request, groups) -> list:
    """The basket's price preview before « Valider », one per family (billing plugs it in).
    The units go with their activity, which the household has read (the pricer's query less)."""
    for group in groups:  # each unit once, not each day (a foreign key's assignment is not free)
        activity = group.line.activity
        for unit in group.line.units:
            if unit.activity_id == activity.pk:
                unit.activity = activity
    changes = changes_of(
        add=[cell for group in groups for cell in group.add],
        remove=[cell for group in groups for cell in group.remove],
    )
    return basket_prices(commune=request.commune, changes=changes, now=timezone.now())


def _groups(house, cells) -> list[BasketGroup]:
    """The changes by child and activity (in the grid's order), each by day."""
    by_line = defaultdict(list)
    for cell in cells:
        by_line[(cell.child.pk, cell.unit.activity_id)].append(cell)
    groups = []
    for line in house.lines:
        found = sorted(by_line.get(line.key, []), key=lambda c: (c.day, c.unit.position, c.unit.pk))
        if found:
            groups.append(
                BasketGroup(
                    line=line,
                    add=[c for c in found if not c.booked],
                    remove=[c for c in found if c.booked],
                )
            )
    return groups


def _chosen(house, posted) -> list[tuple]:
    """The posted changes by line, in the grid's order: (line, add, remove), each a list of
    (unit, day) by day and unit. Only the changes the grid has a cell for (a unit of the line's
    activity, on one of its weekdays, within the activity's dates), as the grid would keep them;
    whether a day is booked is the service's to read, under its locks (an added day already
    booked or a removed day not booked is no change)."""
    where = {(line.child.pk, unit.pk): (line, unit) for line in house.lines for unit in line.units}
    found = defaultdict(lambda: ([], []))
    for keys, index in ((posted.add, 0), (posted.remove, 1)):
        for child_id, unit_id, day in keys:
            line, unit = where.get((child_id, unit_id), (None, None))
            if (
                line is not None
                and day.weekday() in unit.weekdays
                and line.activity.start <= day <= line.activity.end
            ):
                found[line.key][index].append((unit, day))
    chosen = []
    for line in house.lines:
        if line.key in found:
            add, remove = found[line.key]
            chosen.append((line, sorted(add, key=_by_day), sorted(remove, key=_by_day)))
    return chosen


def _by_day(change: tuple) -> tuple:
    unit, day = change
    return (day, unit.position, unit.pk)


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def panier(request):
    """« Valider »: every change of the basket saved in one transaction, or every refusal next
    to its day and nothing saved. (The basket is shown by the grid's POST; a GET here goes back
    to the grid.) No grid is read to validate: the service reads what it checks under its locks;
    the grid is read only to show the refusals (issue 23: a third of « Valider »'s queries)."""
    if request.method == "GET":
        return redirect("activities:foyer", commune=request.commune.slug)
    house = selectors_foyer.household(user=request.user, commune=request.commune)
    today = timezone.localdate()
    posted = read_post(request.POST, household=house, today=today)
    chosen = _chosen(house, posted)
    if not chosen:
        return redirect("activities:foyer", commune=request.commune.slug)
    files = selectors_foyer.files_complete([line for line, _a, _r in chosen], today=today)
    baskets = [
        ChildBasket(
            child=line.child, activity=line.activity, add=add, remove=remove,
            file_complete=files.get((line.famille_id, line.activity.pk), True),
        )
        for line, add, remove in chosen
    ]  # fmt: skip
    try:
        validate_household_basket(baskets=baskets, actor=request.user)
    except HouseholdBasketRefused as refused:
        return _refused(request, house, posted, refused)
    done = [b for b in baskets if b.result.added or b.result.waiting or b.result.removed]
    if not done:  # nothing was a change (booked meanwhile, in another tab)
        return redirect("activities:foyer", commune=request.commune.slug)
    request.session[SUMMARY_KEY] = {
        "user": request.user.pk,
        "groups": [
            {
                "child": f"{b.child.first_names} {b.child.last_name}",
                "activity": b.activity.name,
                "added": [_line(r.unit, r.day, r.status) for r in b.result.added],
                "waiting": [
                    {**_line(r.unit, r.day, r.status), "rank": b.result.ranks.get(r.pk)}
                    for r in b.result.waiting
                ],
                "removed": [_line(unit, day) for unit, day in b.result.removed],
            }
            for b in done
        ],
        "vue": posted.shown.vue,
        "debut": posted.shown.start.isoformat(),
    }
    return redirect("activities:foyer_confirmation", commune=request.commune.slug)


def _refused(request, house, posted, refused: HouseholdBasketRefused):
    """The basket again, each refusal next to its day (or its child's basket), nothing saved."""
    days = _days(posted.add | posted.remove)
    grid = selectors_foyer.grid(household=house, now=timezone.now(), start=days[0], end=days[1])
    add = [grid.cells[k] for k in posted.add if k in grid.cells and not grid.cells[k].booked]
    remove = [grid.cells[k] for k in posted.remove if k in grid.cells and grid.cells[k].booked]
    groups = _groups(house, add + remove)
    for group in groups:
        for cell in group.add + group.remove:
            cell.problem = refused.problems.get(cell.ident)
        general = refused.problems.get((group.line.child.pk, None, None))
        group.general = [str(general)] if general else []
    return render(
        request,
        "activities/foyer_panier.html",
        {
            "groups": _painted(request, groups),
            "period": posted.shown,
            "refused": True,
            "has_errors": True,  # « Erreur : » first in the title ({% errortitle %})
            "price_previews": _prices(request, groups),
            "current_section": SECTION,
            "links": _links(request),
        },
    )


@never_cache
@require_GET
@citizen_required
def confirmation(request):
    """What « Valider » saved, for every child and activity (also e-mailed)."""
    summary = request.session.get(SUMMARY_KEY)
    if not summary or summary.get("user") != request.user.pk:
        return redirect("activities:foyer", commune=request.commune.slug)
    painter = Painter(request.commune)
    groups = []
    for group in summary["groups"]:  # copies: the session's own summary is left as it is
        lines = {
            kind: [{**line, "date": date.fromisoformat(line["day"])} for line in group[kind]]
            for kind in ("added", "waiting", "removed")
        }
        # Its days: Painter.summary (the markup of includes/resume.html), in Python.
        groups.append({**group, **lines, "html": painter.summary(lines, level=3)})
    return render(
        request,
        "activities/foyer_confirmation.html",
        {
            "summary": {**summary, "groups": groups},
            "current_section": SECTION,
            "links": _links(request),
        },
    )
