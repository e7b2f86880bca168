"""The families' reservation pages (seed « RÉSERVER OU ANNULER LES ACTIVITÉS »): « Activités »
(each child's inscriptions), « Modifier les réservations » → the activity → « Commencer » → the
calendar of the whole period (check or uncheck days) → the basket → « Valider » → the
confirmation, also e-mailed.

Thin views: reads through parvis.activities.selectors (scoped to the commune of the URL and to
the logged-in citizen: another family's child or another commune's activity is a 404), the
write through services.validate_basket_and_notify. Nothing is saved before « Valider »: the
calendar and the basket carry the changes in their forms, so every page works without
JavaScript."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import wraps

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from parvis.accounts.decorators import citizen_required
from parvis.activities import selectors
from parvis.activities.forms import (
    CANCEL,
    CHECK_PERIOD,
    CHECK_WEEK,
    GOTO,
    MODIFY,
    UNCHECK_PERIOD,
    UNCHECK_WEEK,
    YEAR,
    read_post,
)
from parvis.activities.painter import Painter
from parvis.activities.pricing_hooks import basket_prices, changes_of
from parvis.activities.selectors import WEEKDAY_LABELS, Week
from parvis.activities.services import BasketRefused, validate_basket_and_notify

SECTION = "activities:index"
SUMMARY_KEY = "activities_basket_summary"

# The reservation as a procedure of two steps (seed 000: « 1 - MA DEMANDE », then the basket
# and its « Valider »), drawn by the démarches' step bar.
STEPS = [
    {"number": 1, "label": gettext_lazy("Ma demande")},
    {"number": 2, "label": gettext_lazy("Panier")},
]


def booking_view(*methods: str):
    """For the URLs of one child and activity: anonymous visitors log in first; then 404 unless
    the child is of a family the account is linked to and the activity of this commune (checked
    before the HTTP method); then `view(request, target)`."""

    def decorator(view):
        @wraps(view)
        @never_cache
        @citizen_required
        def wrapper(request, activity, child):
            target = selectors.booking_target(
                user=request.user, commune=request.commune, activity_slug=activity, child_pk=child
            )
            if target is None:
                raise Http404(_("Cette page n'existe pas."))
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, target)

        return wrapper

    return decorator


def _context(target, **extra) -> dict:
    return {
        "activity": target.activity,
        "child": target.child,
        "target": target,
        "steps": STEPS,
        "current_section": SECTION,
        **extra,
    }


@never_cache
@require_GET
@citizen_required
def index(request):
    """« Activités »: « vérification des inscriptions », child by child."""
    children = selectors.children_inscriptions(user=request.user, commune=request.commune)
    return render(
        request,
        "activities/index.html",
        {
            "children": children,
            "any_accepted": any(c.accepted for c in children),
            "offers_count": selectors.offers_count(user=request.user, commune=request.commune),
            "current_section": SECTION,
        },
    )


@never_cache
@require_GET
@citizen_required
def choisir(request):
    """« Modifier les réservations »: choose the activity (and the child)."""
    children = selectors.children_inscriptions(user=request.user, commune=request.commune)
    return render(
        request,
        "activities/choisir.html",
        {"children": [c for c in children if c.accepted], "current_section": SECTION},
    )


@booking_view("GET")
def debut(request, target):
    """The start page: the activity, the approximate duration, the period, « Commencer »."""
    return render(request, "activities/debut.html", _context(target))


@dataclass
class Lock:
    """Why days of a week that cannot change at all cannot (said once, in its row header)."""

    reason: str
    days: list[date]
    ident: str  # the id its days' checkboxes are described by

    @property
    def weekdays(self) -> str:
        """« lundi, mardi, jeudi »."""
        return ", ".join(str(WEEKDAY_LABELS[day.weekday()]) for day in self.days)


@dataclass
class Row:
    week: Week
    days: list[str]  # the painted days
    months: list[date] = field(default_factory=list)  # the months that start here (their 1st)
    locks: list[Lock] = field(default_factory=list)  # a week that cannot change: why (else [])
    html: str = ""  # the row, painted (Painter.child_week)


@dataclass
class Done:
    """What « Tout cocher / Tout décocher » just did, said next to the button used (and read
    out by calendrier.js, which puts the focus back on that button: `focus` is its id)."""

    week: date | None  # the week's Monday (None: the whole period)
    message: str
    focus: str


def week_locks(week: Week) -> list[Lock]:
    """For a week none of whose days can change, each reason given with the days it locks,
    in the order of the days; [] for a week that can change."""
    if week.changeable:
        return []
    days: dict[str, list[date]] = {}
    for cell in week.cells():
        found = days.setdefault(cell.reason, [])
        if cell.day not in found:
            found.append(cell.day)
    return [
        Lock(reason, found, f"pourquoi-{week.key}-{number}")
        for number, (reason, found) in enumerate(days.items(), start=1)
    ]


# The weeks the calendar shows at a time: about six weeks of changeable days weigh some 40 kB of
# HTML where the whole school year weighs 300 (issue 18 §4); « annee » shows them all.
WINDOW_WEEKS = 6


@dataclass
class Window:
    """The weeks a calendar page shows (indexes in `cal.weeks`), and the ways to the others."""

    first: int
    last: int  # exclusive
    previous: date | None = None  # the Monday « Semaines précédentes » shows from
    following: date | None = None  # the Monday « Semaines suivantes » shows from


def _window(cal, *, opening: int, start: date | None) -> Window:
    """WINDOW_WEEKS weeks from the one of `start` (a day of it), else from the opening week."""
    mondays = [week.monday for week in cal.weeks]
    first, last = selectors.window_bounds(mondays, opening=opening, start=start, size=WINDOW_WEEKS)
    window = Window(first=first, last=last)
    if first > 0:
        window.previous = cal.weeks[max(0, first - WINDOW_WEEKS)].monday
    if last < len(cal.weeks):
        window.following = cal.weeks[last].monday
    return window


def _render_calendar(request, target, cal, *, start=None, year=False, **extra):
    """The calendar page: its days drawn by the Painter. It opens on the first week that can
    still change and shows WINDOW_WEEKS weeks (« Semaines précédentes / suivantes », « Aller au
    mois : » move through the period by submit buttons, so the boxes ticked are kept; the changes
    of the weeks not shown ride along as hidden values). `year`: the whole period on one page,
    the weeks before the first that can change folded. A week shown that cannot change says why
    once, in its row header (its days' checkboxes are described by it), and has no « Tout
    cocher »."""
    painter = Painter(request.commune)
    activity = target.activity
    weeks = cal.weeks
    opening = cal.opening_week(today=timezone.localdate())
    window = None if year else _window(cal, opening=opening, start=start)
    first, last = (opening, len(weeks)) if year else (window.first, window.last)

    def row(index, week):
        locks = week_locks(week) if index >= first else []
        described = {lock.reason: lock.ident for lock in locks}
        painted = [painter.child_day(day, described=described) if day else "" for day in week.days]
        return Row(week, painted, locks=locks)

    folded = [row(i, weeks[i]) for i in range(opening)] if year else []
    shown = [row(i, weeks[i]) for i in range(first, last)]
    calendar_url = reverse(
        "activities:calendrier",
        kwargs={
            "commune": request.commune.slug,
            "activity": activity.slug,
            "child": target.child.pk,
        },
    )
    carried = {"ajout": [], "retrait": []}
    if window is not None:  # the changes of the weeks not shown, kept in the form
        for week in weeks[: window.first] + weeks[window.last :]:
            for cell in week.cells():
                if cell.changed:
                    carried[cell.changed].append(cell.key)
    # « Aller au mois : » the week where each month starts, from the opening week on.
    months = []
    for index in range(opening, len(weeks)):
        week = weeks[index]
        for day in (max(week.monday, activity.start), min(week.sunday, activity.end)):
            month = day.replace(day=1)
            if month not in (m for m, _w in months):
                months.append((month, week.monday))
                if first <= index < last:
                    shown[index - first].months.append(month)
    # The rows painted in Python (a template include per week cost as much as its days).
    done = extra.get("done")
    for rows, is_folded in ((folded, True), (shown, False)):
        for painted in rows:
            painted.html = painter.child_week(
                painted.week, painted.days, months=painted.months, locks=painted.locks,
                folded=is_folded, action=calendar_url,
                done=done.message if done and done.week == painted.week.monday else "",
            )  # fmt: skip
    first_changeable = next((r.week for r in shown if r.week.changeable), None)
    if first_changeable is None and year:
        first_changeable = next((w for w in weeks[opening:] if w.changeable), None)
    context = _context(
        target, cal=cal, folded=folded, rows=shown, step=1, year=year,
        months=[(painter.month(month), month, monday) for month, monday in months],
        window=window, carried=carried, counts=_counts(cal), first_changeable=first_changeable,
        shown_days=f"{weeks[first].monday}:{weeks[last - 1].sunday}" if shown else "",
        calendar_url=calendar_url, **extra,
    )  # fmt: skip
    return render(request, "activities/calendrier.html", context)


def _counts(cal) -> dict:
    """How many days the form shown adds and cancels (the basket so far)."""
    add, remove = _changes(cal)
    return {"added": len(add), "removed": len(remove)}


def _calendar(request, target, *, wanted=None, window=None):
    now = timezone.now()
    complete = selectors.file_complete(target=target)
    return selectors.calendar(
        target=target, now=now, file_complete=complete, wanted=wanted, window=window
    )


def _read(request, target):
    activity = target.activity
    unit_ids = selectors.unit_ids(target=target)
    return read_post(request.POST, unit_ids=unit_ids, start=activity.start, end=activity.end)


def _changes(cal):
    add = [cell for cell in cal.cells() if cell.changed == "ajout"]
    remove = [cell for cell in cal.cells() if cell.changed == "retrait"]
    return add, remove


@booking_view("GET", "POST")
def calendrier(request, target):
    """The calendar. GET: what is booked. POST: the form re-displayed after « Tout cocher /
    Tout décocher » (a week or the whole period), or the basket (« panier ») of the changes."""
    if request.method == "GET":
        start, year = _parse_day(request.GET.get("semaine", "")), _year(request.GET)
        # A page of a few weeks works out only those (and the way to the opening week).
        cal = _calendar(request, target, window=None if year else (start, WINDOW_WEEKS))
        return _render_calendar(request, target, cal, start=start, year=year)

    posted = _read(request, target)
    if posted.action == CANCEL:
        return redirect("activities:choisir", commune=request.commune.slug)
    cal = _calendar(request, target, wanted=_wanted(target, posted))
    # The page comes back on the weeks it showed, unless a button asked for others.
    view = {"year": posted.year, "start": posted.window[0] if posted.window else None}
    if posted.action == GOTO:
        view = {"year": False, "start": posted.week}
    elif posted.action == YEAR:
        view = {"year": True, "start": None}
    if posted.action in (CHECK_PERIOD, UNCHECK_PERIOD, CHECK_WEEK, UNCHECK_WEEK):
        check = posted.action in (CHECK_PERIOD, CHECK_WEEK)
        weeks = cal.weeks
        if posted.week is not None:
            weeks = [week for week in cal.weeks if week.monday == posted.week]
        if not weeks:  # a week outside the period: nothing to do, nothing to say
            return _render_calendar(request, target, cal, **view)
        days, locked = _tick(weeks, check=check)
        done = Done(
            week=posted.week,
            message=_done_message(week=posted.week, check=check, days=days, locked=locked),
            focus="tout-{}-{}".format(
                "cocher" if check else "decocher",
                posted.week.isoformat() if posted.week else "periode",
            ),
        )
        return _render_calendar(request, target, cal, done=done, **view)
    if posted.action in (MODIFY, GOTO, YEAR):
        return _render_calendar(request, target, cal, **view)
    add, remove = _changes(cal)
    if not add and not remove:
        return _render_calendar(request, target, cal, nothing=True, **view)
    previews = _prices(request, target, add, remove)
    return render(
        request,
        "activities/panier.html",
        _context(target, add=add, remove=remove, price_previews=previews, step=2),
    )


def _wanted(target, posted) -> set:
    """The days the posted form wants booked: the boxes ticked among the days it showed; for
    the others (or from the basket's « Modifier »), what is booked with the changes it carried."""
    if posted.from_grid and posted.window is None:  # the whole period was shown
        return posted.checked
    kept = (selectors.booked_keys(target=target) - posted.remove) | posted.add
    if not posted.from_grid:
        return kept
    first, last = posted.window
    return {key for key in posted.checked if first <= key[1] <= last} | {
        key for key in kept if not first <= key[1] <= last
    }


def _parse_day(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _year(data) -> bool:
    return data.get("vue") == YEAR


def _tick(weeks, *, check: bool) -> tuple[int, int]:
    """« Tout cocher » (`check`) or « Tout décocher » on `weeks`: every changeable cell set;
    returns how many days had a changeable cell, and how many none (left as they were)."""
    days, locked = 0, 0
    for week in weeks:
        for day in week.days:
            if day is None:
                continue
            editable = [cell for cell in day.cells if cell.editable]
            for cell in editable:
                cell.wanted = check
            if editable:
                days += 1
            else:
                locked += 1
    return days, locked


def _done_message(*, week: date | None, check: bool, days: int, locked: int) -> str:
    """« Semaine du 30/11/2026 : 4 jours cochés. 1 jour non modifiable laissé tel quel. »"""
    values = {"count": days, "monday": week.strftime("%d/%m/%Y") if week else ""}
    if not days:
        text = (
            _("Semaine du %(monday)s : aucun jour modifiable.")
            if week
            else _("Toute la période : aucun jour modifiable.")
        )
    elif week and check:
        text = ngettext(
            "Semaine du %(monday)s : %(count)s jour coché.",
            "Semaine du %(monday)s : %(count)s jours cochés.",
            days,
        )
    elif week:
        text = ngettext(
            "Semaine du %(monday)s : %(count)s jour décoché.",
            "Semaine du %(monday)s : %(count)s jours décochés.",
            days,
        )
    elif check:
        text = ngettext(
            "Toute la période : %(count)s jour coché.",
            "Toute la période : %(count)s jours cochés.",
            days,
        )
    else:
        text = ngettext(
            "Toute la période : %(count)s jour décoché.",
            "Toute la période : %(count)s jours décochés.",
            days,
        )
    text %= values
    if days and locked:
        text += " " + ngettext(
            "%(count)s jour non modifiable laissé tel quel.",
            "%(count)s jours non modifiables laissés tels quels.",
            locked,
        ) % {"count": locked}
    return text


def _prices(request, target, add, remove) -> list:
    """The basket's price preview before « Valider » (billing plugs it in; none without it)."""
    changes = changes_of(add=add, remove=remove, child=target.child)
    return basket_prices(commune=request.commune, changes=changes, now=timezone.now())


@booking_view("GET", "POST")
def panier(request, target):
    """« Valider »: the basket saved in one transaction, or every refusal next to its day. (The
    basket is shown by the calendar's POST; a GET here goes back to the calendar.)"""
    if request.method == "GET":
        return redirect(
            "activities:calendrier",
            commune=request.commune.slug,
            activity=target.activity.slug,
            child=target.child.pk,
        )
    posted = _read(request, target)
    cal = _calendar(request, target)
    cells = cal.cell_map()
    add = [cells[key] for key in sorted(posted.add, key=lambda k: (k[1], k[0])) if key in cells]
    remove = [
        cells[key] for key in sorted(posted.remove, key=lambda k: (k[1], k[0])) if key in cells
    ]
    add = [cell for cell in add if not cell.booked]
    remove = [cell for cell in remove if cell.booked]
    if not add and not remove:
        return redirect(
            "activities:calendrier",
            commune=request.commune.slug,
            activity=target.activity.slug,
            child=target.child.pk,
        )
    try:
        result = validate_basket_and_notify(
            famille=target.child.famille,
            child=target.child,
            activity=target.activity,
            add=[(cell.unit, cell.day) for cell in add],
            remove=[(cell.unit, cell.day) for cell in remove],
            actor=request.user,
            file_complete=selectors.file_complete(target=target),
        )
    except BasketRefused as refused:
        for cell in add + remove:
            cell.problem = refused.problems.get((cell.unit.pk, cell.day))
        general = [str(reason) for key, reason in refused.problems.items() if key is None]
        context = _context(target, add=add, remove=remove, refused=True, general=general, step=2)
        context["price_previews"] = _prices(request, target, add, remove)
        context["has_errors"] = True  # « Erreur : » first in the title ({% errortitle %})
        return render(request, "activities/panier.html", context)
    request.session[SUMMARY_KEY] = {
        "activity": target.activity.pk,
        "child": target.child.pk,
        "added": [_line(r.unit, r.day, r.status) for r in result.added],
        "waiting": [
            {**_line(r.unit, r.day, r.status), "rank": result.ranks.get(r.pk)}
            for r in result.waiting
        ],
        "removed": [_line(unit, day) for unit, day in result.removed],
    }
    return redirect(
        "activities:confirmation",
        commune=request.commune.slug,
        activity=target.activity.slug,
        child=target.child.pk,
    )


def _line(unit, day, status="") -> dict:
    return {
        "day": day.isoformat(),
        "label": unit.label,
        "code": unit.code,
        "pending": status == "en_attente",
    }


@booking_view("GET")
def confirmation(request, target):
    """« Un message vous en confirme la bonne prise en compte »: what « Valider » saved."""
    summary = request.session.get(SUMMARY_KEY)
    if (
        not summary
        or summary.get("activity") != target.activity.pk
        or summary.get("child") != target.child.pk
    ):
        return redirect(
            "activities:calendrier",
            commune=request.commune.slug,
            activity=target.activity.slug,
            child=target.child.pk,
        )
    for group in ("added", "waiting", "removed"):
        for line in summary[group]:
            line["date"] = date.fromisoformat(line["day"])
    return render(request, "activities/confirmation.html", _context(target, summary=summary))
