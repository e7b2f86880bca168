"""Invoices rendered for a background task: `pdf.invoice_pdfs` reads a batch in four queries and
gives one PDF per invoice, each the same as `invoice_pdf`'s (its pages only, even when it runs
over several, and its own title), drawn by ReportLab, never WeasyPrint; for the documents still
rendered by WeasyPrint (the certificates), its font configuration is made once per thread, not
once per PDF."""

import io

import pytest
from pypdf import PdfReader

from parvis.billing import pdf
from parvis.billing.models import LineKind
from parvis.billing.tests.test_pdf_support import (
    line,
    make_invoice,
    make_world,
    page_count,
    pdf_text,
)
from parvis.families.tests.factories import FamilleFactory

pytestmark = pytest.mark.django_db


def title(content: bytes) -> str:
    return PdfReader(io.BytesIO(content)).metadata.title


def test_a_batch_gives_each_invoice_the_pdf_invoice_pdf_gives_it(
    monkeypatch, django_assert_num_queries
):
    world = make_world()
    long_lines = [
        line(LineKind.PRESTATION, f"Restauration du {day}", 1, "3.20", child=world.lea)
        for day in range(1, 61)
    ]
    invoices = [
        make_invoice(world, number_month=3),
        make_invoice(world, long_lines, number_month=4),  # over several pages
        make_invoice(world, number_month=5),
    ]
    world.famille = FamilleFactory(commune=world.commune, name="MARTIN")
    invoices.append(make_invoice(world, number_month=3))
    alone = {invoice.pk: pdf.invoice_pdf(invoice) for invoice in invoices}
    assert page_count(alone[invoices[1].pk]) > 1
    monkeypatch.setattr(pdf, "_document", lambda *a: pytest.fail("WeasyPrint"))
    order = [invoices[3], invoices[1], invoices[0], invoices[2]]
    # Four queries whatever the number: the invoices, their lines, the responsables, and the
    # families' SEPA mandates (« prélevé le … », issue 19).
    with django_assert_num_queries(4):
        batch = pdf.invoice_pdfs(order)
    assert list(batch) == [invoice.pk for invoice in order]
    for invoice in invoices:
        content = batch[invoice.pk]
        assert pdf_text(content) == pdf_text(alone[invoice.pk])
        assert page_count(content) == page_count(alone[invoice.pk])
        assert title(content) == title(alone[invoice.pk]) == f"Facture n° {invoice.number}"


def test_an_empty_batch_renders_nothing(monkeypatch):
    monkeypatch.setattr(pdf.pdf_reportlab, "_build", lambda *a, **k: pytest.fail("rendered"))
    assert pdf.invoice_pdfs([]) == {}


def test_the_font_configuration_is_made_once_per_thread(monkeypatch):
    from weasyprint.text import fonts

    made = []
    real = fonts.FontConfiguration
    monkeypatch.setattr(fonts, "FontConfiguration", lambda: made.append(1) or real())
    monkeypatch.setattr(pdf._local, "font_config", None, raising=False)
    world = make_world()
    first = pdf.tax_certificate_pdf(famille=world.famille, year=2026)
    second = pdf.tax_certificate_pdf(famille=world.famille, year=2026)
    assert made == [1]
    assert pdf_text(first) == pdf_text(second)
