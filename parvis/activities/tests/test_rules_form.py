"""Booking rules without JSON (issue 21 §7): each kind of rule round-trips through the form to
the JSON rules.py reads, each is said in a sentence, wrong inputs get French errors next to the
rule, and the admin's Activity form has the same inputs."""

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from parvis.activities.forms_rules import BookingRulesForm, RuleField, RuleWidget
from parvis.activities.rules import validate_rule
from parvis.activities.rules_text import BOOKING, CANCEL, OPENING, example, sentence

RULES = [
    {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True},
    {"kind": "days_before", "days": 3, "time": "18:30", "working_days": False},
    {"kind": "hours_before", "hours": 72},
    {"kind": "weekly", "weekday": 4, "time": "09:00"},
    {"kind": "monthly", "day": 20, "time": "12:00"},
]


@pytest.fixture(autouse=True)
def french():
    with translation.override("fr"):
        yield


def post_of(name: str, rule: dict | None, *, opening=False) -> dict:
    """What a browser sends for `rule` in the inputs of field `name`."""
    widget = RuleWidget([], opening=opening)
    values = widget.decompress(rule)
    data = {}
    for suffix, value in zip(widget.widgets_names, values, strict=True):
        if isinstance(value, bool):
            if value:
                data[name + suffix] = "on"
        else:
            data[name + suffix] = "" if value is None else str(value)
    return data


@pytest.mark.parametrize("rule", RULES)
def test_each_deadline_kind_round_trips_to_the_same_json(rule):
    field = RuleField()
    data = post_of("f", rule)
    cleaned = field.clean(field.widget.value_from_datadict(data, {}, "f"))
    assert cleaned == rule
    assert validate_rule(cleaned) == rule


@pytest.mark.parametrize("rule", [None, {"kind": "weeks_before", "weeks": 6}, *RULES])
def test_each_opening_kind_round_trips(rule):
    field = RuleField(opening=True)
    data = post_of("f", rule, opening=True)
    assert field.clean(field.widget.value_from_datadict(data, {}, "f")) == rule


def test_inputs_the_kind_does_not_use_are_ignored():
    field = RuleField()
    data = post_of("f", {"kind": "hours_before", "hours": 48})
    data.update({"f_days": "4", "f_time": "10:00", "f_weekday": "2", "f_day": "9"})
    assert field.clean(field.widget.value_from_datadict(data, {}, "f")) == {
        "kind": "hours_before",
        "hours": 48,
    }


@pytest.mark.parametrize(
    ("rule", "which", "text"),
    [
        (
            RULES[0],
            BOOKING,
            "Réservation jusqu'à la veille ouvrée à 9 h (le vendredi pour le lundi).",
        ),
        (RULES[1], CANCEL, "Annulation jusqu'à 3 jours avant, à 18 h 30."),
        (RULES[2], BOOKING, "Réservation jusqu'à 72 heures avant le début de l'accueil."),
        (RULES[3], BOOKING, "Réservation jusqu'au vendredi 9 h de la semaine précédente."),
        (RULES[4], CANCEL, "Annulation jusqu'au 20 du mois précédent à 12 h."),
        (
            {"kind": "days_before", "days": 0, "time": "08:00", "working_days": False},
            BOOKING,
            "Réservation jusqu'au jour même à 8 h.",
        ),
        (
            {"kind": "days_before", "days": 1, "time": "09:00", "working_days": False},
            BOOKING,
            "Réservation jusqu'à la veille à 9 h.",
        ),
        (None, OPENING, "Réservation ouverte dès l'inscription acceptée."),
        (
            {"kind": "weeks_before", "weeks": 6},
            OPENING,
            "Réservation ouverte 6 semaines avant le jour réservé.",
        ),
        (
            {"kind": "weeks_before", "weeks": 1},
            OPENING,
            "Réservation ouverte 1 semaine avant le jour réservé.",
        ),
        (RULES[4], OPENING, "Réservation ouverte à partir du 20 du mois précédent à 12 h."),
    ],
)
def test_the_sentence_of_each_kind(rule, which, text):
    assert sentence(rule, which) == text


def test_the_example_is_the_moment_rules_gives():
    monday = date(2026, 9, 14)
    assert example(RULES[3], BOOKING, day=monday, starts_at=time(7, 30)) == (
        "Par exemple, pour le lundi 14 septembre 2026 : jusqu'au vendredi 11 septembre 2026 "
        "à 09:00."
    )
    # 72 h before 07:30 on Monday; across the change to winter time (25 October 2026).
    assert example(RULES[2], BOOKING, day=date(2026, 10, 26), starts_at=time(7, 30)) == (
        "Par exemple, pour le lundi 26 octobre 2026 : jusqu'au vendredi 23 octobre 2026 à 08:30."
    )


@pytest.mark.parametrize(
    ("rule_data", "error"),
    [
        ({"f_kind": "days_before", "f_time": "09:00"}, "Indiquez le nombre de jours."),
        ({"f_kind": "days_before", "f_days": "2"}, "Indiquez l'heure limite"),
        ({"f_kind": "days_before", "f_days": "61", "f_time": "09:00"}, "de 0 à 60"),
        ({"f_kind": "days_before", "f_days": "-1", "f_time": "09:00"}, "de 0 à 60"),
        ({"f_kind": "days_before", "f_days": "1", "f_time": "24:00"}, "Indiquez l'heure limite"),
        ({"f_kind": "hours_before"}, "Indiquez le nombre d'heures."),
        ({"f_kind": "hours_before", "f_hours": "1441"}, "de 0 à 1440"),
        ({"f_kind": "weekly", "f_time": "09:00"}, "Choisissez le jour de la semaine."),
        ({"f_kind": "monthly", "f_day": "0", "f_time": "09:00"}, "de 1 à 31"),
        ({"f_kind": ""}, "Choisissez la forme de la règle."),
        ({"f_kind": "weeks_before", "f_weeks": "3"}, "Sélectionnez un choix valide"),
    ],
)
def test_wrong_inputs_get_a_french_error(rule_data, error):
    field = RuleField()
    with pytest.raises(ValidationError) as raised:
        field.clean(field.widget.value_from_datadict(rule_data, {}, "f"))
    assert error in " ".join(raised.value.messages)


def test_the_weeks_input_is_offered_for_the_opening_only():
    assert "f_weeks" not in RuleField().widget.render("f", None, {"id": "id_f"})
    page = RuleField(opening=True).widget.render("f", None, {"id": "id_f"})
    assert 'name="f_weeks"' in page
    # Each input has its own label, tied by id.
    assert '<label for="id_f_7">' in page
    assert 'id="id_f_7"' in page


@pytest.mark.django_db
def test_the_form_keeps_the_entries_and_errors_of_the_wrong_rule():
    from parvis.activities.tests.factories import make_activity
    from parvis.communes.tests.factories import CommuneFactory

    activity = make_activity(CommuneFactory())
    data = {
        **post_of("booking_opens", None, opening=True),
        **post_of("booking_deadline", RULES[3]),
        "cancel_deadline_kind": "days_before",
        "cancel_deadline_days": "99",
        "cancel_deadline_time": "09:00",
    }
    form = BookingRulesForm(data, instance=activity)
    assert not form.is_valid()
    assert list(form.errors) == ["cancel_deadline"]
    assert 'value="99"' in str(form["cancel_deadline"])
    previews = {
        row["name"]: row for row in form.previews(day=date(2026, 9, 14), starts_at=time(7, 30))
    }
    assert previews["booking_deadline"]["sentence"] == (
        "Réservation jusqu'au vendredi 9 h de la semaine précédente."
    )
    assert previews["cancel_deadline"]["valid"] is False


@pytest.mark.parametrize(
    ("rule", "which", "text"),
    [
        ({"kind": "days_before", "days": 1, "time": "09:00"}, BOOKING, "Booking until the day"),
        ({"kind": "weekly", "weekday": 4, "time": "09:00"}, CANCEL, "Cancellation until "),
        ({"kind": "monthly", "day": 20, "time": "12:00"}, OPENING, "Booking opens from "),
    ],
)
def test_an_english_sentence_carries_no_french_preposition(rule, which, text):
    with translation.override("en"):
        said = sentence(rule, which)
    assert said.startswith(text), said
    assert " à " not in said and " au " not in said and " du " not in said and " de " not in said
