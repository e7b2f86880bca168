"""The demo billing data: Carrières-sous-Poissy's « Régie enfance » bills the demo activities,
every demo unit has its tariff (the canteen by 8 QF brackets, the care slots flat), the
commune's rules exist, the prices come out as the module says, and a second load duplicates
nothing."""

from datetime import date
from decimal import Decimal as D

import pytest

from parvis.billing import demo, pricing
from parvis.billing.models import (
    PenaltyKind,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
)
from parvis.portal.management.commands.load_demo import LOADERS

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)


@pytest.fixture
def loaded(demo_communes):
    from parvis.activities import demo as activities_demo
    from parvis.families import demo as families_demo

    families_demo.load()
    activities_demo.load(today=TODAY)
    return demo.load(today=TODAY)


def snapshot():
    return (
        list(Regie.objects.order_by("pk").values()),
        list(RegieActivity.objects.order_by("pk").values()),
        list(Tariff.objects.order_by("pk").values()),
        list(TariffBracket.objects.order_by("pk").values()),
        list(PenaltyRule.objects.order_by("pk").values()),
    )


def test_the_demo_loader_is_registered_after_the_activities():
    names = [loader.__module__ for loader in LOADERS]
    assert names.index("parvis.billing.demo") > names.index("parvis.activities.demo")


def test_the_regie_bills_every_demo_activity(loaded):
    assert (loaded.name, loaded.code, loaded.commune.slug) == (
        "Régie enfance",
        "ENF",
        "carrieres-sous-poissy",
    )
    assert sorted(loaded.activities.values_list("slug", flat=True)) == [
        "loisirs-mercredi",
        "peri-maternelle",
        "restauration",
    ]
    assert loaded.email == "regie@carrieres-sous-poissy.fr"


def test_every_demo_unit_has_its_tariff(loaded):
    tariffs = {
        t.unit.code: t
        for t in Tariff.objects.filter(commune__slug=demo.SLUG).select_related("unit__activity")
    }
    assert {code: t.kind for code, t in tariffs.items()} == {
        "REPAS": TariffKind.QF_BRACKETS,
        "PERI_AM_M": TariffKind.FLAT,
        "PERI_PM_M": TariffKind.FLAT,
        "ALSH_MER": TariffKind.EFFORT_RATE,
    }
    for tariff in tariffs.values():
        tariff.full_clean()
        assert tariff.valid_from == tariff.unit.activity.start == date(2026, 9, 1)
    meal = tariffs["REPAS"]
    assert meal.brackets.count() == 8

    def price(code, qf, **kwargs):
        tariff = tariffs[code]
        options = {"resident": True, "sibling_rank": 1, **kwargs}
        return pricing.unit_price(
            tariff=tariff, brackets=tariff.brackets.all(), qf=qf, **options
        ).amount

    assert price("REPAS", D("399.99")) == D("0.50")
    assert price("REPAS", D("1700.00")) == D("4.15")
    assert price("REPAS", None) == D("4.90")
    assert price("REPAS", D("1700.00"), sibling_rank=2) == D("3.74")
    assert price("REPAS", D("100.00"), resident=False) == D("5.90")
    assert price("PERI_AM_M", None) == D("1.20")
    assert price("PERI_PM_M", D("500.00")) == D("2.10")
    assert price("ALSH_MER", D("1000.00")) == D("8.00")
    assert price("ALSH_MER", None) == D("14.00")


def test_the_communes_rules(loaded):
    rules = {r.kind: r for r in PenaltyRule.objects.filter(activity__isnull=True)}
    assert set(rules) == {
        PenaltyKind.PRESENCE_SANS_RESERVATION,
        PenaltyKind.ABSENCE_NON_JUSTIFIEE,
        PenaltyKind.RETARD_SOIR,
        PenaltyKind.ABSENCE_JUSTIFIEE,
    }
    assert pricing.penalty_amount(rules[PenaltyKind.PRESENCE_SANS_RESERVATION], D("4.15")) == D(
        "2.08"
    )
    assert pricing.penalty_amount(rules[PenaltyKind.ABSENCE_NON_JUSTIFIEE], D("4.15")) == D("2.08")
    assert pricing.penalty_amount(rules[PenaltyKind.RETARD_SOIR], D("2.10")) == D("3.00")
    assert pricing.penalty_amount(rules[PenaltyKind.ABSENCE_JUSTIFIEE], D("4.15")) == D("-4.15")


def test_loading_again_duplicates_nothing(loaded):
    before = snapshot()
    demo.load(today=TODAY)
    demo.load(today=date(2026, 12, 1))
    assert snapshot() == before


def test_loading_again_restores_the_demo_figures(loaded):
    meal = Tariff.objects.get(commune__slug=demo.SLUG, unit__code="REPAS")
    meal.brackets.filter(qf_min=D(400)).update(price=D("9.99"))
    TariffBracket.objects.create(commune=meal.commune, tariff=meal, qf_min=D(50), price=D(1))
    demo.load(today=TODAY)
    assert list(meal.brackets.values_list("qf_min", "price")) == [
        (qf_min.quantize(D("0.01")), price) for qf_min, price in demo.MEAL_BRACKETS
    ]
