"""What the calendar and the basket post: cells as « <unit id>:<YYYY-MM-DD> » values, read
against the activity's own units and period (any other value is ignored, never trusted), and
the button pressed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# The calendar's buttons: see the basket, or « Tout cocher / Tout décocher » for the whole period
# or for one week (« cocher_semaine:<its Monday> »).
PANIER = "panier"
MODIFY = "modifier"  # the basket's « Modifier »: back to the calendar with its changes
CANCEL = "annuler"  # « Annuler la démarche »: nothing was saved, back to the choice of activity
CHECK_PERIOD, UNCHECK_PERIOD = "cocher_periode", "decocher_periode"
CHECK_WEEK, UNCHECK_WEEK = "cocher_semaine", "decocher_semaine"
# The calendar shows a few weeks at a time (a page of a few tens of kB, not the year's 300):
# « aller:<Monday> » shows the weeks from that one, « annee » the whole period on one page; the
# changes made elsewhere ride along as the basket's hidden « ajout » / « retrait » values.
GOTO, YEAR = "aller", "annee"


def parse_cells(values, *, unit_ids: set[int], start: date, end: date) -> set[tuple[int, date]]:
    """The (unit id, day) pairs among `values` that name one of `unit_ids` within the period."""
    cells = set()
    for value in values:
        unit_id, _sep, iso = str(value).partition(":")
        try:
            unit_id, day = int(unit_id), date.fromisoformat(iso)
        except ValueError:
            continue
        if unit_id in unit_ids and start <= day <= end:
            cells.add((unit_id, day))
    return cells


@dataclass
class Posted:
    from_grid: bool  # the calendar's form (else the basket's « Modifier »)
    checked: set = field(default_factory=set)  # the calendar's checked cells
    add: set = field(default_factory=set)  # the basket's days to add
    remove: set = field(default_factory=set)  # the basket's days to cancel
    action: str = PANIER
    week: date | None = None  # the Monday of « Tout cocher » for a week, or of « aller »
    # The days whose boxes the form showed (first, last); None: the whole period (year view).
    window: tuple[date, date] | None = None
    year: bool = False  # the form showed the whole period (« vue=annee »)


def read_post(data, *, unit_ids: set[int], start: date, end: date) -> Posted:
    def cells(name):
        return parse_cells(data.getlist(name), unit_ids=unit_ids, start=start, end=end)

    posted = Posted(
        from_grid=data.get("grille") == "1",
        checked=cells("c"),
        add=cells("ajout"),
        remove=cells("retrait"),
        window=parse_window(data.get("fenetre", "")),
        year=data.get("vue") == YEAR,
    )
    action, _sep, week = str(data.get("action", PANIER)).partition(":")
    if action in (CHECK_PERIOD, UNCHECK_PERIOD, MODIFY, CANCEL, YEAR):
        posted.action = action
    elif action in (CHECK_WEEK, UNCHECK_WEEK, GOTO):
        try:
            posted.week = date.fromisoformat(week)
            posted.action = action
        except ValueError:
            pass
    return posted


def parse_window(value) -> tuple[date, date] | None:
    """« <first day>:<last day> » of the weeks a calendar form showed; None when absent or not
    two ISO dates in order (the form is then read as showing the whole period)."""
    first, _sep, last = str(value).partition(":")
    try:
        window = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        return None
    return window if window[0] <= window[1] else None
