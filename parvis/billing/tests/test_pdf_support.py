"""Helpers of the PDF, delivery and documents tests (no test here): a family with invoices and
payments made through the real services, and `pdf_text`, the text of a WeasyPrint PDF read back
with pypdf (a development dependency: a real PDF parser, not a reading of our own)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D

from pypdf import PdfReader

from parvis.activities.tests.factories import make_activity
from parvis.billing import services
from parvis.billing.models import InvoiceKind, LineKind, PaymentMethod, Regie
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import (
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

BACKEND = "parvis.accounts.backends.CommuneBackend"

# --- Reading a PDF back -------------------------------------------------------------------------


def _reader(content: bytes) -> PdfReader:
    assert content.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(content), strict=True)


def pdf_text(content: bytes) -> str:
    """The text of the PDF, its pages in order, whitespace collapsed."""
    text = " ".join(page.extract_text() for page in _reader(content).pages)
    return re.sub(r"\s+", " ", text).strip()


def page_count(content: bytes) -> int:
    return len(_reader(content).pages)


# --- A family with invoices and payments --------------------------------------------------------


@dataclass
class World:
    commune: object
    regie: Regie
    famille: object
    responsable: object
    lea: object
    hugo: object
    user: object
    unit: object


def make_world(*, name="Villebois", slug="villebois") -> World:
    """The DURAND family of a commune: Françoise (e-mail), Léa (born 10/03/2021: under 6 in
    2026) and Hugo (born 2017); an account linked to the family; the régie « Régie enfance »;
    an activity with the unit « Acc Matin »."""
    commune = CommuneFactory(name=name, slug=slug)
    regie = Regie.objects.create(
        commune=commune,
        name="Régie enfance",
        code="ENF",
        payee=f"Régie enfance de {name}",
        address="2, place de la Mairie\n78000 " + name,
        email="regie@example.fr",
        phone="01 23 45 67 10",
    )
    famille = FamilleFactory(
        commune=commune, name="DURAND", address="3, rue des Écoles", postal_code="78955"
    )
    responsable = PersonneFactory(
        famille=famille, first_names="Françoise", email="francoise@example.fr"
    )
    lea = ChildFactory(famille=famille, first_names="Léa", birth_date=date(2021, 3, 10))
    hugo = ChildFactory(famille=famille, first_names="Hugo", birth_date=date(2017, 5, 2))
    access = FamilyAccessFactory(famille=famille, user__email="compte@example.fr")
    activity = make_activity(commune, start=date(2025, 9, 1), end=date(2026, 7, 3))
    return World(
        commune=commune,
        regie=regie,
        famille=famille,
        responsable=responsable,
        lea=lea,
        hugo=hugo,
        user=access.user,
        unit=activity.units.get(),
    )


def line(kind, label, quantity, unit_price, *, child=None, childcare=False, price_label=""):
    unit_price = D(unit_price)
    return services.LineData(
        kind=kind,
        label=label,
        quantity=quantity,
        unit_price=unit_price,
        amount=(unit_price * quantity).quantize(D("0.01")),
        child_id=child.pk if child else None,
        child_name=child.first_names if child else "",
        price_label=price_label,
        childcare=childcare,
    )


def march_lines(world: World) -> list[services.LineData]:
    """A month of Léa and Hugo: 70,55 + 54,40 + 10,00 − 8,30 + 25,00 = 151,65 €; Léa's
    childcare (care minus its credit, meals and penalty left out) is 70,55 − 8,30 = 62,25 €."""
    lea, hugo = world.lea, world.hugo
    return [
        line(LineKind.PRESTATION, "Acc Matin", 17, "4.15", child=lea, childcare=True,
             price_label="QF de 1 000 € à 1 199,99 €"),
        line(LineKind.PRESTATION, "Restauration", 17, "3.20", child=lea),
        line(LineKind.PENALITE, "Présence sans réservation", 1, "10.00", child=lea,
             childcare=True),
        line(LineKind.DEDUCTION, "Absence justifiée déduite", 2, "-4.15", child=lea,
             childcare=True),
        line(LineKind.PRESTATION, "Acc Soir", 10, "2.50", child=hugo, childcare=True),
    ]  # fmt: skip


def make_invoice(world: World, lines=None, *, label="Facture de mars 2026", number_month=3,
                 kind=InvoiceKind.MENSUELLE, category="", year=2026):  # fmt: skip
    month = date(year, number_month, 1)
    return services.create_invoice(
        regie=world.regie,
        famille=world.famille,
        kind=kind,
        month=month if kind == InvoiceKind.MENSUELLE else None,
        category=category,
        label=label,
        period_start=month,
        period_end=month.replace(day=28),
        lines=lines if lines is not None else march_lines(world),
        issued_on=month.replace(day=28),
        due_on=month.replace(day=28),
        actor=None,
    )


def pay(world: World, invoice, amount: str, received_on: date, **extra):
    extra.setdefault("method", PaymentMethod.ESPECES)
    return services.record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(invoice, D(amount))],
        received_on=received_on,
        actor=None,
        **extra,
    )
