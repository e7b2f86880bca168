"""The invoicing run (billing/invoicing.py): behaviours the mutation run of 6 December (on
commit e48951d) found unpinned (issue 24 §3): the invoice's title elided before a vowel in
French whatever the page's language, the warnings of some families only, and a shared child's
part under a percentage said with its decimal comma, after the price's explanation, within the
label's 200 characters."""

from datetime import date, datetime, time
from decimal import Decimal as D

import pytest
from django.utils import translation

from parvis.activities.models import BookingStatus, Unit
from parvis.activities.rules import PARIS
from parvis.activities.services_custody import record_custody
from parvis.activities.tests.factories import make_activity
from parvis.billing import invoicing
from parvis.billing.models import LineKind, PenaltyKind, Regie, RegieActivity
from parvis.billing.tests.invoicing_factories import (
    NOV,
    NOV_DAYS,
    book,
    child,
    family,
    flat,
    make_world,
    tick,
)
from parvis.families.models import CustodyRule


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_invoice_title_is_elided_before_a_vowel_in_french(language):
    with translation.override(language):
        assert [invoicing.invoice_label(date(2026, month, 1)) for month in (4, 8, 10, 11)] == [
            "Facture d'avril 2026",
            "Facture d'août 2026",
            "Facture d'octobre 2026",
            "Facture de novembre 2026",
        ]


@pytest.mark.django_db
def test_the_warnings_of_some_families_name_only_them():
    world = make_world()
    durand = family(world, "DURAND")
    martin = family(world, "MARTIN")
    for famille, name in ((durand, "Léa"), (martin, "Tom")):
        kid = child(world, famille, name, date(2018, 4, 1))
        tick(kid, world.am, NOV_DAYS[0], present=True)  # present without a booking
    everyone = invoicing.penalty_events(regie=world.regie, month=NOV)
    assert [famille.name for famille, _events in everyone] == ["DURAND", "MARTIN"]
    some = invoicing.penalty_events(regie=world.regie, month=NOV, famille_ids=[martin.pk])
    assert [(famille.name, len(events)) for famille, events in some] == [("MARTIN", 1)]


@pytest.mark.django_db
def test_a_part_with_decimals_is_said_with_a_comma_after_the_prices_explanation():
    world = make_world()
    mother = family(world, "DURAND", qf="1650.00")
    father = family(world, "MARTIN", qf="1650.00")
    lea = child(world, mother, "Léa", date(2018, 4, 1))
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.POURCENTAGE,
        since=date(2026, 9, 1), percent_foyer=D("62.5"),
    )  # fmt: skip
    book(lea, world.meal, NOV_DAYS)  # 17 × 4,15 € = 70,55 €

    found = {
        bill.famille.name: bill for bill in invoicing.compute_month(regie=world.regie, month=NOV)
    }

    mother_line, father_line = found["DURAND"].lines[0], found["MARTIN"].lines[0]
    assert mother_line.label == (
        "Restauration scolaire (Repas) — Léa DURAND — part de 62,5 % (garde partagée)"
    )
    assert father_line.label.endswith(" — part de 37,5 % (garde partagée)")
    assert mother_line.explanation == (
        "QF 1650 € : tranche QF de 1600 € à 1900 €, 4,15 € — part de 62,5 % (garde partagée)"
    )
    assert (mother_line.amount, father_line.amount) == (D("44.09"), D("26.46"))


@pytest.mark.django_db
def test_a_shared_childs_long_label_keeps_to_200_characters():
    world = make_world()
    world.canteen.name = "Restauration scolaire et pause méridienne " * 2 + "des écoles"
    world.canteen.save()
    mother = family(world, "DURAND", qf="1650.00")
    father = family(world, "MARTIN", qf="1650.00")
    lea = child(
        world,
        mother,
        "Léa-Marie-Charlotte-Eugénie-Joséphine-Apolline-Bérénice-Clémence",
        date(2018, 4, 1),
    )
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.POURCENTAGE,
        since=date(2026, 9, 1), percent_foyer=D("50"),
    )  # fmt: skip
    book(lea, world.meal, NOV_DAYS[:1])

    (mother_bill, _father_bill) = invoicing.compute_month(regie=world.regie, month=NOV)

    assert len(mother_bill.lines[0].label) == 200


@pytest.mark.django_db
def test_a_presence_without_booking_of_a_long_title_keeps_to_200_characters():
    world = make_world()
    world.canteen.name = "Restauration scolaire et pause méridienne " * 2 + "des écoles"
    world.canteen.save()
    durand = family(world, "DURAND", qf="1650.00")
    lea = child(
        world,
        durand,
        "Léa-Marie-Charlotte-Eugénie-Joséphine-Apolline-Bérénice-Hortense",
        date(2018, 4, 1),
    )
    tick(lea, world.meal, NOV_DAYS[0], present=True)

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    assert bill.lines[0].label.startswith("Présence sans réservation — Restauration scolaire")
    assert len(bill.lines[0].label) == 200


@pytest.mark.django_db
@pytest.mark.parametrize("side", ["DURAND", "MARTIN"])
def test_one_household_billed_alone_gets_only_its_weeks_of_a_shared_child(side):
    # Alternating weeks: the mother (Léa's foyer) has the even ones, the father the odd ones;
    # she booked the whole month. Billing one household alone (famille_ids) still follows
    # the rule, whichever of the two it is.
    world = make_world()
    households = {"DURAND": family(world, "DURAND"), "MARTIN": family(world, "MARTIN")}
    lea = child(world, households["DURAND"], "Léa", date(2018, 4, 1))
    record_custody(
        child=lea, other_famille=households["MARTIN"], actor=None,
        rule=CustodyRule.SEMAINES_PAIRES, since=date(2026, 9, 1),
    )  # fmt: skip
    book(lea, world.am, NOV_DAYS)

    (bill,) = invoicing.compute_month(
        regie=world.regie, month=NOV, famille_ids=[households[side].pk]
    )

    even = side == "DURAND"
    weeks = [d.isoformat() for d in NOV_DAYS if (d.isocalendar().week % 2 == 0) == even]
    assert (bill.famille.name, bill.lines[0].days) == (side, weeks)
    assert bill.total == D("1.20") * len(weeks)


@pytest.mark.django_db
def test_a_shared_childs_late_booking_is_billed_to_the_household_of_the_day():
    # Monday 16 November (week 47, odd: the father's), booked by the mother on Sunday evening,
    # after the deadline (Friday 09:00): the father pays the day and its 2,00 € surcharge.
    world = make_world(rules=False)
    world.rule(PenaltyKind.RESERVATION_TARDIVE, amount=D("2.00"))
    mother, father = family(world, "DURAND"), family(world, "MARTIN")
    lea = child(world, mother, "Léa", date(2018, 4, 1))
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.SEMAINES_PAIRES,
        since=date(2026, 9, 1),
    )  # fmt: skip
    book(lea, world.am, [date(2026, 11, 16)], at=datetime(2026, 11, 15, 20, 0, tzinfo=PARIS))

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    assert bill.famille.name == "MARTIN"
    assert [(line.kind, line.amount) for line in bill.lines] == [
        (LineKind.PRESTATION, D("1.20")),
        (LineKind.PENALITE, D("2.00")),
    ]


@pytest.mark.django_db
def test_billing_some_families_reads_only_their_register_rows():
    world = make_world()
    durand, martin = family(world, "DURAND"), family(world, "MARTIN")
    lea = child(world, durand, "Léa", date(2018, 4, 1))
    tom = child(world, martin, "Tom", date(2018, 4, 1))
    book(lea, world.am, NOV_DAYS[:1])
    tick(tom, world.am, NOV_DAYS[0], present=True)  # present without a booking

    bills = invoicing.compute_month(regie=world.regie, month=NOV, famille_ids=[durand.pk])

    assert [(bill.famille.name, bill.total) for bill in bills] == [("DURAND", D("1.20"))]


@pytest.mark.django_db
def test_families_of_the_same_name_come_by_their_file_number():
    # Two DURAND families: the one recorded second has the smaller file number, and comes first.
    world = make_world()
    later = family(world, "DURAND", number=9001)
    first = family(world, "DURAND", number=42)
    for famille in (later, first):
        book(child(world, famille, "Léa", date(2018, 4, 1)), world.am, NOV_DAYS[:1])

    bills = invoicing.compute_month(regie=world.regie, month=NOV)

    assert [bill.famille.number for bill in bills] == [42, 9001]


@pytest.mark.django_db
def test_a_regie_without_activities_bills_nothing_to_the_families_asked():
    world = make_world()
    durand = family(world, "DURAND")
    book(child(world, durand, "Léa", date(2018, 4, 1)), world.am, NOV_DAYS[:1])
    empty = Regie.objects.create(commune=world.commune, name="Régie des sports", code="SPO")

    assert invoicing.compute_month(regie=empty, month=NOV, famille_ids=[durand.pk]) == []
    assert invoicing.penalty_events(regie=empty, month=NOV, famille_ids=[durand.pk]) == []


@pytest.mark.django_db
def test_a_child_only_ticked_absent_without_booking_adds_nothing_to_the_bill():
    world = make_world()
    durand = family(world, "DURAND")
    lea = child(world, durand, "Léa", date(2018, 4, 1))
    hugo = child(world, durand, "Hugo", date(2020, 4, 1))
    book(lea, world.am, NOV_DAYS[:1])
    tick(hugo, world.am, NOV_DAYS[0], present=False)  # not booked, ticked absent

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    assert [(line.child_name, line.amount) for line in bill.lines] == [("Léa DURAND", D("1.20"))]


@pytest.mark.django_db
def test_a_childs_lines_follow_the_order_of_the_activities_and_units():
    # A unit of the after-school care created after the canteen's: its line still comes with
    # the after-school care, before the meals.
    world = make_world()
    noon = Unit.objects.create(
        commune=world.commune, activity=world.peri, code="PERI_MIDI", label="Acc Midi",
        starts_at=time(12, 0), ends_at=time(13, 0), weekdays=[0, 1, 3, 4],
    )  # fmt: skip
    assert noon.pk > world.meal.pk
    flat(noon, "0.80")
    lea = child(world, family(world, "DURAND"), "Léa", date(2018, 4, 1))
    book(lea, world.meal, NOV_DAYS[:1])
    book(lea, noon, NOV_DAYS[:1])

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    assert [line.label for line in bill.lines] == [
        "Accueil Périscolaire (Acc Midi) — Léa DURAND",
        "Restauration scolaire (Repas) — Léa DURAND",
    ]


@pytest.mark.django_db
def test_a_percentage_from_mid_month_bills_the_days_before_whole_then_the_part():
    world = make_world()
    mother = family(world, "DURAND", qf="1650.00")
    father = family(world, "MARTIN", qf="1650.00")
    lea = child(world, mother, "Léa", date(2018, 4, 1))
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.POURCENTAGE,
        since=date(2026, 11, 16), percent_foyer=D("50"),
    )  # fmt: skip
    book(lea, world.am, NOV_DAYS)  # 8 days before the 16th, 9 from it, 1,20 € each

    found = {
        bill.famille.name: bill for bill in invoicing.compute_month(regie=world.regie, month=NOV)
    }

    assert [(line.quantity, line.amount) for line in found["DURAND"].lines] == [
        (8, D("9.60")),  # the whole days before the rule
        (9, D("5.40")),  # half of 9 × 1,20 €
    ]
    assert found["DURAND"].lines[1].label.endswith("— part de 50 % (garde partagée)")
    assert [(line.quantity, line.amount) for line in found["MARTIN"].lines] == [(9, D("5.40"))]


@pytest.mark.django_db
def test_a_penalty_line_says_its_rule_and_keeps_to_200_characters():
    world = make_world()
    world.canteen.name = "Restauration scolaire et pause méridienne " * 2 + "des écoles"
    world.canteen.save()
    durand = family(world, "DURAND", qf="1650.00")
    lea = child(
        world,
        durand,
        "Léa-Marie-Charlotte-Eugénie-Joséphine-Apolline-Bérénice-Hortense",
        date(2018, 4, 1),
    )
    tick(lea, world.meal, NOV_DAYS[0], present=True)  # present without a booking: +50 %

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    penalty = bill.lines[1]
    assert (penalty.kind, penalty.amount) == (LineKind.PENALITE, D("2.08"))
    assert penalty.price_label == penalty.explanation != ""
    assert penalty.label.startswith("Présence sans réservation — Restauration scolaire")
    assert len(penalty.label) == 200


@pytest.mark.django_db
def test_the_lines_follow_the_activities_positions_then_the_units_position_start_and_code():
    world = make_world()
    world.canteen.position, world.peri.position = 0, 1  # the canteen first, despite its name
    world.canteen.save()
    world.peri.save()
    Unit.objects.filter(pk=world.am.pk).update(position=1)
    Unit.objects.filter(pk=world.pm.pk).update(position=0)
    extra = [("ZZ_MIDI", "Acc Midi", time(12, 0)), ("PERI_PM_A", "Acc Soir bis", time(16, 30))]
    units = [world.meal, world.am, world.pm]
    for code, label, starts_at in extra:
        unit = Unit.objects.create(
            commune=world.commune, activity=world.peri, code=code, label=label, position=0,
            starts_at=starts_at, ends_at=time(18, 30), weekdays=[0, 1, 3, 4],
        )  # fmt: skip
        flat(unit, "1.00")
        units.append(unit)
    lea = child(world, family(world, "DURAND"), "Léa", date(2018, 4, 1))
    for unit in units:
        book(lea, unit, NOV_DAYS[:1])

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    assert [line.label.split(" — ")[0] for line in bill.lines] == [
        "Restauration scolaire (Repas)",
        "Accueil Périscolaire (Acc Midi)",  # position 0, 12:00
        "Accueil Périscolaire (Acc Soir bis)",  # position 0, 16:30, code PERI_PM_A
        "Accueil Périscolaire (Acc Soir)",  # position 0, 16:30, code PERI_PM_M
        "Accueil Périscolaire (Acc Matin)",  # position 1
    ]


@pytest.mark.django_db
def test_the_families_to_bill_are_those_of_the_regies_units_booked_or_ticked_in_the_month():
    # Only DURAND has something for the « Régie enfance » in November: the others booked or were
    # ticked at another régie's activity, booked December only, or only wait for a seat. Were
    # they counted, the run would show them to bill and never finish them (nothing to bill).
    world = make_world()
    sports = make_activity(world.commune, slug="sports", name="École des sports")
    stadium = sports.units.get()
    other = Regie.objects.create(commune=world.commune, name="Régie des sports", code="SPO")
    RegieActivity.objects.create(commune=world.commune, regie=other, activity=sports)
    kids = {
        name: child(world, family(world, name), "Léa", date(2018, 4, 1), world.peri, sports)
        for name in ("BERNARD", "DURAND", "LEROY", "MARTIN", "PETIT")
    }
    book(kids["DURAND"], world.am, NOV_DAYS[:1])
    book(kids["MARTIN"], stadium, NOV_DAYS[:1])  # another régie's unit
    tick(kids["PETIT"], stadium, NOV_DAYS[0], present=True)  # ticked at another régie's unit
    book(kids["BERNARD"], world.am, [date(2026, 12, 1)])  # booked for December only
    tick(kids["BERNARD"], world.am, date(2026, 10, 1), present=True)  # ticked in October only
    book(kids["LEROY"], world.am, NOV_DAYS[:1], status=BookingStatus.LISTE_ATTENTE)

    assert invoicing.families_to_bill(regie=world.regie, month=NOV) == [kids["DURAND"].famille_id]
    assert invoicing.families_to_bill(regie=other, month=NOV) == [
        kids["MARTIN"].famille_id,
        kids["PETIT"].famille_id,
    ]


@pytest.mark.django_db
def test_the_families_to_bill_come_by_name_then_file_number():
    # The run bills them, chunk after chunk, and numbers their invoices in this order.
    world = make_world()
    arnaud = family(world, "ARNAUD", number=30)
    later = family(world, "DURAND", number=20)
    first = family(world, "DURAND", number=10)  # recorded last, the smaller file number
    for famille in (arnaud, later, first):
        book(child(world, famille, "Léa", date(2018, 4, 1)), world.am, NOV_DAYS[:1])

    assert invoicing.families_to_bill(regie=world.regie, month=NOV) == [
        arnaud.pk,
        first.pk,
        later.pk,
    ]
