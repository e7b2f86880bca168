"""Fixtures of the online-payment tests: a commune with a régie, the DURAND family and its
account, invoices made by billing's own services, and the receipts « sent » (recorded)."""

import re
from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.urls import reverse

from parvis.billing import services as billing
from parvis.billing.models import InvoiceKind, LineKind, Regie
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import FamilleFactory, FamilyAccessFactory

BACKEND = "parvis.accounts.backends.CommuneBackend"


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


def make_invoice(regie, famille, amount: str, *, label="Séjour CT 3 (Ecole du PARC)", **extra):
    return billing.create_invoice(
        regie=regie,
        famille=famille,
        kind=InvoiceKind.UNIQUE,
        label=label,
        category=extra.pop("category", "CLASSES TRANSPLANTÉES"),
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 6),
        lines=[
            billing.LineData(
                kind=LineKind.SEJOUR,
                label=label,
                quantity=1,
                unit_price=D(amount),
                amount=D(amount),
            )
        ],
        issued_on=date(2026, 11, 10),
        due_on=date(2026, 12, 10),
        actor=None,
    )


def make_world(slug="villebois", name="Villebois"):
    commune = CommuneFactory(name=name, slug=slug)
    regie = Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")
    famille = FamilleFactory(commune=commune, name="DURAND")
    access = FamilyAccessFactory(famille=famille, user__email="francoise.durand@example.fr")
    return SimpleNamespace(
        commune=commune,
        regie=regie,
        famille=famille,
        user=access.user,
        sejour=make_invoice(regie, famille, "73.80"),
        cantine=make_invoice(regie, famille, "70.55", label="Restauration novembre 2026"),
    )


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No test reaches DGFiP's web service: tests that need it install a fake."""
    import eopayment.payfip_ws as payfip_ws

    def unreachable(*args, **kwargs):
        raise payfip_ws.PayFiPError("HTTP error", "no network in tests")

    monkeypatch.setattr(payfip_ws.PayFiP, "get_idop", unreachable)
    monkeypatch.setattr(payfip_ws.PayFiP, "get_info_paiement", unreachable)


@pytest.fixture
def receipts(monkeypatch):
    """The payments whose receipt would be e-mailed (billing.delivery is the PDF part's)."""
    sent = []
    monkeypatch.setattr(
        "parvis.billing.delivery.send_receipt", lambda *, payment_id: sent.append(payment_id)
    )
    return sent


@pytest.fixture
def world(db, receipts):
    return make_world()


@pytest.fixture
def logged(client, world):
    client.force_login(world.user, backend=BACKEND)
    return client


def url(world, name, **kwargs):
    return reverse(f"payments:{name}", kwargs={"commune": world.commune.slug, **kwargs})
