"""Payment plans (issue 19 §3): the split to the cent (hypothesis), the grant and its checks,
payments of any kind following the instalments in order (exactly, one cent under, more than
one), a cancelled payment taking an instalment back, the plan soldé, ended by an agent,
the invoices' reminders replaced by the instalments' ones, and the direct-debit hook."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.background.models import OutgoingEmail, PeriodicRun
from parvis.billing import plans, selectors_plans, services, services_plans
from parvis.billing.models import (
    InstalmentStatus,
    InvoiceStatus,
    PaymentMethod,
    PlanChange,
    PlanInvoice,
    PlanStatus,
)
from parvis.billing.services_relances import send_reminders
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import FamilleFactory, PersonneFactory
from parvis.testing.regie import make_agent, make_invoice, make_regie

TODAY = date(2026, 10, 20)


# --- The split --------------------------------------------------------------------------------


@given(
    cents=st.integers(min_value=1, max_value=10**8),
    count=st.integers(min_value=1, max_value=plans.MAX_INSTALMENTS),
)
def test_split_is_exact_to_the_cent_and_the_last_absorbs_the_rounding(cents, count):
    total = D(cents) / 100
    if cents < count:
        with pytest.raises(ValueError):
            plans.split(total, count)
        return
    amounts = plans.split(total, count)
    assert len(amounts) == count
    assert sum(amounts) == total
    assert all(amount > 0 and amount == amount.quantize(D("0.01")) for amount in amounts)
    assert len(set(amounts[:-1])) <= 1  # all equal but the last
    assert 0 <= amounts[-1] - amounts[0] < D("0.01") * count


def test_split_examples():
    assert plans.split(D("100.00"), 3) == [D("33.33"), D("33.33"), D("33.34")]
    assert plans.split(D("0.03"), 3) == [D("0.01")] * 3
    assert plans.split(D("90.10"), 1) == [D("90.10")]


def test_monthly_dates_keep_the_day_or_the_month_end():
    assert plans.monthly_dates(date(2027, 1, 31), 3) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]
    assert plans.monthly_dates(date(2026, 11, 15), 3)[-1] == date(2027, 1, 15)


def test_check_schedule_names_the_field():
    total = D("100.00")
    ok = [(date(2026, 11, 1), D("50.00")), (date(2026, 12, 1), D("50.00"))]
    assert plans.check_schedule(total=total, schedule=ok) == {}
    short = [(date(2026, 11, 1), D("50.00")), (date(2026, 12, 1), D("49.99"))]
    assert "0,01 €" in plans.check_schedule(total=total, schedule=short)["__all__"]
    zero = [(date(2026, 11, 1), D("100.00")), (date(2026, 12, 1), D("0.00"))]
    assert set(plans.check_schedule(total=total, schedule=zero)) == {"montant_2"}
    backwards = [(date(2026, 12, 1), D("50.00")), (date(2026, 12, 1), D("50.00"))]
    assert set(plans.check_schedule(total=total, schedule=backwards)) == {"date_2"}


# --- The plan ------------------------------------------------------------------------------------


@pytest.fixture
def now():
    with time_machine.travel("2026-10-20 10:00 +02:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, now):
    commune = CommuneFactory(name="Villebois", slug="villebois")
    regie = make_regie(commune)
    famille = FamilleFactory(commune=commune, name="DURAND")
    PersonneFactory(famille=famille, first_names="Françoise", email="francoise@example.fr")
    agent = make_agent(commune, AgentRole.Role.REGIE)
    first = make_invoice(regie, famille, "60.00", due_on=date(2026, 10, 10))
    second = make_invoice(regie, famille, "40.00", due_on=date(2026, 10, 15))
    return commune, regie, famille, agent, first, second


SCHEDULE = [
    (date(2026, 10, 25), D("33.33")),
    (date(2026, 11, 25), D("33.33")),
    (date(2026, 12, 25), D("33.34")),
]


def grant(world, schedule=SCHEDULE):
    _commune, _regie, famille, agent, first, second = world
    return services_plans.grant_plan(
        famille=famille, invoices=[second, first], schedule=schedule, actor=agent, today=TODAY
    )


def pay(world, amount, method=PaymentMethod.ESPECES, *, plan=None):
    _commune, regie, famille, agent, first, _second = world
    allocations = (
        selectors_plans.instalment_allocations(plan, D(amount))
        if plan is not None
        else [(first, D(amount))]
    )
    return services.record_payment(
        regie=regie,
        famille=famille,
        allocations=allocations,
        method=method,
        received_on=TODAY,
        actor=agent,
        send_receipt=False,
    )


def statuses(plan):
    return [(i.status, i.paid) for i in plan.instalments.order_by("position")]


def test_grant_orders_the_invoices_records_history_audit_and_mails(world):
    plan = grant(world)
    first, second = world[4], world[5]
    assert plan.total == D("100.00") and plan.status == PlanStatus.ACTIF
    assert [link.invoice_id for link in plan.links.order_by("position")] == [first.pk, second.pk]
    assert [i.amount for i in plan.instalments.order_by("position")] == [
        D("33.33"),
        D("33.33"),
        D("33.34"),
    ]
    assert PlanChange.objects.get(plan=plan).to_status == PlanStatus.ACTIF
    entry = AuditEntry.objects.get(action="echeancier.accorde")
    assert entry.changes["count"] == [None, 3]
    message = OutgoingEmail.objects.get()
    assert message.to == ["francoise@example.fr"]
    assert "33,34 € le 25/12/2026" in message.body


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ([(date(2026, 10, 25), D("50.00")), (date(2026, 11, 25), D("49.99"))], "__all__"),
        ([(date(2026, 10, 25), D("50.00")), (date(2026, 11, 25), D("50.01"))], "__all__"),
        ([(date(2026, 10, 19), D("50.00")), (date(2026, 11, 25), D("50.00"))], "date_1"),
        ([(date(2026, 10, 25), D("100.00")), (date(2026, 11, 25), D("0.00"))], "montant_2"),
    ],
)
def test_grant_refuses_a_wrong_schedule_next_to_its_field(world, schedule, field):
    with pytest.raises(ValidationError) as error:
        grant(world, schedule)
    assert field in error.value.message_dict
    assert not PlanInvoice.objects.exists()


def test_an_invoice_is_in_one_plan_en_cours_at_most(world):
    grant(world)
    with pytest.raises(ValidationError, match="déjà partie d'un échéancier"):
        grant(world)


def test_grant_refuses_a_paid_invoice_and_another_family(world):
    commune, _regie, _famille, agent, _first, second = world
    pay(world, "60.00")
    with pytest.raises(ValidationError, match="plus rien à régler"):
        grant(world)
    other = FamilleFactory(commune=commune, name="MARTIN")
    with pytest.raises(ValidationError, match="pas une facture de la famille"):
        services_plans.grant_plan(
            famille=other, invoices=[second], schedule=SCHEDULE[:1], actor=agent, today=TODAY
        )


def test_payments_cover_the_instalments_in_order_to_the_cent(world):
    plan = grant(world)
    # One cent under the first instalment: still to pay, 33.32 covered.
    pay(world, "33.32", plan=plan)
    assert statuses(plan)[0] == (InstalmentStatus.A_PAYER, D("33.32"))
    # The missing cent: paid exactly.
    pay(world, "0.01", plan=plan)
    assert statuses(plan)[0] == (InstalmentStatus.PAYEE, D("33.33"))
    assert statuses(plan)[1] == (InstalmentStatus.A_PAYER, D("0.00"))
    # The second instalment spans the two invoices: 26.67 on the first, 6.66 on the second.
    payment = pay(world, "33.33", plan=plan)
    assert sorted(a.amount for a in payment.allocations.all()) == [D("6.66"), D("26.67")]
    first, second = world[4], world[5]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == InvoiceStatus.REGLEE and second.paid == D("6.66")
    assert statuses(plan)[1] == (InstalmentStatus.PAYEE, D("33.33"))
    pay(world, "33.34", method=PaymentMethod.CARTE, plan=plan)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SOLDE and plan.ended_at is not None
    assert all(status == InstalmentStatus.PAYEE for status, _paid in statuses(plan))
    assert AuditEntry.objects.filter(action="echeancier.solde").count() == 1
    # A soldé plan frees its invoices.
    assert not PlanInvoice.objects.filter(held=True).exists()


def test_a_payment_of_more_than_an_instalment_covers_the_next(world):
    plan = grant(world)
    pay(world, "50.00", plan=plan)
    assert statuses(plan)[:2] == [
        (InstalmentStatus.PAYEE, D("33.33")),
        (InstalmentStatus.A_PAYER, D("16.67")),
    ]


def test_a_cancelled_payment_takes_the_instalment_back_and_the_plan_en_cours(world):
    plan = grant(world)
    agent = world[3]
    pay(world, "66.66", plan=plan)
    last = pay(world, "33.34", plan=plan)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SOLDE
    services.cancel_payment(payment=last, actor=agent, reason="Chèque sans provision")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIF
    assert statuses(plan)[2] == (InstalmentStatus.A_PAYER, D("0.00"))
    assert PlanInvoice.objects.filter(plan=plan, held=True).count() == 2


def test_a_payment_made_before_the_plan_does_not_count_for_it(world, now):
    agent = world[3]
    before = pay(world, "10.00")
    plan = grant(world, [(date(2026, 10, 25), D("50.00")), (date(2026, 11, 25), D("40.00"))])
    assert plan.total == D("90.00")
    services.cancel_payment(payment=before, actor=agent, reason="Erreur de saisie")
    assert statuses(plan)[0] == (InstalmentStatus.A_PAYER, D("0.00"))


def test_end_plan_needs_a_reason_and_frees_the_invoices(world):
    plan = grant(world)
    agent = world[3]
    with pytest.raises(ValidationError):
        services_plans.end_plan(plan=plan, to=PlanStatus.ROMPU, actor=agent, reason=" ")
    services_plans.end_plan(plan=plan, to=PlanStatus.ROMPU, actor=agent, reason="Non tenu")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ROMPU and plan.end_reason == "Non tenu"
    assert AuditEntry.objects.filter(action="echeancier.rompu").exists()
    assert not PlanInvoice.objects.filter(held=True).exists()
    with pytest.raises(ValidationError):
        services_plans.end_plan(plan=plan, to=PlanStatus.ANNULE, actor=agent, reason="x")


def test_an_invoice_under_plan_cannot_be_cancelled(world):
    grant(world)
    with pytest.raises(ValidationError, match="échéancier en cours"):
        services.cancel_invoice(invoice=world[4], actor=world[3], reason="Erreur")


# --- Reminders -----------------------------------------------------------------------------------


def test_invoices_under_plan_get_no_invoice_reminder(world):
    grant(world)
    OutgoingEmail.objects.all().delete()
    result = send_reminders(invoices=[world[4], world[5]], actor=world[3], today=TODAY)
    assert result.sent == [] and len(result.under_plan) == 2
    assert not OutgoingEmail.objects.exists()


def test_instalments_reminded_once_before_and_once_late_and_flagged(world, now):
    plan = grant(world)
    OutgoingEmail.objects.all().delete()
    # 20/10: the first instalment (25/10) is more than 3 days away.
    result = services_plans.remind_instalments(today=TODAY)
    assert result.reminded_soon == 0
    assert not OutgoingEmail.objects.exists()
    # 22/10: within 3 days, announced once.
    result = services_plans.remind_instalments(today=date(2026, 10, 22))
    assert result.reminded_soon == 1
    assert "à régler le 25/10/2026 : 33,33 €" in OutgoingEmail.objects.latest("pk").body
    assert services_plans.remind_instalments(today=date(2026, 10, 23)).reminded_soon == 0
    # Paid on its date: never late.
    pay(world, "33.33", plan=plan)
    assert services_plans.remind_instalments(today=date(2026, 10, 26)).late == 0
    # The second is not paid: late the day after its date, flagged and e-mailed once.
    OutgoingEmail.objects.all().delete()
    result = services_plans.remind_instalments(today=date(2026, 11, 26))
    assert (result.late, result.reminded_late) == (1, 1)
    assert "n'est pas réglée : reste 33,33 €" in OutgoingEmail.objects.latest("pk").body
    second = plan.instalments.get(position=2)
    assert second.status == InstalmentStatus.EN_RETARD
    assert selectors_plans.late_instalment_count(world[0]) == 1
    assert selectors_plans.regie_plans(world[0], late_only=True).get().late_count == 1
    assert AuditEntry.objects.filter(action="echeance.en_retard").count() == 1
    again = services_plans.remind_instalments(today=date(2026, 11, 27))
    assert (again.late, again.reminded_late) == (0, 0)
    # Paid late: « payée ».
    pay(world, "33.33", plan=plan)
    second.refresh_from_db()
    assert second.status == InstalmentStatus.PAYEE


def test_instalments_due_on_is_the_direct_debit_hook(world):
    plan = grant(world)
    assert selectors_plans.instalments_due_on(world[0], date(2026, 10, 24)) == []
    (due,) = selectors_plans.instalments_due_on(world[0], date(2026, 11, 25))
    assert due.plan == plan and due.amount == D("66.66")
    assert [i.position for i in due.instalments] == [1, 2]
    assert [(inv.pk, share) for inv, share in due.allocations] == [
        (world[4].pk, D("60.00")),
        (world[5].pk, D("6.66")),
    ]
    _commune, regie, famille, _agent, _first, _second = world
    services.record_payment(
        regie=regie,
        famille=famille,
        allocations=due.allocations,
        # The debit batch records it as PRELEVEMENT once its invoices are in the batch (the
        # SEPA work's rule); any method pays the plan the same way.
        method=PaymentMethod.VIREMENT,
        reference="PRLV 25/11",
        received_on=date(2026, 11, 25),
        actor=None,
        send_receipt=False,
    )
    assert [s for s, _p in statuses(plan)] == [
        InstalmentStatus.PAYEE,
        InstalmentStatus.PAYEE,
        InstalmentStatus.A_PAYER,
    ]
    assert selectors_plans.instalments_due_on(world[0], date(2026, 11, 25)) == []


def test_the_periodic_command_flags_and_reminds_once(world, now):
    grant(world)
    now.move_to("2026-10-26 07:30 +01:00")
    out = StringIO()
    call_command("send_plan_reminders", "--commune", "villebois", stdout=out)
    assert "1 échéance(s) passée(s) en retard ; 1 relance(s)" in out.getvalue()
    assert PeriodicRun.objects.get(job="send_plan_reminders").status == PeriodicRun.Status.SUCCEEDED
    with pytest.raises(CommandError):
        call_command("send_plan_reminders", "--commune", "nulle-part")
