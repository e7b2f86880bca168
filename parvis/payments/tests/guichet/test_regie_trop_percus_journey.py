"""« Trop-perçus » in Chromium, axe on every page: the DURAND family pressed « Payer » twice and
the bank confirmed both; the demo's csp-regie agent opens « Régie » › « Trop-perçus », the
trop-perçu, tries « Rembourser » by cheque without its number (refused next to the field, the
entries kept), then records it; then the same pages on a 360 px phone."""

from datetime import date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.payments import services
from parvis.payments.models import TransactionStatus, TropPercu, TropPercuStatus
from parvis.payments.tests.guichet.test_regie_journey import expect_bad_request
from parvis.testing.browser import assert_accessible, log_in_agent
from parvis.testing.regie import make_invoice, make_regie

pytestmark = pytest.mark.browser

SLUG = "carrieres-sous-poissy"
GUICHET = f"/{SLUG}/guichet/"
NOW = datetime(2026, 10, 20, 10, 0, tzinfo=PARIS)


@pytest.fixture
def trop_percu(demo_site, monkeypatch):
    from parvis.families import demo as families_demo

    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)
    families_demo.load()
    commune = Commune.objects.get(slug=SLUG)
    durand = Famille.objects.get(commune=commune, name="DURAND")
    regie = make_regie(commune, code="CPT", name="Régie du guichet")
    invoice = make_invoice(regie, durand, "45.10", due_on=date(2026, 10, 30))
    with time_machine.travel(NOW, tick=True):
        for _click in range(2):
            services.start_payment(
                famille=durand, user=None, commune=commune, invoice_ids=[invoice.pk]
            )
        for transaction in durand.transactions.order_by("-pk"):
            assert transaction.status in (TransactionStatus.EN_ATTENTE, "remplacee")
            services.simulate_notification(transaction=transaction, result="paye", remote_addr=None)
        yield TropPercu.objects.get()


def test_rembourser_a_trop_percu(trop_percu, browser_page):
    page = browser_page
    log_in_agent(page, GUICHET, "csp-regie")
    page.goto(f"{GUICHET}regie/")
    page.get_by_role("navigation", name="Pages de la régie").get_by_role(
        "link", name="Trop-perçus"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Régie — trop-perçus")
    expect(page.get_by_text("À rembourser : 1 trop-perçu")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="20/10/2026").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trop-perçu de 45,10 €")
    assert_accessible(page)
    page.get_by_label("Chèque").check()
    page.get_by_role("button", name="Rembourser").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez la référence du remboursement")
    expect_bad_request(page)
    expect(page.get_by_label("Chèque")).to_be_checked()
    expect(page.get_by_label("Remboursé le")).to_have_value("2026-10-20")
    assert_accessible(page)

    page.get_by_label("Référence du remboursement").fill("0001234 — Trésor public")
    page.get_by_role("button", name="Rembourser").click()
    expect(page.get_by_text("Remboursement de 45,10 € enregistré.")).to_be_visible()
    expect(
        page.get_by_text("Chèque, le 20/10/2026 — référence 0001234 — Trésor public")
    ).to_be_visible()
    assert_accessible(page)
    trop_percu.refresh_from_db()
    assert trop_percu.status == TropPercuStatus.REMBOURSE


def test_the_trop_percus_on_a_phone(trop_percu, phone_page):
    page = phone_page
    log_in_agent(page, GUICHET, "csp-regie")
    for path in ("regie/trop-percus/", f"regie/trop-percus/{trop_percu.pk}/"):
        page.goto(f"{GUICHET}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)  # no sideways scrolling but in the tables
