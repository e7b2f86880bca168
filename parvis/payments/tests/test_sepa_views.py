"""The family's direct-debit pages (issue 19 §1): « Mon compte »'s panel, signing a mandate with
the e-mailed code, « prélevé le … » without « Payer », the mandate's page and PDF, revoking it;
scoped to the account's families and the commune."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django.urls import reverse

from parvis.background.models import OutgoingEmail
from parvis.payments.models import Mandate, MandateStatus
from parvis.payments.tests.conftest import BACKEND, make_invoice, make_world, text_of
from parvis.payments.tests.sepa_fixtures import FAMILY_IBAN, announced, creditor, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def sepa_world(world):
    world.creditor = creditor(world.regie)
    return world


@pytest.fixture
def logged(client, sepa_world):
    client.force_login(sepa_world.user, backend=BACKEND)
    return client


def burl(world, name, **kwargs):
    return reverse(f"billing:{name}", kwargs={"commune": world.commune.slug, **kwargs})


def purl(world, name, **kwargs):
    return reverse(f"payments:{name}", kwargs={"commune": world.commune.slug, **kwargs})


def test_mon_compte_offers_to_sign_a_mandate(logged, sepa_world):
    text = text_of(logged.get(burl(sepa_world, "mon_compte")))
    assert "Prélèvement automatique" in text
    assert "Signer un mandat de prélèvement (Régie enfance)" in text


def test_a_family_signs_online_and_its_invoices_say_when_they_are_debited(logged, sepa_world):
    world = sepa_world
    page = logged.get(purl(world, "mandat_signer", regie_pk=world.regie.pk))
    text = text_of(page)
    assert page.status_code == 200
    assert "En signant ce formulaire de mandat, vous autorisez Regie enfance de Villebois" in text
    assert world.creditor.ics in text
    response = logged.post(
        purl(world, "mandat_signer", regie_pk=world.regie.pk),
        {"holder_name": "Françoise DURAND", "iban": FAMILY_IBAN, "bic": "", "consent": "on"},
    )
    mandate = Mandate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == purl(world, "mandat_confirmer", pk=mandate.pk)
    [mail] = OutgoingEmail.objects.filter(subject__contains="code pour signer")
    code = re.search(r"\b(\d{6})\b", mail.body).group(1)
    response = logged.post(purl(world, "mandat_confirmer", pk=mandate.pk), {"code": code})
    assert response.status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIF
    text = text_of(logged.get(purl(world, "mandat", pk=mandate.pk)))
    assert mandate.rum in text and "FR14 2004 1010 0505 0001 3M02 606" in text
    pdf = logged.get(purl(world, "mandat_pdf", pk=mandate.pk))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    # « Mon compte »: « prélevé le … », no « Payer » for these invoices.
    day = f"{announced(world):%d/%m/%Y}"
    page = logged.get(burl(world, "mon_compte"))
    text = text_of(page)
    assert f"À régler : 73,80 € — prélevé le {day} (prélèvement automatique)" in text
    assert f'value="{world.sejour.pk}"' not in page.content.decode()
    assert "Payer plusieurs factures" not in text
    paiements = text_of(logged.get(burl(world, "paiements", pk=world.sejour.pk)))
    assert f"prélevé le {day}" in paiements
    assert "Payer" not in paiements.replace("Paiements", "")


def test_a_wrong_form_is_said_with_the_sites_error_pattern(logged, sepa_world):
    world = sepa_world
    response = logged.post(
        purl(world, "mandat_signer", regie_pk=world.regie.pk),
        {"holder_name": "F", "iban": "FR1520041010050500013M02606", "bic": ""},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Erreur :" in html.replace("\n", "").replace("  ", "")
    assert 'aria-invalid="true"' in html
    assert "clé de contrôle" in html and "Cochez la case pour autoriser" in html
    assert not Mandate.objects.exists()


def test_a_wrong_code_is_said_next_to_the_field(logged, sepa_world):
    world = sepa_world
    logged.post(
        purl(world, "mandat_signer", regie_pk=world.regie.pk),
        {"holder_name": "Françoise DURAND", "iban": FAMILY_IBAN, "consent": "on"},
    )
    mandate = Mandate.objects.get()
    response = logged.post(purl(world, "mandat_confirmer", pk=mandate.pk), {"code": "abc"})
    assert response.status_code == 200
    assert "ne correspond pas" in response.content.decode()
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.EN_ATTENTE and mandate.code_attempts == 1


def test_a_family_revokes_its_mandate_and_can_pay_by_card_again(logged, sepa_world):
    world = sepa_world
    mandate = sign(world)
    response = logged.post(purl(world, "mandat_revoquer", pk=mandate.pk), {})
    assert "Cochez la case pour confirmer la fin du mandat" in response.content.decode()
    response = logged.post(purl(world, "mandat_revoquer", pk=mandate.pk), {"confirm": "on"})
    assert response.status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.REVOQUE
    page = logged.get(burl(world, "mon_compte")).content.decode()
    assert f'value="{world.sejour.pk}"' in page and "prélevé le" not in page


def test_another_familys_or_communes_mandate_is_a_404(client, sepa_world):
    world = sepa_world
    mandate = sign(world)
    other = make_world(slug="autreville", name="Autreville")
    client.force_login(other.user, backend=BACKEND)
    for name in ("mandat", "mandat_pdf", "mandat_confirmer"):
        assert client.get(purl(other, name, pk=mandate.pk)).status_code == 404
    assert client.get(purl(other, "mandat_signer", regie_pk=world.regie.pk)).status_code == 404
    assert (
        client.post(purl(other, "mandat_revoquer", pk=mandate.pk), {"confirm": "on"}).status_code
        == 404
    )
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIF


def test_mon_compte_reads_in_constant_queries_with_a_mandate(
    logged, sepa_world, django_assert_max_num_queries
):
    world = sepa_world
    sign(world)
    logged.get(burl(world, "mon_compte"))
    with django_assert_max_num_queries(30) as few:
        logged.get(burl(world, "mon_compte"))
    for index in range(15):
        make_invoice(world.regie, world.famille, f"{index + 1}.05", label=f"Mois {index}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        text = text_of(logged.get(burl(world, "mon_compte")))
    assert text.count("prélevé le") == 17
    assert D("1.05") > 0


def test_only_the_account_that_asked_confirms_a_mandate(client, sepa_world):
    from parvis.families.tests.factories import FamilyAccessFactory

    world = sepa_world
    client.force_login(world.user, backend=BACKEND)
    client.post(
        purl(world, "mandat_signer", regie_pk=world.regie.pk),
        {"holder_name": "Françoise DURAND", "iban": FAMILY_IBAN, "consent": "on"},
    )
    mandate = Mandate.objects.get()
    other = FamilyAccessFactory(famille=world.famille, user__email="paul.durand@example.fr").user
    client.force_login(other, backend=BACKEND)
    assert client.get(purl(world, "mandat", pk=mandate.pk)).status_code == 404
    assert client.get(purl(world, "mandat_confirmer", pk=mandate.pk)).status_code == 404
    assert (
        client.post(purl(world, "mandat_confirmer", pk=mandate.pk), {"code": "123456"}).status_code
        == 404
    )
