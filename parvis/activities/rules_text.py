"""Booking rules said in French (issue 21 §7): one sentence per rule for the agents' form, the
admin and the journal (« Réservation jusqu'au vendredi 9 h de la semaine précédente. »), and the
moment a rule gives for an example day, computed by `rules.moment`."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from parvis.activities.rules import WEEKDAYS, format_moment, moment
from parvis.communes.dates import long_date

OPENING, BOOKING, CANCEL = "opening", "booking", "cancel"


def _hour(value: str) -> str:
    """« 09:00 » → « 9 h », « 23:59 » → « 23 h 59 »."""
    hours, minutes = (int(part) for part in value.split(":"))
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d}"


def _when(rule: dict) -> str:
    """The moment of a deadline-shaped rule, after « jusqu'à » / « à partir de »."""
    kind = rule["kind"]
    if kind == "days_before":
        days, at = rule["days"], _hour(rule["time"])
        if days == 0:
            return _("le jour même à %(time)s") % {"time": at}
        if rule.get("working_days"):
            if days == 1:
                return _("la veille ouvrée à %(time)s (le vendredi pour le lundi)") % {"time": at}
            text = ngettext(
                "%(days)s jour ouvré avant, à %(time)s",
                "%(days)s jours ouvrés avant, à %(time)s",
                days,
            )
        elif days == 1:
            return _("la veille à %(time)s") % {"time": at}
        else:
            text = ngettext(
                "%(days)s jour avant, à %(time)s", "%(days)s jours avant, à %(time)s", days
            )
        return text % {"days": days, "time": at}
    if kind == "hours_before":
        return ngettext(
            "%(hours)s heure avant le début de l'accueil",
            "%(hours)s heures avant le début de l'accueil",
            rule["hours"],
        ) % {"hours": rule["hours"]}
    if kind == "weekly":
        return _("le %(weekday)s %(time)s de la semaine précédente") % {
            "weekday": str(WEEKDAYS[rule["weekday"]]),
            "time": _hour(rule["time"]),
        }
    if kind == "monthly":
        return _("le %(day)s du mois précédent à %(time)s") % {
            "day": rule["day"],
            "time": _hour(rule["time"]),
        }
    return ngettext("%(weeks)s semaine avant", "%(weeks)s semaines avant", rule["weeks"]) % {
        "weeks": rule["weeks"]
    }


def _after(preposition: str, when: str) -> str:
    """« jusqu'à » + « le vendredi… » → « jusqu'au vendredi… »; « à partir de » + « le 20… » →
    « à partir du 20… »; the rest keeps its preposition. French only: a translated sentence
    says its own (« Booking until %(when)s »), and a French « à » glued here would stay French."""
    if not (get_language() or "fr").startswith("fr"):
        return when
    if when.startswith("le "):
        return {"à": "au ", "de": "du "}[preposition] + when[3:]
    return f"{preposition} {when}"


def sentence(rule: dict | None, which: str) -> str:
    """The rule in one French sentence, for the agents and the families:
    « Réservation jusqu'au vendredi 9 h de la semaine précédente. »"""
    if which == OPENING:
        if rule is None:
            return _("Réservation ouverte dès l'inscription acceptée.")
        if rule["kind"] == "weeks_before":
            return _("Réservation ouverte %(when)s le jour réservé.") % {"when": _when(rule)}
        return _("Réservation ouverte à partir %(when)s.") % {"when": _after("de", _when(rule))}
    when = _after("à", _when(rule))
    if which == BOOKING:
        return _("Réservation jusqu'%(when)s.") % {"when": when}
    return _("Annulation jusqu'%(when)s.") % {"when": when}


def example(rule: dict | None, which: str, *, day: date, starts_at: time) -> str:
    """The moment the rule gives for `day`: « Pour le lundi 7 septembre 2026 : jusqu'au vendredi
    28 août 2026 à 09:00. »"""
    label = long_date(day, "l j F Y")
    if rule is None:
        return ""
    when = format_moment(moment(rule, day, starts_at=starts_at))
    if which == OPENING:
        return _("Par exemple, pour le %(day)s : à partir du %(when)s.") % {
            "day": label,
            "when": when,
        }
    return _("Par exemple, pour le %(day)s : jusqu'au %(when)s.") % {"day": label, "when": when}


def example_day(today: date) -> date:
    """The Monday three weeks ahead: far enough for every kind to show its moment."""
    return today + timedelta(days=21 - today.weekday())
