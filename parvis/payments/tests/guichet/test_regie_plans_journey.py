"""A plan of three instalments paid off (issue 19 « Done when »), in Chromium with axe on every
page: the demo's csp-regie agent grants the DURAND family a plan for last month's invoice
(66,18 €) from the invoice's page, first with a sum one cent short (refused next to the last
amount), then right; Françoise DURAND, on her phone (360 px), pays the first two instalments
online through the payment simulator; the agent records the third at the counter and the plan is
« Soldé ». Money checked to the cent."""

from datetime import date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import (
    InstalmentStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PaymentMethod,
    PaymentPlan,
    PlanStatus,
)
from parvis.demarches.tests.test_journey_account_requests import log_in_francoise
from parvis.payments.tests.guichet.test_regie_journey import expect_bad_request
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

SLUG = "carrieres-sous-poissy"
GUICHET = f"/{SLUG}/guichet/"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=PARIS)


@pytest.fixture
def october(demo_site):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        yield Invoice.objects.get(kind=InvoiceKind.MENSUELLE, famille__name="DURAND")


def no_sideways_scroll(page):
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (page.url, overflow)


def pay_next_instalment_online(page, plan, amount):
    page.goto(f"/{SLUG}/mon-espace/factures/echeanciers/{plan.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Échéancier n° {plan.pk}")
    assert_accessible(page)
    no_sideways_scroll(page)
    page.get_by_role("button", name=f"Payer cette échéance : {amount} €").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiement par carte bancaire")
    expect(page.get_by_text(f"{amount} €").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Paiement accepté : votre facture est réglée en partie"
    )
    assert_accessible(page)


def test_a_plan_of_three_instalments_is_paid_off(october, browser_page, phone_page):
    assert (october.total, october.paid) == (D("66.18"), D("0.00"))
    agent = browser_page
    log_in_agent(agent, GUICHET, "csp-regie")
    agent.goto(f"{GUICHET}regie/factures/{october.pk}/")
    agent.get_by_role("link", name="Accorder un échéancier").click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(
        "Accorder un échéancier à la famille DURAND"
    )
    # The proposal: 66,18 € in three instalments of 22,06 €, one a month from 29/11.
    expect(agent.get_by_label("Échéance 3 : montant (€)")).to_have_value("22,06")
    expect(agent.get_by_label("Échéance 2 : date")).to_have_value("2026-12-29")
    assert_accessible(agent)

    agent.get_by_label("Nombre d'échéances").fill("3")
    agent.get_by_label("Première échéance le").fill("2026-11-25")
    agent.get_by_role("button", name="Calculer les échéances").click()
    expect(agent.get_by_label("Échéance 1 : date")).to_have_value("2026-11-25")
    agent.get_by_label("Échéance 1 : montant (€)").fill("20,00")
    agent.get_by_label("Échéance 2 : montant (€)").fill("22,06")
    agent.get_by_label("Échéance 3 : montant (€)").fill("24,11")  # one cent short
    agent.get_by_role("button", name="Accorder l'échéancier").click()
    expect(agent.get_by_role("alert")).to_contain_text(
        "Les échéances font 66,17 € au lieu de 66,18 €"
    )
    expect_bad_request(agent)
    expect(agent.get_by_label("Échéance 3 : montant (€)")).to_have_attribute("aria-invalid", "true")
    expect(agent.get_by_label("Échéance 1 : montant (€)")).to_have_value("20,00")
    assert_accessible(agent)
    agent.get_by_label("Échéance 3 : montant (€)").fill("24,12")
    agent.get_by_role("button", name="Accorder l'échéancier").click()
    expect(agent.get_by_text("Échéancier accordé : 66,18 € en 3 échéances.")).to_be_visible()
    assert_accessible(agent)
    plan = PaymentPlan.objects.get(famille__name="DURAND")  # demo_plans has BERNARD's
    assert [(i.due_on, i.amount) for i in plan.instalments.all()] == [
        (date(2026, 11, 25), D("20.00")),
        (date(2026, 12, 25), D("22.06")),
        (date(2027, 1, 25), D("24.12")),
    ]

    family = phone_page
    log_in_francoise(family)
    family.goto(f"/{SLUG}/mon-espace/factures/")
    expect(family.get_by_text("Prochaine échéance : 20,00 € le 25/11/2026")).to_be_visible()
    assert_accessible(family)
    pay_next_instalment_online(family, plan, "20,00")
    pay_next_instalment_online(family, plan, "22,06")
    family.goto(f"/{SLUG}/mon-espace/factures/echeanciers/{plan.pk}/")
    expect(family.get_by_role("button", name="Payer cette échéance : 24,12 €")).to_be_visible()
    statuses = [(i.status, i.paid) for i in plan.instalments.all()]
    assert statuses == [
        (InstalmentStatus.PAYEE, D("20.00")),
        (InstalmentStatus.PAYEE, D("22.06")),
        (InstalmentStatus.A_PAYER, D("0.00")),
    ]

    agent.goto(f"{GUICHET}regie/echeanciers/")
    agent.get_by_role("link", name=f"n° {plan.pk}").click()
    expect(agent.get_by_text("Reste à payer 24,12 €")).to_be_visible()
    assert_accessible(agent)
    agent.get_by_role("link", name="Encaisser l'échéance 3").click()
    expect(agent.get_by_label("Montant reçu (€)")).to_have_value("24,12")
    assert_accessible(agent)
    agent.get_by_label("Espèces").check()
    agent.get_by_role("button", name="Enregistrer le paiement").click()
    expect(agent.get_by_text("Paiement de 24,12 € enregistré")).to_be_visible()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Soldé")
    assert_accessible(agent)

    plan.refresh_from_db()
    october.refresh_from_db()
    assert plan.status == PlanStatus.SOLDE
    assert (october.status, october.paid) == (InvoiceStatus.REGLEE, D("66.18"))
    methods = sorted(
        (a.payment.method, a.amount) for a in october.allocations.select_related("payment")
    )
    assert methods == [
        (PaymentMethod.CARTE, D("20.00")),
        (PaymentMethod.CARTE, D("22.06")),
        (PaymentMethod.ESPECES, D("24.12")),
    ]
    family.goto(f"/{SLUG}/mon-espace/factures/")
    expect(family.get_by_text("Échéancier soldé")).to_be_visible()
    assert_accessible(family)


def test_the_plan_pages_on_a_phone(october, phone_page, browser_page):
    from parvis.accounts.models import User
    from parvis.billing import services_plans

    agent_user = User.objects.get(username="csp-regie")
    with time_machine.travel(NOW, tick=True):
        plan = services_plans.grant_plan(
            famille=october.famille,
            invoices=[october],
            schedule=[(date(2026, 11, 25), D("33.09")), (date(2026, 12, 25), D("33.09"))],
            actor=agent_user,
        )
    page = phone_page
    log_in_agent(page, GUICHET, "csp-regie")
    for path in (
        "regie/echeanciers/",
        f"regie/echeanciers/{plan.pk}/",
        f"regie/echeanciers/{plan.pk}/encaisser/",
        f"regie/familles/{october.famille_id}/echeancier/",
    ):
        page.goto(f"{GUICHET}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
        no_sideways_scroll(page)
    family = browser_page
    log_in_francoise(family)
    family.goto(f"/{SLUG}/mon-espace/factures/echeanciers/{plan.pk}/")
    expect(family.get_by_role("button", name="Payer cette échéance : 33,09 €")).to_be_visible()
    assert_accessible(family)
