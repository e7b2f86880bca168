"""The basket's price preview (billing/preview.py), the rules and words mutation testing found
unpinned (issue 24 §3): every sentence a family reads (singular and plural), the signs, the QF
line only when a price depends on it, what is read (this commune's units, the family's children,
this commune's late-booking rules, only when days are added), sibling ranks per régie with
unknown birth dates last, days already booked or not booked, unusable tariffs said « non
défini » rather than guessed, and several months. The DURAND world of test_preview."""

from datetime import date, datetime, time
from decimal import Decimal as D

import pytest

from parvis.activities.tests.factories import make_activity
from parvis.billing import preview as module
from parvis.billing.models import PenaltyKind, PenaltyRule, Regie, RegieActivity, TariffKind
from parvis.billing.tests import test_preview as base
from parvis.billing.tests.test_preview import (
    DECEMBER,
    JANUARY_17,
    MONDAY_23,
    added,
    book,
    late_rule,
    lines,
    make_unit,
    only_month,
    preview,
    qf,
    removed,
    tariff,
)
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, PersonneFactory

pytestmark = pytest.mark.django_db

world = base.world  # the DURAND family, Léa (2019) and Hugo (2021), the canteen's « Repas »


def matin(world, *, regie=None, price="1.20", **fields):
    """The morning care, flat, billed by `regie` (the world's by default)."""
    unit = make_unit(world["commune"], name="Accueil du matin", slug="matin", code="PERI_AM_M",
                     label="Acc Matin", starts_at=time(7, 30))  # fmt: skip
    RegieActivity.objects.create(
        commune=world["commune"], regie=regie or world["regie"], activity=unit.activity
    )
    tariff(unit, TariffKind.FLAT, price=D(price), **fields)
    return unit


# --- Words --------------------------------------------------------------------------------------


def test_signed_amounts():
    assert module.signed(D("8.85")) == "+8,85 €"
    assert module.signed(D("0.01")) == "+0,01 €"
    assert module.signed(D("-2.95")) == "\u22122,95 €"
    assert module.signed(D("-0.01")) == "\u22120,01 €"
    assert module.signed(D("0.00")) == "0,00 €"


@pytest.mark.parametrize(
    ("kind", "days", "text"),
    [
        (module.ADDED, 1, "1 jour ajouté à 2,75 €"),
        (module.ADDED, 2, "2 jours ajoutés à 2,75 €"),
        (module.REMOVED, 1, "1 jour annulé à 2,75 €"),
        (module.REMOVED, 3, "3 jours annulés à 2,75 €"),
        (
            module.WAITING,
            1,
            "1 jour en liste d'attente : facturé seulement si une place vous est attribuée",
        ),
        (module.UNPRICED, 1, "1 jour : tarif non défini, non compté"),
        (module.SURCHARGE, 2, "2 réservations après la date limite"),
        (
            module.OTHERS,
            0,
            "Autres jours réservés du mois : la réduction pour frères et sœurs change avec ce "
            "panier",
        ),
    ],
)
def test_every_line_in_words(kind, days, text):
    line = module.PreviewLine(
        kind=kind, child="Léa DURAND", unit="Repas", days=days, unit_price=D("2.75"),
        price_label="", explanation="", amount=D("2.75"),
    )  # fmt: skip
    assert line.text == text
    assert line.amount_text == "+2,75 €"
    line.amount = None
    assert line.amount_text == ""


def test_a_line_without_a_price_says_none():
    line = module.PreviewLine(
        kind=module.ADDED, child="", unit="", days=1, unit_price=None, price_label="",
        explanation="", amount=None,
    )  # fmt: skip
    assert line.text == "1 jour ajouté à 0,00 €"


def test_a_months_texts(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[5:6])
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:1])))
    assert (month.label, month.before_text, month.after_text, month.change_text) == (
        "décembre 2026",
        "2,75 €",
        "5,50 €",
        "+2,75 €",
    )
    assert month.summary == "1 jour ajouté à 2,75 €"
    assert month.qf_text == "quotient familial de 1000,00 € au 1er décembre 2026"


def test_no_summary_for_two_lines_or_a_line_without_amount(world):
    qf(world, "1000")
    two = added(world["lea"], world["repas"], DECEMBER[:1]) + added(
        world["hugo"], world["repas"], DECEMBER[:1]
    )
    assert only_month(preview(world, two)).summary == ""
    waiting = added(world["lea"], world["repas"], DECEMBER[:1], full=True)
    month = only_month(preview(world, waiting))
    assert [line.kind for line in month.lines] == ["attente"]
    assert month.summary == ""


def test_the_preview_names_its_section_after_the_family(world):
    result = preview(world, added(world["lea"], world["repas"], DECEMBER[:1]))
    assert result.ident == f"apercu-prix-{world['famille'].pk}"
    assert result.famille_id == world["famille"].pk
    assert (result.resident, result.pending) == (True, False)
    assert str(result) == result.__html__()


# --- When the QF is said ------------------------------------------------------------------------


def test_a_flat_tariff_does_not_depend_on_the_qf(world):
    qf(world, "1000")
    month = only_month(preview(world, added(world["lea"], matin(world), DECEMBER[:1])))
    assert month.qf == D("1000")
    assert month.qf_text == ""
    assert month.qf_used is False


def test_a_non_resident_without_a_non_resident_price_pays_by_qf_and_is_told(world):
    world["meal"].non_resident_price = None
    world["meal"].save()
    famille = world["famille"]
    famille.city, famille.postal_code = "Poissy", "78300"
    famille.save()
    qf(world, "1000")
    result = preview(world, added(world["lea"], world["repas"], DECEMBER[:1]))
    assert result.resident is False
    month = only_month(result)
    assert lines(month) == [("ajout", "Léa DURAND", 1, D("2.75"), D("2.75"))]
    assert month.qf_text == "quotient familial de 1000,00 € au 1er décembre 2026"


def test_a_qf_used_only_by_the_days_before_the_basket_is_still_said(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[:1])
    changes = removed(world["lea"], world["repas"], DECEMBER[:1]) + added(
        world["lea"], matin(world), DECEMBER[:1]
    )
    month = only_month(preview(world, changes))
    assert month.qf_text == "quotient familial de 1000,00 € au 1er décembre 2026"


def test_of_two_valid_qfs_the_latest_counts(world):
    qf(world, "2000", valid_from=date(2026, 1, 1))
    qf(world, "500", valid_from=date(2026, 6, 1))
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:1])))
    assert (month.qf, month.lines[0].unit_price) == (D("500"), D("1.35"))


def test_a_qf_valid_on_the_months_first_day_only_counts(world):
    qf(world, "500", valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 1))
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[3:4])))
    assert (month.qf, month.lines[0].unit_price) == (D("500"), D("1.35"))


# --- What is read -------------------------------------------------------------------------------


def test_a_unit_of_another_commune_is_never_priced(world):
    elsewhere = CommuneFactory(name="Ailleurs", slug="ailleurs", postal_code="78300")
    unit = make_unit(elsewhere, name="Cantine", slug="cantine", code="REPAS", label="Repas")
    regie = Regie.objects.create(commune=elsewhere, name="Régie", code="R")
    RegieActivity.objects.create(commune=elsewhere, regie=regie, activity=unit.activity)
    tariff(unit, TariffKind.FLAT, price=D("9.00"))
    assert preview(world, added(world["lea"], unit, DECEMBER[:1])) is None
    qf(world, "1000")
    month = only_month(
        preview(
            world,
            added(world["lea"], unit, DECEMBER[:1])
            + added(world["lea"], world["repas"], [DECEMBER[1]]),
        )
    )
    assert lines(month) == [
        ("ajout", "Léa DURAND", 1, D("2.75"), D("2.75")),
        ("non_tarife", "Léa DURAND", 1, None, None),
    ]


def test_bookings_of_the_months_edges_are_read(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], [date(2026, 12, 31), date(2027, 1, 29)])
    book(world, world["lea"], world["repas"], [date(2026, 11, 30), date(2027, 2, 1)])
    changes = added(world["hugo"], world["repas"], [DECEMBER[0], JANUARY_17[0]])
    december, january = preview(world, changes).months
    assert (december.before, january.before) == (D("2.75"), D("2.75"))
    assert (december.month, january.month) == (date(2026, 12, 1), date(2027, 1, 1))
    # Hugo is the 2nd child both months: Léa is booked in each.
    assert [line.unit_price for line in december.lines + january.lines] == [D("2.48")] * 2


def test_a_day_already_booked_is_not_added_again_and_a_day_not_booked_not_removed(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[:1])
    changes = added(world["lea"], world["repas"], DECEMBER[:2]) + removed(
        world["lea"], world["repas"], DECEMBER[2:3]
    )
    month = only_month(preview(world, changes))
    assert lines(month) == [("ajout", "Léa DURAND", 1, D("2.75"), D("2.75"))]
    assert (month.before, month.after) == (D("2.75"), D("5.50"))
    full_again = added(world["lea"], world["repas"], DECEMBER[:1], full=True)
    month = only_month(preview(world, full_again))
    assert (month.lines, month.change) == ([], D("0.00"))


def test_a_responsable_is_not_ranked_among_the_children(world):
    # A responsable born after the children would otherwise come before nobody; born before
    # them, ranked first, Léa would be 2nd.
    PersonneFactory(famille=world["famille"], first_names="Claire")
    qf(world, "1000")
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:1])))
    assert lines(month) == [("ajout", "Léa DURAND", 1, D("2.75"), D("2.75"))]


def test_a_child_without_a_birth_date_is_ranked_last(world):
    qf(world, "1000")
    nameless = ChildFactory(famille=world["famille"], first_names="Aaron", birth_date=None)
    changes = added(nameless, world["repas"], DECEMBER[:1]) + added(
        world["hugo"], world["repas"], DECEMBER[:1]
    )
    month = only_month(preview(world, changes))
    # Hugo (2021) first, Aaron (no date) second: lines in that order too.
    assert lines(month) == [
        ("ajout", "Hugo DURAND", 1, D("2.75"), D("2.75")),
        ("ajout", "Aaron DURAND", 1, D("2.48"), D("2.48")),
    ]


def test_sibling_ranks_are_counted_per_regie(world):
    qf(world, "1000")
    sports = Regie.objects.create(commune=world["commune"], name="Régie des sports", code="SPO")
    morning = matin(world, regie=sports, second_child_discount=D(50))
    book(world, world["lea"], world["repas"], DECEMBER[:1])  # Léa: meals only
    changes = added(world["hugo"], morning, DECEMBER[:1])
    month = only_month(preview(world, changes))
    # Hugo is the only child of the sports régie: no discount.
    assert lines(month) == [("ajout", "Hugo DURAND", 1, D("1.20"), D("1.20"))]


def test_a_tariff_pricing_cannot_use_is_not_defined(world):
    world["meal"].brackets.all().delete()  # a grid without brackets
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:1])))
    assert lines(month) == [("non_tarife", "Léa DURAND", 1, None, None)]
    assert month.qf_text == ""


def test_removing_days_of_an_unpriced_unit_is_said(world):
    unit = make_unit(world["commune"], name="Études", slug="etudes", code="ETU", label="Étude")
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=unit.activity
    )
    tariff(unit, TariffKind.FLAT, valid_from=date(2027, 1, 1), price=D("2.00"))
    book(world, world["lea"], unit, DECEMBER[:2])
    changes = removed(world["lea"], unit, DECEMBER[:2]) + added(world["lea"], unit, [JANUARY_17[0]])
    december, january = preview(world, changes).months
    assert lines(december) == [("non_tarife", "Léa DURAND", 2, None, None)]
    assert lines(january) == [("ajout", "Léa DURAND", 1, D("2.00"), D("2.00"))]


def test_pending_only_for_added_days_of_an_activity_that_instructs(world):
    activity = world["repas"].activity
    activity.needs_instruction = True
    activity.save()
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[:1])
    assert preview(world, removed(world["lea"], world["repas"], DECEMBER[:1])).pending is False
    assert preview(world, added(world["lea"], matin(world), DECEMBER[:1])).pending is False
    assert preview(world, added(world["lea"], world["repas"], DECEMBER[1:2])).pending is True


def test_months_come_in_order_whatever_the_baskets(world):
    qf(world, "1000")
    changes = added(world["lea"], world["repas"], [JANUARY_17[0]]) + added(
        world["lea"], world["repas"], [DECEMBER[0]]
    )
    assert [m.month for m in preview(world, changes).months] == [
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]


# --- Surcharges ---------------------------------------------------------------------------------


def test_no_late_rule_is_read_for_a_basket_of_cancellations(world, django_assert_num_queries):
    qf(world, "1000")
    late_rule(world, percent=D(50))
    book(world, world["lea"], world["repas"], [MONDAY_23])
    changes = removed(world["lea"], world["repas"], [MONDAY_23])
    with django_assert_num_queries(6):  # no penalty rules: nothing is added
        preview(world, changes)
    with django_assert_num_queries(7):
        preview(world, added(world["hugo"], world["repas"], [MONDAY_23]))


def test_another_communes_late_rule_and_other_kinds_are_ignored(world):
    qf(world, "1000")
    elsewhere = CommuneFactory(name="Ailleurs", slug="ailleurs")
    PenaltyRule.objects.create(
        commune=elsewhere, kind=PenaltyKind.RESERVATION_TARDIVE, valid_from=date(2026, 9, 1),
        amount=D("9.00"),
    )  # fmt: skip
    PenaltyRule.objects.create(
        commune=world["commune"], kind=PenaltyKind.RETARD_SOIR, valid_from=date(2026, 9, 1),
        amount=D("3.00"),
    )  # fmt: skip
    month = only_month(preview(world, added(world["lea"], world["repas"], [MONDAY_23])))
    assert [line.kind for line in month.lines] == ["ajout"]


def test_a_late_rule_not_yet_in_force_adds_nothing(world):
    qf(world, "1000")
    PenaltyRule.objects.create(
        commune=world["commune"], kind=PenaltyKind.RESERVATION_TARDIVE,
        valid_from=date(2026, 11, 24), amount=D("2.00"),
    )  # fmt: skip
    month = only_month(preview(world, added(world["lea"], world["repas"], [MONDAY_23])))
    assert [line.kind for line in month.lines] == ["ajout"]


def test_no_surcharge_on_a_day_without_a_price(world):
    late_rule(world, amount=D("2.00"))
    unit = make_unit(world["commune"], name="Études", slug="etudes", code="ETU", label="Étude")
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=unit.activity
    )
    tariff(unit, TariffKind.FLAT, valid_from=date(2026, 11, 24), price=D("2.00"))
    late = datetime(2026, 11, 23, 12, 0, tzinfo=base.PARIS)
    changes = added(world["lea"], unit, [MONDAY_23, date(2026, 11, 24)])
    month = only_month(preview(world, changes, now=late))
    assert [(line.kind, line.days, line.amount) for line in month.lines] == [
        ("non_tarife", 1, None),  # Monday: no tariff yet, so no surcharge either
        ("ajout", 1, D("2.00")),
        ("majoration", 1, D("2.00")),  # Tuesday, booked after Monday 09:00
    ]


def test_surcharges_of_two_children_and_two_days(world):
    qf(world, "1000")
    late_rule(world, percent=D(50))
    late = datetime(2026, 11, 24, 12, 0, tzinfo=base.PARIS)  # after both deadlines
    days = [MONDAY_23, date(2026, 11, 24)]
    changes = added(world["lea"], world["repas"], days) + added(world["hugo"], world["repas"], days)
    month = only_month(preview(world, changes, now=late))
    assert lines(month) == [
        ("ajout", "Léa DURAND", 2, D("2.75"), D("5.50")),
        ("ajout", "Hugo DURAND", 2, D("2.48"), D("4.96")),
        ("majoration", "Léa DURAND", 2, D("1.38"), D("2.76")),  # 1,375 → 1,38
        ("majoration", "Hugo DURAND", 2, D("1.24"), D("2.48")),  # 50 % of 2,48 €
    ]
    surcharge = month.lines[2]
    assert (surcharge.price_label, surcharge.unit) == ("Réservation tardive", "Repas")
    assert month.after == D("15.70")
    assert month.change == D("15.70")


def test_an_activity_not_billed_here_has_no_surcharge_but_its_own_activity_rule_is_used(world):
    qf(world, "1000")
    other = make_activity(world["commune"], name="Sport", slug="sport")
    late_rule(world, activity=other, amount=D("9.00"))
    month = only_month(preview(world, added(world["lea"], world["repas"], [MONDAY_23])))
    assert [line.kind for line in month.lines] == ["ajout"]  # the rule is another activity's


def test_a_day_still_open_does_not_hide_a_later_childs_late_day(world):
    # Léa (the elder, priced first) adds a day still open; Hugo a day past its deadline.
    qf(world, "1000")
    late_rule(world, percent=D(50))
    now = datetime(2026, 11, 24, 12, 0, tzinfo=base.PARIS)
    changes = added(world["lea"], world["repas"], [date(2026, 11, 30)]) + added(
        world["hugo"], world["repas"], [date(2026, 11, 24)]
    )
    month = only_month(preview(world, changes, now=now))
    assert [line for line in lines(month) if line[0] == "majoration"] == [
        ("majoration", "Hugo DURAND", 1, D("1.24"), D("1.24")),
    ]


def test_another_familys_quotient_bookings_and_children_change_nothing(world):
    changes = added(world["lea"], world["repas"], DECEMBER[:2])
    alone = only_month(preview(world, changes))
    # The MARTIN family of the same commune: a low QF, an elder child booked in December.
    from parvis.families.tests.factories import FamilleFactory

    martin = FamilleFactory(commune=world["commune"], name="MARTIN")
    elder = ChildFactory(famille=martin, first_names="Tom", birth_date=date(2015, 1, 1))
    low = qf(world, "300")
    type(low).objects.filter(pk=low.pk).update(famille=martin)
    book(world, elder, world["repas"], DECEMBER[:3])
    again = only_month(preview(world, changes))
    assert (again.before, again.after, lines(again)) == (alone.before, alone.after, lines(alone))
    assert again.before == D("0.00") and again.qf is None


def test_siblings_are_ranked_by_birth_date_not_by_their_order_of_creation(world):
    qf(world, "1000")
    # Zoé, the eldest, recorded after Léa and Hugo: she is the first child, Hugo the third.
    zoe = ChildFactory(famille=world["famille"], first_names="Zoé", birth_date=date(2016, 2, 1))
    changes = [
        change
        for child in (world["lea"], world["hugo"], zoe)
        for change in added(child, world["repas"], DECEMBER[:1])
    ]
    result = preview(world, changes)
    month = only_month(result)
    assert lines(month) == [
        ("ajout", "Zoé DURAND", 1, D("2.75"), D("2.75")),
        ("ajout", "Léa DURAND", 1, D("2.48"), D("2.48")),  # 10 % off the 2nd child
        ("ajout", "Hugo DURAND", 1, D("2.20"), D("2.20")),  # 20 % off the 3rd
    ]
    assert result.pending is False
