"""The régie's payment plans (issue 19 §3): granting one (the proposal to the cent, the amounts
edited, errors next to their field), the list with the late instalments flagged, a payment of an
instalment at the counter (exactly, one cent under), the end of a plan; only the régie's agents;
another commune's plan is a 404; pages in a constant number of queries. And the family's side:
its plan in « Mon compte » and « Payer cette échéance » through the simulator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.billing import services_plans
from parvis.billing.models import (
    InstalmentStatus,
    PaymentMethod,
    PaymentPlan,
    PlanStatus,
)
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import FamilleFactory, FamilyAccessFactory
from parvis.payments.models import Transaction
from parvis.payments.providers import simulateur
from parvis.payments.services import simulate_notification
from parvis.testing.guichet import text_of
from parvis.testing.regie import make_agent, make_invoice, make_regie

pytestmark = pytest.mark.django_db

TODAY = date(2026, 10, 20)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel("2026-10-20 10:00 +02:00", tick=False):
        yield TODAY


@pytest.fixture
def regie(commune):
    return make_regie(commune)


@pytest.fixture
def invoices(regie, famille):
    return [
        make_invoice(regie, famille, "60.00", due_on=date(2026, 10, 10)),
        make_invoice(regie, famille, "40.00", due_on=date(2026, 10, 15)),
    ]


@pytest.fixture
def regie_client(client, commune):
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    return client


def url(name, commune, **kwargs):
    return reverse(f"guichet_regie:{name}", kwargs={"commune": commune.slug, **kwargs})


def grant_data(invoices, **extra):
    data = {
        "invoices": [str(i.pk) for i in invoices],
        "nombre": "3",
        "premiere": "2026-10-25",
        "note": "Perte d'emploi",
        "date_1": "2026-10-25",
        "montant_1": "33,33",
        "date_2": "2026-11-25",
        "montant_2": "33,33",
        "date_3": "2026-12-25",
        "montant_3": "33,34",
        "action": "accorder",
    }
    data.update(extra)
    return data


def test_only_the_regie_sees_the_plans(client, commune, famille, invoices, enfance_agent):
    client.force_login(enfance_agent)
    assert client.get(url("echeanciers", commune)).status_code == 403
    assert client.get(url("accorder_echeancier", commune, pk=famille.pk)).status_code == 403


def test_the_form_proposes_the_split_to_the_cent(regie_client, commune, famille, invoices):
    response = regie_client.get(url("accorder_echeancier", commune, pk=famille.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="33,33"' in html and 'value="33,34"' in html
    # « Calculer » with 4 instalments from 05/11: 25,00 each, monthly.
    response = regie_client.post(
        url("accorder_echeancier", commune, pk=famille.pk),
        {
            "invoices": [str(invoices[0].pk)],
            "nombre": "4",
            "premiere": "2026-11-05",
            "action": "calculer",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('value="15,00"') == 4
    assert 'value="2027-02-05"' in html


def test_granting_with_edited_amounts(regie_client, commune, famille, invoices):
    data = grant_data(invoices, montant_1="50,00", montant_2="25,00", montant_3="25,00")
    response = regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), data)
    plan = PaymentPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("echeancier", commune, pk=plan.pk)
    assert [i.amount for i in plan.instalments.all()] == [D("50.00"), D("25.00"), D("25.00")]
    assert plan.total == D("100.00") and plan.note == "Perte d'emploi"
    page = text_of(regie_client.get(response["Location"]))
    assert "Reste à payer 100,00 €" in page
    assert "Encaisser l'échéance 1" in page


@pytest.mark.parametrize("nombre", ["3.0", " 3 "])
def test_a_count_written_otherwise_grants_the_same_plan(
    regie_client, commune, famille, invoices, nombre
):
    # « 3.0 » is 3 for the count field: the instalment fields drawn follow the same reading
    # (they once did not, and the page crashed on a valid form without its schedule).
    data = grant_data(invoices, nombre=nombre)
    response = regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), data)
    assert response.status_code == 302
    plan = PaymentPlan.objects.get()
    assert [i.amount for i in plan.instalments.all()] == [D("33.33"), D("33.33"), D("33.34")]


def test_a_sum_one_cent_short_is_refused_with_the_sites_error_pattern(
    regie_client, commune, famille, invoices
):
    data = grant_data(invoices, montant_3="33,33")
    response = regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Les échéances font 99,99 € au lieu de 100,00 €" in page
    assert "0,01 € d'écart" in page
    assert not PaymentPlan.objects.exists()


def test_a_zero_amount_and_a_past_date_stand_next_to_their_field(
    regie_client, commune, famille, invoices
):
    data = grant_data(invoices, montant_2="0", date_1="2026-10-19")
    response = regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_montant_2" aria-invalid="true"' in html or (
        'aria-invalid="true"' in html and "id_montant_2_error" in html
    )
    assert "Le montant d'une échéance est supérieur à 0 €." in text_of(response)
    assert "La première échéance ne peut pas être passée" in text_of(response)
    assert text_of(response).lstrip().startswith("Erreur :")


def test_counter_payment_of_an_instalment_to_the_cent(regie_client, commune, famille, invoices):
    regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), grant_data(invoices))
    plan = PaymentPlan.objects.get()
    page = regie_client.get(url("encaisser_echeance", commune, pk=plan.pk))
    assert 'value="33,33"' in page.content.decode()
    fields = {"method": PaymentMethod.ESPECES, "received_on": "2026-10-20", "reference": ""}
    # One cent under: recorded, the instalment still to pay for 0,01 €.
    response = regie_client.post(
        url("encaisser_echeance", commune, pk=plan.pk), {**fields, "amount": "33,32"}
    )
    assert response.status_code == 302
    first = plan.instalments.get(position=1)
    assert (first.paid, first.status) == (D("33.32"), InstalmentStatus.A_PAYER)
    page = regie_client.get(url("encaisser_echeance", commune, pk=plan.pk))
    assert 'value="0,01"' in page.content.decode()
    regie_client.post(url("encaisser_echeance", commune, pk=plan.pk), {**fields, "amount": "0,01"})
    first.refresh_from_db()
    assert first.status == InstalmentStatus.PAYEE
    # More than what remains of the plan is refused next to the amount.
    response = regie_client.post(
        url("encaisser_echeance", commune, pk=plan.pk), {**fields, "amount": "66,68"}
    )
    assert response.status_code == 400
    assert "ce qui reste de l'échéancier (66,67 €)" in text_of(response)


def test_the_list_flags_late_instalments(regie_client, commune, famille, invoices, regie):
    plan = services_plans.grant_plan(
        famille=famille,
        invoices=invoices,
        schedule=[(date(2026, 10, 20), D("50.00")), (date(2026, 11, 20), D("50.00"))],
        actor=None,
        today=TODAY,
    )
    services_plans.remind_instalments(today=date(2026, 10, 21))
    page = text_of(regie_client.get(url("echeanciers", commune)))
    assert "1 échéance en retard dans les échéanciers en cours." in page
    assert "1 en retard" in page
    late = text_of(regie_client.get(url("echeanciers", commune) + "?en_retard=on"))
    assert f"n° {plan.pk}" in late


def test_ending_a_plan(regie_client, commune, famille, invoices):
    regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), grant_data(invoices))
    plan = PaymentPlan.objects.get()
    response = regie_client.post(url("terminer_echeancier", commune, pk=plan.pk), {"to": "rompu"})
    assert response.status_code == 400
    assert "Indiquez le motif." in text_of(response)
    response = regie_client.post(
        url("terminer_echeancier", commune, pk=plan.pk),
        {"to": "rompu", "reason": "Deux échéances impayées"},
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ROMPU
    assert AuditEntry.objects.filter(action="echeancier.rompu").exists()


def test_another_communes_plan_is_a_404(regie_client, commune, famille, invoices):
    other = CommuneFactory(slug="ailleurs", name="Ailleurs")
    other_famille = FamilleFactory(commune=other)
    other_regie = make_regie(other)
    other_invoice = make_invoice(other_regie, other_famille, "10.00")
    plan = services_plans.grant_plan(
        famille=other_famille,
        invoices=[other_invoice],
        schedule=[(date(2026, 10, 25), D("10.00"))],
        actor=None,
        today=TODAY,
    )
    assert regie_client.get(url("echeancier", commune, pk=plan.pk)).status_code == 404
    assert regie_client.get(url("encaisser_echeance", commune, pk=plan.pk)).status_code == 404
    assert (
        regie_client.get(url("accorder_echeancier", commune, pk=other_famille.pk)).status_code
        == 404
    )


def test_pages_in_constant_queries(
    regie_client, commune, famille, regie, django_assert_max_num_queries
):
    for _n in range(6):
        invoice = make_invoice(regie, famille, "30.00")
        plan = services_plans.grant_plan(
            famille=famille,
            invoices=[invoice],
            schedule=[(date(2026, 11, 1), D("10.00")), (date(2026, 12, 1), D("20.00"))],
            actor=None,
            today=TODAY,
        )
    with django_assert_max_num_queries(14):
        assert regie_client.get(url("echeanciers", commune)).status_code == 200
    with django_assert_max_num_queries(16):
        assert regie_client.get(url("echeancier", commune, pk=plan.pk)).status_code == 200


# --- The family's side ----------------------------------------------------------------------------


def test_the_family_pays_the_next_instalment_online(client, commune, famille, invoices):
    access = FamilyAccessFactory(famille=famille, user__email="francoise@example.fr")
    plan = services_plans.grant_plan(
        famille=famille,
        invoices=invoices,
        schedule=[(date(2026, 10, 25), D("33.33")), (date(2026, 11, 25), D("66.67"))],
        actor=None,
        today=TODAY,
    )
    client.force_login(access.user, backend="parvis.accounts.backends.CommuneBackend")
    compte = text_of(client.get(reverse("billing:mon_compte", kwargs={"commune": commune.slug})))
    assert "Prochaine échéance : 33,33 € le 25/10/2026" in compte
    page = client.get(
        reverse("billing:echeancier", kwargs={"commune": commune.slug, "pk": plan.pk})
    )
    assert "Payer cette échéance : 33,33 €" in text_of(page)
    # The browser sends only the plan: the amount is the server's.
    response = client.post(
        reverse("payments:payer_echeance", kwargs={"commune": commune.slug}),
        {"echeancier": str(plan.pk), "amount": "0.01"},
    )
    assert response.status_code == 302
    transaction = Transaction.objects.get()
    assert transaction.amount == D("33.33")
    assert [(s.invoice_id, s.amount) for s in transaction.shares.all()] == [
        (invoices[0].pk, D("33.33"))
    ]
    simulate_notification(transaction=transaction, result=simulateur.PAID, remote_addr="127.0.0.1")
    first = plan.instalments.get(position=1)
    assert first.status == InstalmentStatus.PAYEE
    # The second instalment spans the two invoices.
    client.post(
        reverse("payments:payer_echeance", kwargs={"commune": commune.slug}),
        {"echeancier": str(plan.pk)},
    )
    second = Transaction.objects.latest("pk")
    assert sorted(s.amount for s in second.shares.all()) == [D("26.67"), D("40.00")]


def test_another_familys_plan_is_not_paid(client, commune, famille, invoices):
    plan = services_plans.grant_plan(
        famille=famille,
        invoices=invoices,
        schedule=[(date(2026, 10, 25), D("100.00"))],
        actor=None,
        today=TODAY,
    )
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=commune))
    client.force_login(stranger.user, backend="parvis.accounts.backends.CommuneBackend")
    url_plan = reverse("billing:echeancier", kwargs={"commune": commune.slug, "pk": plan.pk})
    assert client.get(url_plan).status_code == 404
    client.post(
        reverse("payments:payer_echeance", kwargs={"commune": commune.slug}),
        {"echeancier": str(plan.pk)},
    )
    assert not Transaction.objects.exists()


def test_the_invoice_page_names_its_plan(regie_client, commune, famille, invoices):
    page = text_of(regie_client.get(url("facture", commune, pk=invoices[0].pk)))
    assert "Accorder un échéancier" in page
    regie_client.post(url("accorder_echeancier", commune, pk=famille.pk), grant_data(invoices))
    plan = PaymentPlan.objects.get()
    page = text_of(regie_client.get(url("facture", commune, pk=invoices[0].pk)))
    assert f"Échéancier n° {plan.pk} en cours" in page
    assert "Accorder un échéancier" not in page
