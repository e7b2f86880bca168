"""The basket's price preview (billing.preview.basket_preview), to the cent: QF brackets at their
edges, the effort rate at its bounds, sibling discounts (and what cancelling an elder's days does
to a younger's), non-residents, no QF, removals, units without a tariff, the waiting list, the
late-booking surcharge at its deadline, tariffs changing within a month, and its words.

The meal grid is Roncq 2025's of PRODUCT.md (0,50 € under 400 € … 4,90 € above 1900 €, the
middle brackets made up, as in test_pricing); the Wednesday's effort rate is the demo's (0,80 %
of the QF, between 4,00 € and 14,00 €)."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from parvis.activities.models import Unit
from parvis.activities.pricing_hooks import BasketChange
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity
from parvis.billing.models import (
    PenaltyKind,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
)
from parvis.billing.preview import basket_preview
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import QfSource, QuotientFamilial
from parvis.families.tests.factories import ChildFactory, FamilleFactory

pytestmark = pytest.mark.django_db

D = Decimal
# Friday 20 November 2026, 10:00: Monday 23's booking deadline (Friday 09:00) has passed.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
DECEMBER = [date(2026, 12, d) for d in (1, 2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18)]
# Seventeen school days of January 2027, Monday 4 to Tuesday 26.
JANUARY_17 = [
    date(2027, 1, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 25, 26)
]
RONCQ_2025 = [
    ("0", "0.50"),
    ("400", "1.35"),
    ("700", "2.10"),
    ("900", "2.75"),
    ("1100", "3.30"),
    ("1300", "3.75"),
    ("1600", "4.15"),
    ("1900.01", "4.90"),
]


def make_unit(commune, *, name, slug, code, label, starts_at=time(11, 30)):
    activity = make_activity(commune, name=name, slug=slug)
    Unit.objects.filter(activity=activity).update(
        code=code, label=label, starts_at=starts_at, weekdays=[0, 1, 2, 3, 4]
    )
    return activity.units.select_related("activity").get()


def tariff(unit, kind=TariffKind.QF_BRACKETS, valid_from=date(2026, 9, 1), brackets=(), **f):
    fields = {"second_child_discount": D(0), "third_child_discount": D(0), **f}
    row = Tariff.objects.create(
        commune=unit.commune, unit=unit, valid_from=valid_from, kind=kind, **fields
    )
    for qf_min, price in brackets:
        TariffBracket.objects.create(
            commune=unit.commune, tariff=row, qf_min=D(qf_min), price=D(price)
        )
    return row


@pytest.fixture
def world():
    """The DURAND family of Carrières-sous-Poissy (residents): Léa (born 2019) and Hugo (2021);
    the canteen's « Repas » by Roncq's brackets (10 % off the 2nd child, 20 % from the 3rd,
    5,90 € for non-residents), billed by the « Régie enfance »."""
    commune = CommuneFactory(name="Carrières-sous-Poissy", postal_code="78955")
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa", birth_date=date(2019, 3, 1))
    hugo = ChildFactory(famille=famille, first_names="Hugo", birth_date=date(2021, 5, 1))
    repas = make_unit(commune, name="Restauration scolaire", slug="cantine", code="REPAS",
                      label="Repas")  # fmt: skip
    regie = Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")
    RegieActivity.objects.create(commune=commune, regie=regie, activity=repas.activity)
    meal = tariff(
        repas, brackets=RONCQ_2025, non_resident_price=D("5.90"),
        second_child_discount=D(10), third_child_discount=D(20),
    )  # fmt: skip
    return {
        "commune": commune, "famille": famille, "lea": lea, "hugo": hugo, "repas": repas,
        "regie": regie, "meal": meal,
    }  # fmt: skip


def qf(world, value, valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31)):
    return QuotientFamilial.objects.create(
        commune=world["commune"], famille=world["famille"], value=D(value),
        source=QfSource.CAF, valid_from=valid_from, valid_until=valid_until,
    )  # fmt: skip


def book(world, child, unit, days, status="reservee"):
    from parvis.activities.models import Reservation

    for day in days:
        Reservation.objects.create(
            commune=world["commune"], famille=child.famille, child=child, unit=unit, day=day,
            status=status,
        )  # fmt: skip


def added(child, unit, days, full=False):
    return [BasketChange(child=child, unit=unit, day=day, added=True, full=full) for day in days]


def removed(child, unit, days):
    return [BasketChange(child=child, unit=unit, day=day, added=False) for day in days]


def preview(world, changes, now=NOW):
    return basket_preview(
        famille=world["famille"], commune=world["commune"], changes=changes, now=now
    )


def only_month(result):
    (month,) = result.months
    return month


def lines(month):
    return [
        (line.kind, line.child, line.days, line.unit_price, line.amount) for line in month.lines
    ]


# --- Brackets, effort rate, siblings, residence, QF ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "price", "label"),
    [
        ("399.99", "0.50", "QF de 0 € à 399,99 €"),
        ("400", "1.35", "QF de 400 € à 699,99 €"),
        ("699.99", "1.35", "QF de 400 € à 699,99 €"),
        ("700", "2.10", "QF de 700 € à 899,99 €"),
        ("1900", "4.15", "QF de 1600 € à 1900 €"),
        ("1900.01", "4.90", "QF de 1900,01 € et plus"),
    ],
)
def test_three_meals_at_the_edges_of_the_brackets(world, value, price, label):
    qf(world, value)
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:3])))
    (line,) = month.lines
    assert (line.kind, line.days, line.unit_price, line.price_label) == (
        "ajout",
        3,
        D(price),
        label,
    )
    assert line.amount == month.change == month.after == 3 * D(price)
    assert month.before == 0
    assert month.qf == D(value)


def test_seventeen_meals_at_4_15_are_70_55_to_the_cent(world):
    qf(world, "1700")
    book(world, world["lea"], world["repas"], [date(2027, 1, 27), date(2027, 1, 28)])
    month = only_month(preview(world, added(world["lea"], world["repas"], JANUARY_17)))
    assert lines(month) == [("ajout", "Léa DURAND", 17, D("4.15"), D("70.55"))]
    assert (month.before, month.after, month.change) == (D("8.30"), D("78.85"), D("70.55"))
    assert month.change_text == "+70,55 €"
    assert month.summary == "17 jours ajoutés à 4,15 €"


@pytest.mark.parametrize(
    ("value", "price"),
    [
        ("400", "4.00"),  # 3,20 € raised to the minimum
        ("500", "4.00"),  # exactly the minimum
        ("500.62", "4.00"),  # 4,00496 € rounds to 4,00 €
        ("500.63", "4.01"),  # 4,00504 € rounds to 4,01 €
        ("1234.56", "9.88"),
        ("1750", "14.00"),  # exactly the maximum
        ("1750.63", "14.00"),  # 14,01 € brought down to the maximum
        (None, "14.00"),  # no QF: the maximum
    ],
)
def test_the_effort_rate_at_its_bounds(world, value, price):
    mercredi = make_unit(world["commune"], name="Mercredis", slug="mercredi", code="ALSH_MER",
                         label="Journée", starts_at=time(8, 30))  # fmt: skip
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=mercredi.activity
    )
    tariff(mercredi, TariffKind.EFFORT_RATE, effort_rate=D("0.80"), minimum=D("4.00"),
           maximum=D("14.00"))  # fmt: skip
    if value is not None:
        qf(world, value)
    wednesdays = [date(2026, 12, 2), date(2026, 12, 9)]
    month = only_month(preview(world, added(world["hugo"], mercredi, wednesdays)))
    (line,) = month.lines
    assert (line.unit_price, line.amount) == (D(price), 2 * D(price))
    assert month.after == 2 * D(price)


def test_the_second_and_third_child_get_their_discount(world):
    qf(world, "1000")  # 2,75 € a meal
    zoe = ChildFactory(famille=world["famille"], first_names="Zoé", birth_date=date(2023, 1, 9))
    book(world, world["lea"], world["repas"], DECEMBER[:2])
    changes = added(world["hugo"], world["repas"], DECEMBER[:3]) + added(
        zoe, world["repas"], DECEMBER[:1]
    )
    month = only_month(preview(world, changes))
    # Hugo: 2,75 € less 10 % = 2,475 € → 2,48 €; Zoé: less 20 % = 2,20 €.
    assert lines(month) == [
        ("ajout", "Hugo DURAND", 3, D("2.48"), D("7.44")),
        ("ajout", "Zoé DURAND", 1, D("2.20"), D("2.20")),
    ]
    assert month.lines[0].explanation == (
        "QF 1000 € : tranche QF de 900 € à 1099,99 €, 2,75 € ; réduction 2e enfant 10 % : 2,48 €"
    )
    assert (month.before, month.after) == (D("5.50"), D("15.14"))


def test_cancelling_the_elders_days_costs_the_younger_their_discount(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[:1])
    book(world, world["hugo"], world["repas"], DECEMBER[:4])  # 4 × 2,48 € as the 2nd child
    month = only_month(preview(world, removed(world["lea"], world["repas"], DECEMBER[:1])))
    # Hugo becomes the first child billed this month: 4 × 2,75 € = 11,00 €.
    assert (month.before, month.after, month.change) == (D("12.67"), D("11.00"), D("-1.67"))
    assert lines(month) == [
        ("retrait", "Léa DURAND", 1, D("2.75"), D("-2.75")),
        ("autres", "", 0, None, D("1.08")),
    ]
    assert month.lines[1].text.startswith("Autres jours réservés du mois")
    others = month.lines[1]
    assert (others.unit, others.price_label, others.explanation) == ("", "", "")
    assert month.change_text == "\u22121,67 €"


def test_a_non_resident_family_pays_the_non_resident_price_whatever_its_qf(world):
    famille = world["famille"]
    famille.city, famille.postal_code = "Poissy", "78300"
    famille.save()
    qf(world, "300")
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:2])))
    assert lines(month) == [("ajout", "Léa DURAND", 2, D("5.90"), D("11.80"))]
    assert month.lines[0].price_label == "tarif non-résident"
    assert month.qf_text == ""  # the QF changes nothing to this price


def test_without_a_qf_the_highest_price_and_the_preview_says_so(world):
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:2])))
    assert lines(month) == [("ajout", "Léa DURAND", 2, D("4.90"), D("9.80"))]
    assert month.qf_text == "quotient familial inconnu : tarif le plus élevé"


def test_the_qf_is_the_one_valid_on_the_first_day_of_each_month(world):
    qf(world, "1000", valid_until=date(2026, 11, 30))  # expired before December
    qf(world, "500", valid_from=date(2026, 12, 2))  # not yet valid on 1 December
    changes = added(world["lea"], world["repas"], [DECEMBER[3], JANUARY_17[0]])
    december, january = preview(world, changes).months
    assert (december.qf, december.lines[0].unit_price) == (None, D("4.90"))
    assert (january.qf, january.lines[0].unit_price) == (D("500"), D("1.35"))
    assert january.qf_text == "quotient familial de 500,00 € au 1er janvier 2027"


# --- Removals, no tariff, waiting list, tariff change --------------------------------------------


def test_cancelled_days_come_off_the_months_amount(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[:3])
    book(world, world["lea"], world["repas"], [DECEMBER[5]], status="liste_attente")
    changes = removed(world["lea"], world["repas"], [*DECEMBER[:2], DECEMBER[5]])
    month = only_month(preview(world, changes))
    # The waiting-list day was never billed: cancelling it changes nothing.
    assert lines(month) == [("retrait", "Léa DURAND", 2, D("2.75"), D("-5.50"))]
    assert (month.before, month.after, month.change) == (D("8.25"), D("2.75"), D("-5.50"))
    assert month.lines[0].text == "2 jours annulés à 2,75 €"


def test_a_unit_without_a_tariff_is_said_and_left_out_of_the_sums(world):
    qf(world, "1000")
    matin = make_unit(world["commune"], name="Accueil du matin", slug="matin", code="PERI_AM_M",
                      label="Acc Matin", starts_at=time(7, 30))  # fmt: skip
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=matin.activity
    )
    book(world, world["lea"], matin, DECEMBER[5:7])  # booked, but priced nowhere
    changes = added(world["lea"], matin, DECEMBER[:2]) + added(
        world["lea"], world["repas"], DECEMBER[:1]
    )
    month = only_month(preview(world, changes))
    assert lines(month) == [
        ("ajout", "Léa DURAND", 1, D("2.75"), D("2.75")),
        ("non_tarife", "Léa DURAND", 2, None, None),
    ]
    assert month.lines[1].text == "2 jours : tarif non défini, non comptés"
    assert (month.before, month.after) == (D("0.00"), D("2.75"))


def test_nothing_to_say_when_no_unit_of_the_basket_is_billed(world):
    matin = make_unit(world["commune"], name="Accueil du matin", slug="matin", code="PERI_AM_M",
                      label="Acc Matin")  # fmt: skip
    assert preview(world, added(world["lea"], matin, DECEMBER[:2])) is None
    tariff(matin, TariffKind.FLAT, price=D("1.20"))  # a tariff, but no régie bills it
    assert preview(world, added(world["lea"], matin, DECEMBER[:2])) is None
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=matin.activity
    )
    assert only_month(preview(world, added(world["lea"], matin, DECEMBER[:2]))).after == D("2.40")


def test_a_tariff_from_before_its_first_day_is_not_defined(world):
    qf(world, "1000")
    early = added(world["lea"], world["repas"], [date(2026, 8, 31)])
    month = only_month(preview(world, early))
    assert lines(month) == [("non_tarife", "Léa DURAND", 1, None, None)]


def test_a_full_day_goes_to_the_waiting_list_and_is_not_counted(world):
    qf(world, "1000")
    changes = added(world["lea"], world["repas"], DECEMBER[:1]) + added(
        world["lea"], world["repas"], DECEMBER[1:3], full=True
    )
    month = only_month(preview(world, changes))
    assert lines(month) == [
        ("ajout", "Léa DURAND", 1, D("2.75"), D("2.75")),
        ("attente", "Léa DURAND", 2, None, None),
    ]
    assert month.lines[1].text == (
        "2 jours en liste d'attente : facturés seulement si une place vous est attribuée"
    )
    assert month.after == D("2.75")


def test_a_new_tariff_within_the_month_splits_the_line(world):
    tariff(world["repas"], TariffKind.FLAT, valid_from=date(2027, 1, 18), price=D("3.00"))
    qf(world, "1000")
    month = only_month(preview(world, added(world["lea"], world["repas"], JANUARY_17)))
    assert lines(month) == [
        ("ajout", "Léa DURAND", 10, D("2.75"), D("27.50")),
        ("ajout", "Léa DURAND", 7, D("3.00"), D("21.00")),
    ]
    assert month.after == D("48.50")


def test_another_familys_child_is_never_priced(world):
    other = ChildFactory(famille=FamilleFactory(commune=world["commune"]))
    assert preview(world, added(other, world["repas"], DECEMBER[:2])) is None


def test_pending_days_are_counted_as_if_accepted_and_said_so(world):
    activity = world["repas"].activity
    activity.needs_instruction = True
    activity.save()
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[:1], status="en_attente")
    result = preview(world, added(world["lea"], world["repas"], DECEMBER[1:2]))
    assert result.pending
    assert only_month(result).before == D("2.75")
    assert "ne seront facturés que si le service les accepte" in str(result)


# --- The surcharge: a booking after its deadline -------------------------------------------------


MONDAY_23, TUESDAY_24 = date(2026, 11, 23), date(2026, 11, 24)


def late_rule(world, **fields):
    return PenaltyRule.objects.create(
        commune=world["commune"], kind=PenaltyKind.RESERVATION_TARDIVE,
        valid_from=date(2026, 9, 1), **fields,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("now", "surcharged"),
    [
        (datetime(2026, 11, 20, 8, 59, tzinfo=PARIS), False),  # a minute before Friday 09:00
        (datetime(2026, 11, 20, 9, 0, tzinfo=PARIS), True),  # at 09:00: late
    ],
)
def test_a_booking_after_its_deadline_costs_the_late_booking_rule(world, now, surcharged):
    qf(world, "1000")
    late_rule(world, percent=D(50))
    month = only_month(
        preview(world, added(world["lea"], world["repas"], [MONDAY_23, TUESDAY_24]), now=now)
    )
    expected = [("ajout", "Léa DURAND", 2, D("2.75"), D("5.50"))]
    if surcharged:  # Monday only; 50 % of 2,75 € = 1,375 € → 1,38 €
        expected.append(("majoration", "Léa DURAND", 1, D("1.38"), D("1.38")))
    assert lines(month) == expected
    assert month.after == D("5.50") + (D("1.38") if surcharged else 0)
    if surcharged:
        assert month.lines[1].explanation == "Réservation tardive : 50 % de 2,75 €"
        assert month.lines[1].text == "1 réservation après la date limite"


def test_the_activitys_own_late_rule_wins_and_no_rule_means_no_surcharge(world):
    qf(world, "1000")
    changes = added(world["lea"], world["repas"], [MONDAY_23])
    assert [line.kind for line in only_month(preview(world, changes)).lines] == ["ajout"]
    late_rule(world, percent=D(50))
    late_rule(world, activity=world["repas"].activity, amount=D("5.00"))
    month = only_month(preview(world, changes))
    assert lines(month)[-1] == ("majoration", "Léa DURAND", 1, D("5.00"), D("5.00"))


def test_a_cancellation_causes_no_surcharge(world):
    qf(world, "1000")
    late_rule(world, percent=D(50))
    PenaltyRule.objects.create(
        commune=world["commune"], kind=PenaltyKind.ABSENCE_NON_JUSTIFIEE,
        valid_from=date(2026, 9, 1), percent=D(100),
    )  # fmt: skip
    book(world, world["lea"], world["repas"], [MONDAY_23])
    month = only_month(preview(world, removed(world["lea"], world["repas"], [MONDAY_23])))
    assert [line.kind for line in month.lines] == ["retrait"]
    assert month.after == 0


# --- Words and HTML -------------------------------------------------------------------------------


def test_the_preview_in_words_with_a_heading_and_signs(world):
    qf(world, "1000")
    book(world, world["lea"], world["repas"], DECEMBER[5:8])
    result = preview(world, added(world["lea"], world["repas"], DECEMBER[:3]))
    html = " ".join(str(result).split())
    assert f'<section class="panel resa-prix" aria-labelledby="{result.ident}">' in html
    assert f'<h3 id="{result.ident}">Estimation du prix</h3>' in html
    assert "<h4>Décembre 2026</h4>" in html
    assert (
        "Estimation pour décembre 2026 : +8,25 € (3 jours ajoutés à 2,75 €) ; total du mois "
        "16,50 €" in html
    )
    assert "Sans ces changements : 8,25 €." in html
    assert "Prix calculés avec : quotient familial de 1000,00 € au 1er décembre 2026." in html
    assert "Léa DURAND — Repas : 3 jours ajoutés à 2,75 € (QF de 900 € à 1099,99 €)" in html
    assert ": <strong>+8,25 €</strong>" in html


# --- The same rules as the invoice ----------------------------------------------------------------


def test_the_estimate_is_what_the_months_invoice_will_say(world):
    """After « Valider », the monthly run (billing.invoicing) bills the month the preview's
    « total du mois »: the same tariffs, brackets, split at a new tariff, siblings' ranks."""
    from parvis.activities.models import Reservation
    from parvis.billing.invoicing import compute_month

    qf(world, "1000")
    tariff(world["repas"], TariffKind.FLAT, valid_from=date(2027, 1, 18), price=D("3.00"))
    lea, hugo, repas = world["lea"], world["hugo"], world["repas"]
    book(world, lea, repas, JANUARY_17[:2])
    book(world, hugo, repas, JANUARY_17[:5])
    changes = (
        removed(lea, repas, JANUARY_17[:2])
        + added(hugo, repas, JANUARY_17[10:14])
        + added(lea, repas, JANUARY_17[14:])
    )
    month = only_month(preview(world, changes))
    Reservation.objects.filter(child=lea, day__in=JANUARY_17[:2]).delete()
    book(world, hugo, repas, JANUARY_17[10:14])
    book(world, lea, repas, JANUARY_17[14:])
    (bill,) = compute_month(
        regie=world["regie"], month=date(2027, 1, 1), famille_ids=[world["famille"].pk]
    )
    # Léa: 3 × 3,00 €; Hugo, 2nd: 5 × 2,48 € (2,75 € less 10 %) and 4 × 3,00 € (the new
    # tariff has no sibling discount).
    assert bill.total == month.after == D("9.00") + D("12.40") + D("12.00")
    assert month.before == D("5.50") + 5 * D("2.48")
