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
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from parvis.accounts.decorators import citizen_required
from parvis.activities import selectors
from parvis.activities.forms import (
    CANCEL,
    CHECK_PERIOD,
    CHECK_WEEK,
    MODIFY,
    UNCHECK_PERIOD,
    UNCHECK_WEEK,
    read_post,
)
from parvis.activities.painter import Painter
from parvis.activities.pricing_hooks import basket_prices, changes_of
from parvis.activities.selectors import Week
from parvis.activities.services import BasketRefused, validate_basket_and_notify
from parvis.activities.services_offres import offers_of

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
            "offers_count": offers_of(user=request.user, commune=request.commune).count(),
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
class Row:
    week: Week
    days: list[str]  # the painted days
    months: list[date] = field(default_factory=list)  # the months that start here (their 1st)


def _render_calendar(request, target, cal, **extra):
    """The calendar page: its days drawn by the Painter (a whole year in a few milliseconds).
    It opens on the first week that can still change: the weeks before it are folded, and
    « Aller au mois : » jumps to the week where each month starts from there on."""
    painter = Painter(request.commune)
    activity = target.activity
    rows = [
        Row(week, [painter.child_day(day) if day else "" for day in week.days])
        for week in cal.weeks
    ]
    opening = cal.opening_week(today=timezone.localdate())
    folded, shown = rows[:opening], rows[opening:]
    months = []
    for row in shown:
        # A week spans two months at most: its first and last days in the period say which.
        for day in (max(row.week.monday, activity.start), min(row.week.sunday, activity.end)):
            month = day.replace(day=1)
            if month not in months:
                months.append(month)
                row.months.append(month)
    context = _context(
        target, cal=cal, folded=folded, rows=shown, months=months, step=1,
        counts=_counts(cal), **extra,
    )  # fmt: skip
    return render(request, "activities/calendrier.html", context)


def _counts(cal) -> dict:
    """How many days the form shown adds and cancels (the basket so far)."""
    add, remove = _changes(cal)
    return {"added": len(add), "removed": len(remove)}


def _calendar(request, target, *, wanted=None):
    now = timezone.now()
    complete = selectors.file_complete(target=target)
    return selectors.calendar(target=target, now=now, file_complete=complete, wanted=wanted)


def _read(request, target):
    activity = target.activity
    unit_ids = set(activity.units.values_list("pk", flat=True))
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
        cal = _calendar(request, target)
        return _render_calendar(request, target, cal)

    posted = _read(request, target)
    if posted.action == CANCEL:
        return redirect("activities:choisir", commune=request.commune.slug)
    if posted.from_grid:
        wanted = posted.checked
    else:  # « Modifier » from the basket: what is booked, with the basket's changes
        booked = _calendar(request, target)
        wanted = {(c.unit.pk, c.day) for c in booked.cells() if c.booked}
        wanted = (wanted - posted.remove) | posted.add
    cal = _calendar(request, target, wanted=wanted)
    if posted.action in (CHECK_PERIOD, UNCHECK_PERIOD, CHECK_WEEK, UNCHECK_WEEK):
        check = posted.action in (CHECK_PERIOD, CHECK_WEEK)
        weeks = cal.weeks
        if posted.week is not None:
            weeks = [week for week in cal.weeks if week.monday == posted.week]
        for week in weeks:
            for cell in week.cells():
                if cell.editable:
                    cell.wanted = check
        return _render_calendar(request, target, cal, focus_week=posted.week)
    if posted.action == MODIFY:
        return _render_calendar(request, target, cal)
    add, remove = _changes(cal)
    if not add and not remove:
        return _render_calendar(request, target, cal, nothing=True)
    previews = _prices(request, target, add, remove)
    return render(
        request,
        "activities/panier.html",
        _context(target, add=add, remove=remove, price_previews=previews, step=2),
    )


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
