"""The billing rows: their validation speaks French next to the field, the database refuses what
validation would (prices below zero, an activity in two régies, a tariff without its price),
and tariffs read back from the database price to the cent."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from parvis.activities.tests.factories import make_activity
from parvis.billing import pricing
from parvis.billing.models import (
    PenaltyKind,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
    validate_brackets,
)
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db

SEPTEMBER = date(2026, 9, 1)


@pytest.fixture
def activity():
    return make_activity(CommuneFactory(name="Villebois", slug="villebois"))


@pytest.fixture
def unit(activity):
    return activity.units.get()


@pytest.fixture
def other_activity():
    return make_activity(CommuneFactory(name="Autreville", slug="autreville"), slug="autre")


def tariff(unit, **fields) -> Tariff:
    fields.setdefault("kind", TariffKind.FLAT)
    fields.setdefault("valid_from", SEPTEMBER)
    return Tariff(commune=unit.commune, unit=unit, **fields)


def errors_of(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


# --- Tariffs ----------------------------------------------------------------------------------


def test_a_flat_tariff_needs_its_price(unit):
    assert errors_of(tariff(unit)) == {"price": ["Indiquez le prix du tarif unique."]}
    tariff(unit, price=D("1.80")).full_clean()


def test_an_effort_rate_needs_its_rate_and_maximum(unit):
    errors = errors_of(tariff(unit, kind=TariffKind.EFFORT_RATE))
    assert errors["effort_rate"] == ["Indiquez le taux d'effort, par exemple 0,36 (%)."]
    assert errors["maximum"] == [
        "Indiquez le prix maximum : c'est aussi le prix payé sans quotient familial connu."
    ]
    tariff(unit, kind=TariffKind.EFFORT_RATE, effort_rate=D("0.36"), maximum=D("4.50")).full_clean()


def test_fields_of_another_mode_must_stay_empty(unit):
    errors = errors_of(tariff(unit, kind=TariffKind.QF_BRACKETS, price=D("1.00")))
    assert errors == {
        "price": [
            "Ce champ ne sert pas au mode « Par tranches de quotient familial » : laissez-le vide."
        ]
    }
    errors = errors_of(tariff(unit, price=D("1.00"), maximum=D("4.50")))
    assert list(errors) == ["maximum"]


def test_minimum_above_maximum_and_negative_prices_are_refused(unit):
    errors = errors_of(
        tariff(
            unit,
            kind=TariffKind.EFFORT_RATE,
            effort_rate=D("0.36"),
            minimum=D("5.00"),
            maximum=D("4.50"),
        )
    )
    assert errors == {"__all__": ["Le prix minimum dépasse le prix maximum."]}
    errors = errors_of(tariff(unit, price=D("-0.01")))
    assert errors == {"__all__": ["Un prix n'est pas négatif."]}
    errors = errors_of(tariff(unit, price=D(1), second_child_discount=D(101)))
    assert errors == {"__all__": ["Une réduction est un pourcentage de 0 à 100."]}


def test_a_unit_has_one_tariff_per_day(unit):
    tariff(unit, price=D("1.80")).save()
    assert errors_of(tariff(unit, price=D("1.95"))) == {
        "__all__": ["Cette unité a déjà un tarif à partir de cette date."]
    }
    tariff(unit, price=D("1.95"), valid_from=date(2027, 9, 1)).full_clean()


def test_a_unit_of_another_commune_is_refused(unit, other_activity):
    stranger = Tariff(
        commune=other_activity.commune, unit=unit, kind=TariffKind.FLAT, price=D(1),
        valid_from=SEPTEMBER,
    )  # fmt: skip
    assert errors_of(stranger) == {"unit": ["Cette unité appartient à une autre commune."]}


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": TariffKind.FLAT},  # no price
        {"kind": TariffKind.FLAT, "price": D("-1")},
        {"kind": TariffKind.EFFORT_RATE, "effort_rate": D("0.36")},  # no maximum
        {"kind": TariffKind.EFFORT_RATE, "effort_rate": D(0), "maximum": D(4)},
        {"kind": TariffKind.EFFORT_RATE, "effort_rate": D(1), "minimum": D(5), "maximum": D(4)},
        {"kind": TariffKind.QF_BRACKETS, "non_resident_price": D("-5")},
        {"kind": TariffKind.QF_BRACKETS, "third_child_discount": D("-5")},
    ],
)
def test_the_database_refuses_what_validation_refuses(unit, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        tariff(unit, **fields).save()


def test_brackets_validation_messages():
    with pytest.raises(ValidationError, match="La première tranche commence à 0 €"):
        validate_brackets(TariffKind.QF_BRACKETS, [D(400), D(700)])
    with pytest.raises(ValidationError, match="au moins une tranche"):
        validate_brackets(TariffKind.QF_BRACKETS, [])
    with pytest.raises(ValidationError, match="ne servent qu'au mode « Par tranches"):
        validate_brackets(TariffKind.FLAT, [D(0)])
    validate_brackets(TariffKind.QF_BRACKETS, [D(700), D(0)])
    validate_brackets(TariffKind.EFFORT_RATE, [])


def test_brackets_are_unique_per_lower_bound_and_not_negative(unit):
    meal = tariff(unit, kind=TariffKind.QF_BRACKETS)
    meal.save()
    TariffBracket.objects.create(commune=unit.commune, tariff=meal, qf_min=D(0), price=D("0.50"))
    twin = TariffBracket(commune=unit.commune, tariff=meal, qf_min=D(0), price=D("1.00"))
    assert errors_of(twin) == {"__all__": ["Deux tranches commencent au même quotient familial."]}
    negative = TariffBracket(commune=unit.commune, tariff=meal, qf_min=D(-1), price=D("-1"))
    errors = errors_of(negative)
    assert errors["qf_min"] == ["Assurez-vous que cette valeur est supérieure ou égale à 0."]
    assert errors["price"] == ["Assurez-vous que cette valeur est supérieure ou égale à 0."]
    with pytest.raises(IntegrityError), transaction.atomic():
        negative.save()


def test_a_tariff_from_the_database_prices_to_the_cent(unit):
    meal = tariff(unit, kind=TariffKind.QF_BRACKETS, second_child_discount=D(10))
    meal.save()
    for qf_min, price in [("0", "0.50"), ("400", "1.35"), ("1600", "4.15")]:
        TariffBracket.objects.create(
            commune=unit.commune, tariff=meal, qf_min=D(qf_min), price=D(price)
        )
    tariff(unit, price=D("9.99"), valid_from=date(2027, 9, 1)).save()

    in_force = pricing.tariff_in_force(unit.tariffs.all(), date(2027, 6, 30))
    assert in_force == meal
    price = pricing.unit_price(
        tariff=in_force, brackets=in_force.brackets.all(), qf=D("1600.00"), resident=True,
        sibling_rank=1,
    )  # fmt: skip
    assert price.amount == D("4.15")
    assert pricing.line_amount(17, price.amount) == D("70.55")
    second = pricing.unit_price(
        tariff=in_force, brackets=in_force.brackets.all(), qf=D("400.00"), resident=True,
        sibling_rank=2,
    )  # fmt: skip
    assert (second.amount, second.label) == (D("1.22"), "QF de 400 € à 1599,99 €")  # 1,215


def test_a_priced_unit_cannot_be_deleted(unit):
    tariff(unit, price=D("1.80")).save()
    with pytest.raises(ProtectedError):
        unit.delete()


# --- Régies -----------------------------------------------------------------------------------


def regie(commune, code="ENF", name="Régie enfance") -> Regie:
    return Regie.objects.create(commune=commune, code=code, name=name)


def test_an_activity_is_billed_by_one_regie_only(activity):
    enfance = regie(activity.commune)
    scolaire = regie(activity.commune, code="SCO", name="Régie scolaire")
    RegieActivity.objects.create(commune=activity.commune, regie=enfance, activity=activity)

    second = RegieActivity(commune=activity.commune, regie=scolaire, activity=activity)
    assert errors_of(second) == {
        "__all__": [
            "Cette activité est déjà facturée par une régie : une activité n'est facturée que "
            "par une seule régie."
        ]
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    assert list(activity.regies.all()) == [enfance]


def test_a_regie_bills_only_its_communes_activities(activity, other_activity):
    enfance = regie(activity.commune)
    stranger = RegieActivity(commune=activity.commune, regie=enfance, activity=other_activity)
    assert errors_of(stranger) == {"activity": ["Cette activité appartient à une autre commune."]}


def test_regie_code_and_name_are_unique_per_commune(activity, other_activity):
    regie(activity.commune)
    twin = Regie(commune=activity.commune, code="ENF", name="Régie enfance")
    assert sorted(errors_of(twin)["__all__"]) == [
        "Une régie de la commune a déjà ce code.",
        "Une régie de la commune porte déjà ce nom.",
    ]
    Regie(commune=other_activity.commune, code="ENF", name="Régie enfance").full_clean()
    lower = Regie(commune=activity.commune, code="enf", name="Autre")
    assert list(errors_of(lower)) == ["code"]


# --- Penalty rules ----------------------------------------------------------------------------


def penalty(of, **fields) -> PenaltyRule:
    """A rule of the commune of the activity `of` (for all its activities unless given one)."""
    fields.setdefault("kind", PenaltyKind.PRESENCE_SANS_RESERVATION)
    fields.setdefault("valid_from", SEPTEMBER)
    return PenaltyRule(commune=of.commune, **fields)


def test_a_penalty_is_an_amount_or_a_percent(activity):
    assert errors_of(penalty(activity)) == {
        "amount": ["Indiquez soit un montant fixe, soit un pourcentage du prix de l'unité."]
    }
    assert errors_of(penalty(activity, amount=D(10), percent=D(50))) == {
        "percent": ["Un montant fixe ou un pourcentage, pas les deux."]
    }
    penalty(activity, percent=D(50)).full_clean()
    penalty(activity, amount=D("10.00")).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        penalty(activity, amount=D(10), percent=D(50)).save()


def test_a_credit_never_exceeds_the_price(activity):
    credit = penalty(activity, kind=PenaltyKind.ABSENCE_JUSTIFIEE, percent=D(150))
    assert errors_of(credit) == {
        "__all__": ["Une déduction ne dépasse pas le prix de l'unité (100 % au plus)."]
    }
    assert penalty(activity, kind=PenaltyKind.ABSENCE_JUSTIFIEE, percent=D(100)).is_credit
    assert not penalty(activity, percent=D(150)).is_credit
    penalty(activity, percent=D(150)).full_clean()  # a surcharge may be +150 %
    assert errors_of(penalty(activity, percent=D(0))) == {
        "__all__": ["Le pourcentage est supérieur à 0 et de 1000 % au plus."]
    }


def test_one_rule_per_kind_and_day_for_an_activity_and_for_the_commune(activity):
    penalty(activity, percent=D(50)).save()
    assert errors_of(penalty(activity, percent=D(60))) == {
        "__all__": [
            "La commune a déjà une règle de ce type pour toutes ses activités à partir de "
            "cette date."
        ]
    }
    # The activity's own rule beside the commune's is the point.
    own = penalty(activity, activity=activity, amount=D(10))
    own.full_clean()
    own.save()
    assert errors_of(penalty(activity, activity=activity, amount=D(12))) == {
        "__all__": ["Cette activité a déjà une règle de ce type à partir de cette date."]
    }
    penalty(activity, kind=PenaltyKind.RETARD_SOIR, amount=D(3)).full_clean()


def test_a_rule_for_another_communes_activity_is_refused(activity, other_activity):
    assert errors_of(penalty(activity, activity=other_activity, amount=D(3))) == {
        "activity": ["Cette activité appartient à une autre commune."]
    }
