"""The régie's direct-debit pages (issue 19 §1): a batch prepared for a date with its pain.008
file (downloaded, valid), marked transmitted, a reject entered or imported, mandates reviewed and
a paper mandate recorded; régie agents only, scoped to the commune."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.billing.models import InvoiceStatus
from parvis.payments import sepa, services_sepa
from parvis.payments.models import BatchStatus, DebitBatch, DebitStatus, Mandate, MandateStatus
from parvis.payments.tests.conftest import make_world, text_of
from parvis.payments.tests.sepa_fixtures import (
    FAMILY_IBAN,
    collection_day,
    creditor,
    regie_agent,
    sign,
)
from parvis.testing.regie import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def sepa_world(world):
    world.creditor = creditor(world.regie, rejection_fee=D("5.00"))
    world.agent = regie_agent(world)
    return world


@pytest.fixture
def regie_client(client, sepa_world):
    client.force_login(sepa_world.agent)
    return client


def gurl(world, name, **kwargs):
    return reverse(f"guichet_regie:{name}", kwargs={"commune": world.commune.slug, **kwargs})


def prepare_through_the_page(client, world):
    return client.post(
        gurl(world, "prelevements"),
        {"regie": world.regie.pk, "collection_date": f"{collection_day(world):%Y-%m-%d}"},
    )


def test_only_the_regie_sees_the_direct_debit_pages(client, sepa_world):
    world = sepa_world
    client.force_login(make_agent(world.commune, AgentRole.Role.ENFANCE))
    assert client.get(gurl(world, "prelevements")).status_code == 403
    assert client.get(gurl(world, "mandats")).status_code == 403


def test_the_regie_prepares_downloads_and_sends_a_batch(regie_client, sepa_world):
    world = sepa_world
    sign(world)
    response = prepare_through_the_page(regie_client, world)
    batch = DebitBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == gurl(world, "lot", pk=batch.pk)
    text = text_of(regie_client.get(gurl(world, "lot", pk=batch.pk)))
    assert "144,35 €" in text and "FRST" in text
    download = regie_client.get(gurl(world, "lot_xml", pk=batch.pk))
    assert download["Content-Type"] == "application/xml"
    assert f'filename="{batch.message_id}.xml"' in download["Content-Disposition"]
    sepa.validate(download.content)
    assert b"<CtrlSum>144.35</CtrlSum>" in download.content
    regie_client.post(gurl(world, "lot_transmis", pk=batch.pk))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ENVOYE
    assert AuditEntry.objects.filter(action="prelevement.lot_transmis", actor=world.agent).exists()


def test_a_date_too_soon_is_said_next_to_its_field(regie_client, sepa_world):
    world = sepa_world
    sign(world)
    response = regie_client.post(
        gurl(world, "prelevements"), {"regie": world.regie.pk, "collection_date": "2020-01-01"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "au plus tôt" in html and 'aria-invalid="true"' in html
    assert not DebitBatch.objects.exists()


def test_a_reject_entered_then_the_invoice_is_due_again(regie_client, sepa_world):
    world = sepa_world
    sign(world)
    prepare_through_the_page(regie_client, world)
    batch = DebitBatch.objects.get()
    regie_client.post(gurl(world, "lot_transmis", pk=batch.pk))
    debit = batch.debits.get(invoice=world.sejour)
    response = regie_client.post(
        gurl(world, "rejet", pk=debit.pk), {"code": "AM04", "rejected_on": "2026-12-06"}
    )
    assert response.status_code == 302
    debit.refresh_from_db()
    world.sejour.refresh_from_db()
    assert debit.status == DebitStatus.REJETE
    assert world.sejour.status == InvoiceStatus.A_REGLER
    text = text_of(regie_client.get(gurl(world, "lot", pk=batch.pk)))
    assert "AM04 — provision insuffisante sur le compte" in text


def test_rejects_are_imported_and_wrong_lines_named(regie_client, sepa_world):
    world = sepa_world
    sign(world)
    prepare_through_the_page(regie_client, world)
    batch = DebitBatch.objects.get()
    regie_client.post(gurl(world, "lot_transmis", pk=batch.pk))
    first, second = batch.debits.order_by("pk")
    response = regie_client.post(
        gurl(world, "rejets_importer", pk=batch.pk),
        {"lines": f"{first.end_to_end_id};AC04\nNOPE;AM04\n{second.end_to_end_id};AC04"},
    )
    assert response.status_code == 400
    assert "Ligne 2" in response.content.decode()
    mandate = Mandate.objects.get(famille=world.famille, status=MandateStatus.SUSPENDU)
    text = text_of(regie_client.get(gurl(world, "prelevements")))
    assert "Mandats suspendus à revoir" in text and mandate.rum in text
    regie_client.post(gurl(world, "mandat_reactiver", pk=mandate.pk))
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIF


def test_a_paper_mandate_is_recorded(regie_client, sepa_world):
    world = sepa_world
    response = regie_client.post(
        gurl(world, "mandat_papier"),
        {
            "famille": world.famille.reference,
            "regie": world.regie.pk,
            "holder_name": "Paul DURAND",
            "iban": FAMILY_IBAN,
            "bic": "",
            "signed_on": "2026-11-02",
            "rum": "",
        },
    )
    mandate = Mandate.objects.get()
    assert response.status_code == 302
    assert mandate.source == "papier" and mandate.status == MandateStatus.ACTIF
    assert mandate.rum.startswith("PVS-ENF-")
    response = regie_client.post(
        gurl(world, "mandat_papier"),
        {"famille": "INCONNU", "regie": world.regie.pk, "holder_name": "P", "iban": "x",
         "signed_on": "2026-11-02"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Aucune famille de la commune" in response.content.decode()


def test_another_communes_batch_and_mandate_are_404(client, sepa_world):
    world = sepa_world
    mandate = sign(world)
    batch = services_sepa.prepare_batch(
        regie=world.regie, collection_date=collection_day(world), actor=world.agent
    )
    other = make_world(slug="autreville", name="Autreville")
    client.force_login(make_agent(other.commune, AgentRole.Role.REGIE))
    for name, pk in (("lot", batch.pk), ("lot_xml", batch.pk), ("mandat", mandate.pk)):
        assert client.get(gurl(other, name, pk=pk)).status_code == 404
    assert client.post(gurl(other, "lot_transmis", pk=batch.pk)).status_code == 404
    debit = batch.debits.first()
    assert client.post(gurl(other, "rejet", pk=debit.pk), {"code": "AM04"}).status_code == 404
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREPARE


def test_the_pages_read_in_constant_queries(
    regie_client, sepa_world, django_assert_max_num_queries
):
    world = sepa_world
    sign(world)
    prepare_through_the_page(regie_client, world)
    batch = DebitBatch.objects.get()
    for name, kwargs in (("prelevements", {}), ("lot", {"pk": batch.pk}), ("mandats", {})):
        with django_assert_max_num_queries(25):
            assert regie_client.get(gurl(world, name, **kwargs)).status_code == 200


def test_an_overdue_invoice_a_mandate_pays_gets_no_reminder(sepa_world):
    from datetime import date, timedelta

    from parvis.payments.guichet.selectors import overdue_invoices
    from parvis.payments.tests.sepa_fixtures import today

    world = sepa_world
    later = max(today(), date(2026, 12, 10)) + timedelta(days=1)  # past the due date
    assert {i.pk for i in overdue_invoices(world.commune, today=later)} == {
        world.sejour.pk,
        world.cantine.pk,
    }
    sign(world)
    assert list(overdue_invoices(world.commune, today=later)) == []
