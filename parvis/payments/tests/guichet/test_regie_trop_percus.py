"""« Trop-perçus » at the régie: the list (those to refund first, the sum to refund, a filter,
constant queries), one trop-perçu with what its transaction paid and its history, and
« Rembourser » (means, date, reference, who; audited, once; errors in French next to the field,
the agent's entries kept). Trop-perçus are made the real way: two « Payer » on one invoice and
the simulator's signed notifications paying both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import FamilleFactory
from parvis.payments import services
from parvis.payments.models import (
    Provider,
    Transaction,
    TransactionStatus,
    TropPercu,
    TropPercuStatus,
)
from parvis.payments.providers import simulateur
from parvis.testing.guichet import text_of
from parvis.testing.regie import make_agent, make_invoice, make_regie

pytestmark = pytest.mark.django_db

TODAY = "2026-10-20 10:00 +02:00"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield date(2026, 10, 20)


@pytest.fixture(autouse=True)
def no_receipt(monkeypatch):
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


@pytest.fixture
def regie(commune):
    return make_regie(commune)


@pytest.fixture
def regie_agent(commune):
    return make_agent(commune, AgentRole.Role.REGIE)


@pytest.fixture
def regie_client(client, regie_agent):
    client.force_login(regie_agent)
    return client


def url(name, commune, **kwargs):
    return reverse(f"guichet_regie:{name}", kwargs={"commune": commune.slug, **kwargs})


def paid_twice(regie, famille, amount="73.80") -> TropPercu:
    """« Payer » twice on one invoice, and the bank confirms both transactions."""
    invoice = make_invoice(regie, famille, amount)
    old, new = (
        services.start_payment(
            famille=famille, user=None, commune=famille.commune, invoice_ids=[invoice.pk]
        )[0]
        for _click in range(2)
    )
    for transaction in (new, old):
        body = simulateur.notification(
            services.provider_for(famille.commune, Provider.SIMULATEUR).secret,
            reference=transaction.reference,
            amount=transaction.amount,
            result=simulateur.PAID,
            number="SIM42",
        )
        outcome = services.handle_notification(
            commune=famille.commune,
            provider=Provider.SIMULATEUR,
            query_string="",
            body=body,
            remote_addr=None,
        )
        assert outcome.status == 200
    return TropPercu.objects.get(transaction=old)


def refund(client, commune, trop_percu, **data):
    fields = {"method": "virement", "refunded_on": "2026-10-20", "reference": "VIR-2026-118"}
    fields.update(data)
    return client.post(url("rembourser", commune, pk=trop_percu.pk), fields)


# --- The list ------------------------------------------------------------------------------------


def test_the_list_shows_what_to_refund_first(regie_client, commune, regie, famille):
    refunded = paid_twice(regie, famille, "12.40")
    services.refund_trop_percu(
        trop_percu=refunded, actor=None, method="especes", refunded_on=date(2026, 10, 20)
    )
    to_refund = paid_twice(regie, famille, "73.80")
    home = regie_client.get(url("impayes", commune))
    assert f'href="{url("trop_percus", commune)}"' in home.content.decode()
    response = regie_client.get(url("trop_percus", commune))
    assert response.status_code == 200
    assert [row.pk for row in response.context["rows"]] == [to_refund.pk, refunded.pk]
    text = text_of(response)
    assert "Régie — trop-perçus" in text
    assert "2 trop-perçus" in text
    assert "À rembourser : 1 trop-perçu 73,80 €" in text
    assert "DURAND" in text and to_refund.transaction.reference in text
    assert "À rembourser" in text and "Remboursé" in text  # in words, not by colour
    assert 'aria-current="page">Trop-perçus<' in response.content.decode()
    filtered = regie_client.get(url("trop_percus", commune), {"etat": "rembourse"})
    assert [row.pk for row in filtered.context["rows"]] == [refunded.pk]
    garbage = regie_client.get(url("trop_percus", commune), {"etat": "x", "regie": "²"})
    assert garbage.status_code == 200
    assert "Choisissez un état de la liste." in text_of(garbage)


def test_only_the_regie_sees_the_trop_percus(client, commune, regie, famille):
    trop_percu = paid_twice(regie, famille)
    client.force_login(make_agent(commune, AgentRole.Role.ENFANCE))
    assert client.get(url("trop_percus", commune)).status_code == 403
    assert refund(client, commune, trop_percu).status_code == 403
    trop_percu.refresh_from_db()
    assert trop_percu.status == TropPercuStatus.A_REMBOURSER


def test_another_communes_trop_percu_is_a_404(regie_client, commune, regie, famille):
    other = CommuneFactory(slug="autreville", name="Autreville")
    theirs = paid_twice(make_regie(other), FamilleFactory(commune=other))
    assert regie_client.get(url("trop_percu", commune, pk=theirs.pk)).status_code == 404
    assert refund(regie_client, commune, theirs).status_code == 404
    assert regie_client.get(url("trop_percus", commune)).context["rows"] == []
    theirs.refresh_from_db()
    assert theirs.status == TropPercuStatus.A_REMBOURSER


def test_the_list_has_constant_queries(regie_client, commune, regie, django_assert_max_num_queries):
    def make(n):
        for _i in range(n):
            paid_twice(regie, FamilleFactory(commune=commune), "4.15")

    make(2)
    with django_assert_max_num_queries(20) as few:
        assert regie_client.get(url("trop_percus", commune)).status_code == 200
    make(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = regie_client.get(url("trop_percus", commune))
    assert "À rembourser : 8 trop-perçus 33,20 €" in text_of(response)


def test_the_family_journal_reads_the_trop_percu_in_french(commune, regie, famille, regie_agent):
    from parvis.backoffice.journal import present

    trop_percu = paid_twice(regie, famille)
    services.refund_trop_percu(
        trop_percu=trop_percu, actor=regie_agent, method="cheque",
        refunded_on=date(2026, 10, 20), reference="0001234",
    )  # fmt: skip
    noticed = present(AuditEntry.objects.get(action="trop_percu.constate", famille_id=famille.pk))
    assert (noticed.what, noticed.who) == ("Trop-perçu constaté", "paiement en ligne")
    said = {(change.field, change.new) for change in noticed.changes}
    assert ("montant", "73,80 €") in said
    assert ("régie", "Régie enfance") in said
    assert trop_percu.transaction.reference in {new for _field, new in said}
    refunded = present(AuditEntry.objects.get(action="trop_percu.rembourse"))
    # Codes and dates read in French (the labels of the keys are the journal's).
    assert {"Remboursé", "Chèque", "20/10/2026", "0001234"} <= {c.new for c in refunded.changes}


# --- One trop-perçu and « Rembourser » ----------------------------------------------------------


def test_the_page_says_what_the_transaction_paid_and_offers_rembourser(
    regie_client, commune, regie, famille
):
    trop_percu = paid_twice(regie, famille)
    response = regie_client.get(url("trop_percu", commune, pk=trop_percu.pk))
    assert response.status_code == 200
    text = text_of(response)
    assert "Trop-perçu de 73,80 €" in text
    assert f"{trop_percu.transaction.reference}, payée 73,80 €" in text
    assert "Rien n'était plus dû : toute la somme est un trop-perçu." in text
    assert "constaté au paiement en ligne : À rembourser" in text
    html = response.content.decode()
    assert ">Rembourser</button>" in html
    assert 'value="2026-10-20"' in html  # today, ready to confirm
    for label in ("Moyen du remboursement", "Remboursé le", "Référence du remboursement"):
        assert label in text


def test_rembourser_records_the_refund_once(regie_client, commune, regie, famille, regie_agent):
    trop_percu = paid_twice(regie, famille)
    response = refund(regie_client, commune, trop_percu, reference="  VIR-2026-118 ")
    assert response.status_code == 302
    assert response.url == url("trop_percu", commune, pk=trop_percu.pk)
    trop_percu.refresh_from_db()
    assert trop_percu.status == TropPercuStatus.REMBOURSE
    assert (trop_percu.refund_method, trop_percu.refunded_on) == ("virement", date(2026, 10, 20))
    assert trop_percu.refund_reference == "VIR-2026-118"
    assert trop_percu.refunded_by == regie_agent
    page = regie_client.get(response.url)
    text = text_of(page)
    assert "Remboursement de 73,80 € enregistré." in text
    assert "Virement, le 20/10/2026 — référence VIR-2026-118" in text
    assert "À rembourser → Remboursé" in text
    assert ">Rembourser</button>" not in page.content.decode()
    again = refund(regie_client, commune, trop_percu, method="especes", reference="")
    assert again.status_code == 400
    assert "Ce trop-perçu est déjà remboursé." in text_of(again)
    entries = AuditEntry.objects.filter(action="trop_percu.rembourse")
    assert [(e.famille_id, e.actor_id) for e in entries] == [(famille.pk, regie_agent.pk)]


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"method": "cheque", "reference": ""}, "reference", "Indiquez la référence du rembours"),
        ({"refunded_on": "2026-10-21"}, "refunded_on", "ne peut pas être dans le futur"),
        ({"refunded_on": "2026-10-19"}, "refunded_on", "ne peut pas le précéder"),
        ({"refunded_on": "31/02/2026"}, "refunded_on", "Indiquez une date valide"),
        ({"refunded_on": ""}, "refunded_on", "Indiquez une date valide"),
        ({"method": "bitcoin"}, "method", "Choisissez le moyen du remboursement."),
        ({"reference": "x" * 121}, "reference", "120 caractères au plus."),
    ],
)
def test_a_refused_refund_is_a_french_error_next_to_the_field(
    regie_client, commune, regie, famille, data, field, words
):
    trop_percu = paid_twice(regie, famille)
    response = refund(regie_client, commune, trop_percu, **data)
    assert response.status_code == 400
    form = response.context["form"]
    assert any(words in message for message in form.errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html or f'aria-describedby="id_{field}' in html
    if field != "reference":
        assert 'value="VIR-2026-118"' in html  # the agent's entry is kept
    trop_percu.refresh_from_db()
    assert trop_percu.status == TropPercuStatus.A_REMBOURSER
    assert not AuditEntry.objects.filter(action="trop_percu.rembourse").exists()


def test_the_trop_percu_of_a_transaction_that_also_paid_names_its_receipt(
    regie_client, commune, regie, famille
):
    sejour = make_invoice(regie, famille, "73.80", label="Séjour CT 3")
    cantine = make_invoice(regie, famille, "70.55", label="Restauration")
    both, _ = services.start_payment(
        famille=famille, user=None, commune=commune, invoice_ids=[sejour.pk, cantine.pk]
    )
    services.start_payment(famille=famille, user=None, commune=commune, invoice_ids=[sejour.pk])
    new = Transaction.objects.get(status=TransactionStatus.EN_ATTENTE)
    for transaction in (new, both):
        services.simulate_notification(transaction=transaction, result="paye", remote_addr=None)
    trop_percu = TropPercu.objects.get()
    assert trop_percu.amount == D("73.80") and trop_percu.transaction == both
    text = text_of(regie_client.get(url("trop_percu", commune, pk=trop_percu.pk)))
    assert "Ce qui était encore dû a été enregistré : Reçu n° 2 — Régie enfance : 70,55 €" in text
