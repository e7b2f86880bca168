"""The family's PDFs through the pages: the invoice and the receipt PDFs (another family's or
another commune's → 404), and « Édition de documents »: the certificate for the tax credit (the
years with payments, last year by default; said plainly when no child was under 6), the
attendance certificate (errors in French next to the fields, entries kept; another family's
child → 404), the receipts, with a constant number of queries."""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse

from parvis.activities.models import Attendance
from parvis.activities.rules import PARIS
from parvis.billing.tests.test_pdf_support import (
    BACKEND,
    make_invoice,
    make_world,
    pay,
    pdf_text,
)
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 19, 10, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def logged(client, world):
    client.force_login(world.user, backend=BACKEND)
    return client


def url(world, name, **kwargs):
    return reverse(f"billing:{name}", kwargs={"commune": world.commune.slug, **kwargs})


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def assert_pdf(response, filename):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    assert "no-cache" in response["Cache-Control"] or "private" in response["Cache-Control"]
    return pdf_text(response.content)


# --- Invoice and receipt PDFs -------------------------------------------------------------------


def test_the_invoice_and_receipt_pdfs_of_the_family(logged, world):
    invoice = make_invoice(world)
    payment = pay(world, invoice, "50.00", date(2026, 3, 30))
    text = assert_pdf(
        logged.get(url(world, "facture_pdf", pk=invoice.pk)), f"facture-{invoice.number}.pdf"
    )
    assert f"Facture n° {invoice.number}" in text
    assert "Reste à régler : 101,65 €" in text
    text = assert_pdf(
        logged.get(url(world, "recu_pdf", pk=payment.pk)), f"recu-{payment.number}.pdf"
    )
    assert "Montant reçu : 50,00 €" in text


def test_anonymous_visitors_log_in_first(client, world):
    invoice = make_invoice(world)
    for address in (
        url(world, "facture_pdf", pk=invoice.pk),
        url(world, "documents"),
        url(world, "attestation_fiscale") + "?year=2026",
    ):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"].startswith(f"/{world.commune.slug}/connexion/")


def test_another_familys_or_communes_invoice_and_receipt_are_404(logged, client, world):
    other_family = FamilleFactory(commune=world.commune, name="MARTIN")
    world_famille, world.famille = world.famille, other_family
    theirs = make_invoice(world)
    their_payment = pay(world, theirs, "10.00", date(2026, 3, 30))
    world.famille = world_famille
    elsewhere = make_world(name="Autreville", slug="autreville")
    far = make_invoice(elsewhere)
    far_payment = pay(elsewhere, far, "10.00", date(2026, 3, 30))
    for invoice in (theirs, far):
        assert logged.get(url(world, "facture_pdf", pk=invoice.pk)).status_code == 404
    for payment in (their_payment, far_payment):
        assert logged.get(url(world, "recu_pdf", pk=payment.pk)).status_code == 404
    assert logged.get(url(world, "facture_pdf", pk=999999)).status_code == 404
    # The other commune's own family reaches its invoice only under its own address.
    client.force_login(elsewhere.user, backend=BACKEND)
    assert client.get(url(elsewhere, "facture_pdf", pk=far.pk)).status_code == 200
    assert client.get(url(world, "facture_pdf", pk=far.pk)).status_code == 302  # not its commune


# --- « Édition de documents » -------------------------------------------------------------------


def test_the_documents_page(logged, world):
    invoice = make_invoice(world)
    payment = pay(world, invoice, "50.00", date(2025, 12, 30))
    pay(world, invoice, "20.00", date(2026, 3, 30))
    response = logged.get(url(world, "documents"))
    assert response.status_code == 200
    html, text = response.content.decode(), text_of(response)
    for words in [
        "Édition de documents", "Attestation pour le crédit d'impôt (frais de garde)",
        "Attestation de présence", "Reçus de paiement",
        f"Reçu n° {payment.number} du 30/12/2025", "50,00 € — Espèces",
        f"Facture n° {invoice.number} — Facture de mars 2026",
        f"Télécharger le reçu n° {payment.number} (PDF)",
    ]:  # fmt: skip
        assert words in text, words
    assert url(world, "recu_pdf", pk=payment.pk) in html
    # The years with payments, last year chosen.
    assert re.search(r'<option value="2026">2026</option>', html)
    assert re.search(r'<option value="2025" selected>2025</option>', html)
    assert 'aria-current="page">Édition de documents' in html


def test_the_documents_page_costs_the_same_whatever_the_number_of_payments(
    logged, world, django_assert_max_num_queries
):
    invoice = make_invoice(world)
    pay(world, invoice, "1.00", date(2026, 3, 30))
    with django_assert_max_num_queries(30) as few:
        assert logged.get(url(world, "documents")).status_code == 200
    for day in range(1, 26):
        pay(world, invoice, "1.00", date(2026, 4, day))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = logged.get(url(world, "documents"))
    assert "Page 1 sur 2" in text_of(response)
    assert "Page 2 sur 2" in text_of(logged.get(url(world, "documents") + "?page=2"))


def test_the_tax_certificate_of_a_year(logged, world):
    invoice = make_invoice(world)
    pay(world, invoice, "151.65", date(2026, 3, 30))
    response = logged.get(url(world, "attestation_fiscale"), {"year": "2026"})
    text = assert_pdf(response, "attestation-frais-de-garde-2026.pdf")
    # Léa's childcare is all of her care paid: 70,55 − 8,30 = 62,25 €.
    assert "Léa DURAND 10/03/2021 62,25 €" in text
    # By POST too.
    assert logged.post(url(world, "attestation_fiscale"), {"year": "2026"}).status_code == 200


def test_no_child_under_six_is_said_plainly(logged, world):
    world.lea.birth_date = date(2019, 12, 31)
    world.lea.save()
    invoice = make_invoice(world)
    pay(world, invoice, "10.00", date(2026, 3, 30))
    response = logged.get(url(world, "attestation_fiscale"), {"year": "2026"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert (
        "Aucun enfant du foyer n'avait moins de 6 ans au 1er janvier 2026 : il n'y a pas "
        "d'attestation pour le crédit d'impôt pour frais de garde cette année-là."
    ) in text_of(response)


def test_a_year_without_payments_or_garbage_is_a_form_error(logged, world):
    pay(world, make_invoice(world), "10.00", date(2026, 3, 30))
    for year in ("2019", "abc", "9" * 30):
        response = logged.get(url(world, "attestation_fiscale"), {"year": year})
        assert response.status_code == 200
        assert "Choisissez une année de la liste." in text_of(response)
    # Nothing sent: back to the page.
    response = logged.get(url(world, "attestation_fiscale"))
    assert response.status_code == 302
    assert response["Location"] == url(world, "documents")


def test_an_account_of_two_families_chooses_the_family(logged, world):
    other = FamilleFactory(commune=world.commune, name="LEGRAND")
    FamilyAccessFactory(famille=other, user=world.user)
    pay(world, make_invoice(world), "10.00", date(2026, 3, 30))
    text = text_of(logged.get(url(world, "documents")))
    assert "Foyer" in text
    assert "LEGRAND (F" in text
    response = logged.get(url(world, "attestation_fiscale"), {"year": "2026"})
    assert "Choisissez le foyer." in text_of(response)
    response = logged.get(
        url(world, "attestation_fiscale"), {"year": "2026", "famille": world.famille.pk}
    )
    assert response["Content-Type"] == "application/pdf"
    stranger = FamilleFactory(commune=world.commune)
    response = logged.get(
        url(world, "attestation_fiscale"), {"year": "2026", "famille": stranger.pk}
    )
    assert response.status_code == 404


def test_the_attendance_certificate(logged, world):
    Attendance.objects.create(
        commune=world.commune, famille=world.famille, child=world.lea, unit=world.unit,
        day=date(2026, 1, 5), present=True, booked=False,
    )  # fmt: skip
    response = logged.get(
        url(world, "attestation_presence"),
        {"child": world.lea.pk, "start": "2026-01-01", "end": "2026-01-31"},
    )
    text = assert_pdf(response, f"attestation-presence-{world.lea.pk}-20260101-20260131.pdf")
    assert "05/01/2026" in text
    assert "1 jour de présence" in text


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-03-01", "2026-02-28", "end", "Le dernier jour est avant le premier."),
        ("2026-11-20", "2026-11-20", "start", "au plus tard aujourd'hui, le 19/11/2026."),
        ("2026-11-01", "2026-11-20", "end", "L'attestation ne porte que sur des jours passés"),
        ("2025-01-01", "2026-01-01", "end", "à partir du 01/01/2025, au plus tard le 31/12/2025."),
        ("pas une date", "2026-01-01", "start", "Indiquez une date valide, par exemple"),
        ("", "2026-01-01", "start", "Indiquez le premier jour."),
    ],
)  # fmt: skip
def test_the_attendance_certificates_dates_are_checked(logged, world, start, end, field, message):
    data = {"child": world.lea.pk, "start": start, "end": end}
    response = logged.get(url(world, "attestation_presence"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in text_of(response)
    # Next to its field, and in the summary as a link to it; the entries are kept.
    assert f'href="#id_{field}"' in html
    errors = re.search(rf'<div class="form__errors" id="id_{field}_error">(.*?)</div>', html, re.S)
    assert errors is not None
    assert message in re.sub(r"\s+", " ", errors.group(1)).replace("&#x27;", "'")
    if end:
        assert f'value="{end}"' in html


def test_one_year_is_allowed(logged, world):
    response = logged.get(
        url(world, "attestation_presence"),
        {"child": world.lea.pk, "start": "2025-01-01", "end": "2025-12-31"},
    )
    assert response["Content-Type"] == "application/pdf"


def test_another_familys_child_is_404_and_garbage_an_error(logged, world):
    stranger = ChildFactory(famille=FamilleFactory(commune=world.commune))
    data = {"child": stranger.pk, "start": "2026-01-01", "end": "2026-01-31"}
    assert logged.get(url(world, "attestation_presence"), data).status_code == 404
    data["child"] = "x"
    response = logged.get(url(world, "attestation_presence"), data)
    assert response.status_code == 200
    assert "Choisissez un enfant de la liste." in text_of(response)


@pytest.mark.parametrize("garbage", ["²", "١٢٣", "-1", "9" * 30])
def test_a_child_or_family_that_is_no_id_is_a_form_error_not_a_500(logged, world, garbage):
    """`child=²` passed `str.isdigit` and `int()` refused it: a 500. Any value that is no id is
    the field's French error, the entries kept."""
    other = FamilleFactory(commune=world.commune, name="LEGRAND")
    FamilyAccessFactory(famille=other, user=world.user)  # two families: the tax form asks which
    pay(world, make_invoice(world), "10.00", date(2026, 3, 30))
    data = {"child": garbage, "start": "2026-01-01", "end": "2026-01-31"}
    response = logged.get(url(world, "attestation_presence"), data)
    assert response.status_code == 200
    assert "Choisissez un enfant de la liste." in text_of(response)
    assert 'value="2026-01-31"' in response.content.decode()
    response = logged.get(url(world, "attestation_fiscale"), {"year": "2026", "famille": garbage})
    assert response.status_code == 200
    assert "Foyer : Sélectionnez un choix valide." in text_of(response)
