"""Invoices and receipts drawn by ReportLab (pdf_reportlab, issue 18 §5), read back with pypdf:
every line of an invoice with its amount to the cent, the totals, the payer and the number; a
long invoice runs onto a second page with the table's header repeated and « Page 1 / 2 » at the
foot, also inside a printing batch where each invoice is numbered on its own; the DejaVu fonts
are embedded and the title is the invoice's; text from the database is printed, never read as
markup; the commune's logo is drawn when it has one, and a broken one does not stop the
invoice."""

import io
from datetime import UTC, date, datetime

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from parvis.billing import pdf, pdf_reportlab
from parvis.billing.models import LineKind
from parvis.billing.services import cancel_payment
from parvis.billing.tests.test_pdf_support import (
    line,
    make_invoice,
    make_world,
    page_count,
    pay,
    pdf_text,
)
from parvis.families.tests.factories import AgentFactory
from parvis.testing.files import png_bytes

pytestmark = pytest.mark.django_db

HEADER = "Enfant Prestation — tranche ou règle Quantité × prix unitaire Montant"


@pytest.fixture
def world():
    return make_world()


def pages_text(content: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(content), strict=True)
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def sixty_lines(world):
    """60 canteen days of Léa at 3,20 € and, last, one at 1234,56 € (a made-up amount with
    thousands): 60 × 3,20 + 1234,56 = 1426,56 €."""
    lines = [
        line(LineKind.PRESTATION, f"Restauration du jour {day:02}", 1, "3.20", child=world.lea)
        for day in range(1, 61)
    ]
    lines.append(line(LineKind.PRESTATION, "Séjour", 1, "1234.56", child=world.hugo))
    return lines


def test_every_line_its_amount_to_the_cent_the_totals_the_payer_and_the_number(world):
    invoice = make_invoice(
        world,
        [
            line(LineKind.PRESTATION, "Acc Matin", 3, "4.15", child=world.lea,
                 price_label="QF de 0 € à 499,99 €"),
            line(LineKind.PRESTATION, "Séjour", 1, "1234.56", child=world.hugo),
            line(LineKind.DEDUCTION, "Absence justifiée déduite", 1, "-0.01", child=world.lea),
        ],
    )  # fmt: skip
    pay(world, invoice, "0.01", date(2026, 3, 30))
    content = pdf.invoice_pdf(invoice)
    text = pdf_text(content)
    for words in [
        "Madame Françoise DURAND", f"Facture n° {invoice.number}",
        "Léa Acc Matin — QF de 0 € à 499,99 € 3 × 4,15 € 12,45 €",
        "Hugo Séjour 1 × 1234,56 € 1234,56 €",
        "Léa Déduction : Absence justifiée déduite 1 × -0,01 € -0,01 €",
        # 12,45 + 1234,56 − 0,01 = 1247,00 €; one cent paid
        "Total : 1247,00 € Déjà réglé : 0,01 € Reste à régler : 1246,99 €",
    ]:  # fmt: skip
        assert words in text, words
    assert page_count(content) == 1
    assert "Page 1" not in text  # a one-page invoice has no page numbers
    assert PdfReader(io.BytesIO(content)).metadata.title == f"Facture n° {invoice.number}"


def test_the_dejavu_fonts_are_embedded(world):
    reader = PdfReader(io.BytesIO(pdf.invoice_pdf(make_invoice(world))))
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    embedded = {
        str(font["/BaseFont"]).split("+")[-1]
        for font in fonts
        if "/FontDescriptor" in font and "/FontFile2" in font["/FontDescriptor"].get_object()
    }
    assert embedded == {"DejaVuSans", "DejaVuSans-Bold"}


def test_a_long_invoice_runs_onto_a_second_page_with_the_header_repeated(world):
    invoice = make_invoice(world, sixty_lines(world))
    content = pdf.invoice_pdf(invoice)
    first, second = pages_text(content)
    assert first.count(HEADER) == 1 and second.startswith(HEADER)
    assert first.count("Détail de la facture") == 1 and "Détail de la facture" not in second
    assert "Page 1 / 2" in first and "Page 2 / 2" in second
    whole = f"{first} {second}"
    for day in range(1, 61):
        assert whole.count(f"Léa Restauration du jour {day:02} 1 × 3,20 € 3,20 €") == 1, day
    assert "Hugo Séjour 1 × 1234,56 € 1234,56 €" in second
    assert "Total : 1426,56 € Déjà réglé : 0,00 € Reste à régler : 1426,56 €" in second
    assert f"Facture n° {invoice.number}" in first and "Facture n° " not in second


def test_a_printing_batch_numbers_the_pages_of_each_invoice_on_its_own(world):
    short = make_invoice(world, number_month=3)
    long = make_invoice(world, sixty_lines(world), number_month=4)
    after = make_invoice(world, number_month=5)
    content = pdf.invoices_pdf([short, long, after])
    pages = pages_text(content)
    assert len(pages) == 4
    assert [f"Facture n° {short.number} " in page for page in pages] == [1, 0, 0, 0]
    assert [f"Facture n° {long.number} " in page for page in pages] == [0, 1, 0, 0]
    assert [f"Facture n° {after.number} " in page for page in pages] == [0, 0, 0, 1]
    assert ["Page 1 / 2" in page for page in pages] == [0, 1, 0, 0]
    assert ["Page 2 / 2" in page for page in pages] == [0, 0, 1, 0]
    reader = PdfReader(io.BytesIO(content))
    assert reader.metadata.title == "Factures à imprimer"
    # The reader's side panel lists the invoices, each pointing to its first page.
    outline = [(entry.title, reader.get_destination_page_number(entry)) for entry in reader.outline]
    assert outline == [
        (f"Facture n° {short.number}", 0),
        (f"Facture n° {long.number}", 1),
        (f"Facture n° {after.number}", 3),
    ]
    # A task's batch gives each invoice its own PDF, numbered as when alone.
    batch = pdf.invoice_pdfs([after, long])
    assert list(batch) == [after.pk, long.pk]
    assert pages_text(batch[long.pk]) == pages[1:3]
    assert pdf_text(batch[after.pk]) == pdf_text(pdf.invoice_pdf(after))


def test_text_from_the_database_is_printed_not_read_as_markup(world):
    label = "Atelier <b>arts</b> & <img src='https://example.org/x.png'/> <font size=40>"
    invoice = make_invoice(world, [line(LineKind.PRESTATION, label, 1, "5.00", child=world.lea)])
    text = pdf_text(pdf.invoice_pdf(invoice))
    assert f"Léa {label} 1 × 5,00 € 5,00 €" in text


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pdf_reportlab._LOGOS.clear()
    yield tmp_path
    pdf_reportlab._LOGOS.clear()


def images(content: bytes) -> list:
    return [image for page in PdfReader(io.BytesIO(content)).pages for image in page.images]


def test_the_communes_logo_heads_the_invoice(world, media):
    invoice = make_invoice(world)
    assert images(pdf.invoice_pdf(invoice)) == []
    world.commune.logo.save("logo.png", ContentFile(png_bytes(120, 60)), save=True)
    (image,) = images(pdf.invoice_pdf(invoice))
    assert image.image.size == (120, 60)
    assert "Mairie de Villebois" in pdf_text(pdf.invoice_pdf(invoice))


def test_a_broken_logo_leaves_the_invoice_without_it(world, media):
    world.commune.logo.save("logo.png", ContentFile(b"not an image"), save=True)
    invoice = make_invoice(world)
    content = pdf.invoice_pdf(invoice)
    assert images(content) == []
    assert f"Facture n° {invoice.number}" in pdf_text(content)


def test_a_receipt_cancelled_late_in_the_evening_gives_the_day_in_france(world):
    payment = pay(world, make_invoice(world), "20.00", date(2026, 4, 2))
    cancel_payment(payment=payment, actor=AgentFactory(commune=world.commune), reason="Erreur")
    # 23:30 UTC on 30 April is 1:30 on 1 May in Paris (summer time).
    type(payment).objects.filter(pk=payment.pk).update(
        cancelled_at=datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
    )
    text = pdf_text(pdf.receipt_pdf(payment))
    assert "Ce paiement a été annulé le 01/05/2026 : Erreur." in text
    assert "Montant reçu : 20,00 €" in text
