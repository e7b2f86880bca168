"""The Treasury's CSV exports: French Excel's format (UTF-8 BOM, « ; », decimal commas), the
period's invoices and payments of the commune only, a formula never left to run, and a constant
number of queries whatever the rows."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from parvis.accounts.models import AgentRole
from parvis.billing import services
from parvis.billing.models import PaymentMethod
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import FamilleFactory
from parvis.testing.guichet import text_of
from parvis.testing.regie import make_agent, make_invoice, make_regie

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel("2026-11-05 09:00 +01:00", tick=False):
        yield


@pytest.fixture
def regie(commune):
    return make_regie(commune)


@pytest.fixture
def regie_client(client, commune):
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    return client


def export_url(commune):
    return reverse("guichet_regie:export", kwargs={"commune": commune.slug})


def download(client, commune, **params) -> tuple[object, list[list[str]]]:
    response = client.get(export_url(commune), params)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM, for Excel
    text = body.decode("utf-8-sig")
    return response, list(csv.reader(io.StringIO(text), delimiter=";"))


def pay(invoice, amount, method=PaymentMethod.ESPECES, day=date(2026, 10, 20), **extra):
    return services.record_payment(
        regie=invoice.regie,
        famille=invoice.famille,
        allocations=[(invoice, D(amount))],
        method=method,
        received_on=day,
        actor=None,
        send_receipt=False,
        **extra,
    )


def test_the_form_defaults_to_last_month(regie_client, commune):
    response = regie_client.get(export_url(commune))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2026-10-01"' in html and 'value="2026-10-31"' in html
    response = regie_client.get(
        export_url(commune), {"type": "factures", "du": "2026-10-31", "au": "2026-10-01"}
    )
    assert response.status_code == 400
    assert "La fin de la période est avant son début." in text_of(response)
    response = regie_client.get(export_url(commune), {"type": "x", "du": "zz", "regie": "9999"})
    assert response.status_code == 400
    page = text_of(response)
    assert "Choisissez le fichier : factures ou paiements." in page
    assert "Indiquez une date valide" in page
    assert "Choisissez une régie de la liste." in page


def test_the_invoices_of_the_period(regie_client, commune, regie, famille):
    famille.name = '=HYPERLINK("http://evil")'
    famille.save()
    inside = make_invoice(regie, famille, "1234.50", issued_on=date(2026, 10, 1))
    pay(inside, "34.50")
    make_invoice(regie, famille, "9.99", label="+cmd|' /C calc'!A0", issued_on=date(2026, 10, 31))
    make_invoice(regie, famille, "5.00", issued_on=date(2026, 11, 1))  # after the period
    other = CommuneFactory(name="Autreville", slug="autreville")
    make_invoice(make_regie(other), FamilleFactory(commune=other), "7.00")
    response, rows = download(
        regie_client, commune, type="factures", du="2026-10-01", au="2026-10-31"
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="factures-villebois-20261001-20261031.csv"'
    )
    assert rows[0] == [
        "Régie",
        "Numéro",
        "Émise le",
        "À régler avant le",
        "Code famille",
        "Famille",
        "Libellé",
        "Montant",
        "Réglé",
        "Reste dû",
        "État",
    ]
    assert rows[1] == [
        "ENF",
        "1",
        "01/10/2026",
        "15/10/2026",
        "F000001",
        '\'=HYPERLINK("http://evil")',
        "Périscolaire — septembre 2026",
        "1234,50",
        "34,50",
        "1200,00",
        "Partiellement réglée",
    ]
    assert rows[2][6] == "'+cmd|' /C calc'!A0"
    assert rows[2][7:] == ["9,99", "0,00", "9,99", "À régler"]
    assert len(rows) == 3


def test_the_payments_of_the_period(regie_client, commune, regie, famille):
    agent = make_agent(commune, AgentRole.Role.REGIE)
    first = make_invoice(regie, famille, "45.10")
    second = make_invoice(regie, famille, "30.00")
    services.record_payment(
        regie=regie,
        famille=famille,
        allocations=[(first, D("45.10")), (second, D("4.90"))],
        method=PaymentMethod.CHEQUE,
        received_on=date(2026, 10, 3),
        actor=agent,
        reference="-1234567 Banque",
        send_receipt=False,
    )
    cancelled = pay(second, "10.00", day=date(2026, 10, 31))
    services.cancel_payment(payment=cancelled, actor=agent, reason="Erreur")
    pay(second, "1.00", day=date(2026, 11, 1))  # after the period
    other_regie = make_regie(commune, code="SCO", name="Régie scolaire")
    pay(make_invoice(other_regie, famille, "3.00"), "3.00", day=date(2026, 10, 10))
    _response, rows = download(
        regie_client,
        commune,
        type="paiements",
        du="2026-10-01",
        au="2026-10-31",
        regie=str(regie.pk),
    )
    assert rows[0] == [
        "Régie",
        "Reçu n°",
        "Reçu le",
        "Mode",
        "Référence",
        "Code famille",
        "Famille",
        "Montant",
        "État",
        "Factures (part réglée)",
    ]
    assert rows[1] == [
        "ENF",
        "1",
        "03/10/2026",
        "Chèque",
        "'-1234567 Banque",
        "F000001",
        "DURAND",
        "50,00",
        "Enregistré",
        f"{first.number} (45,10), {second.number} (4,90)",
    ]
    assert rows[2][1:4] + rows[2][7:9] == ["2", "31/10/2026", "Espèces", "10,00", "Annulé"]
    assert len(rows) == 3  # not the other régie's, nor November's


def test_exports_have_constant_queries(regie_client, commune, regie, django_assert_max_num_queries):
    def make(n):
        for _i in range(n):
            invoice = make_invoice(regie, FamilleFactory(commune=commune), "10.00")
            pay(invoice, "4.00")
            pay(invoice, "1.00")

    def count(kind):
        with django_assert_max_num_queries(50) as captured:
            download(regie_client, commune, type=kind, du="2026-10-01", au="2026-10-31")
        return len(captured.captured_queries)

    make(2)
    few = {kind: count(kind) for kind in ("factures", "paiements")}
    make(25)
    assert {kind: count(kind) for kind in ("factures", "paiements")} == few
