"""The tenancy walk of parvis/portal/tests/test_tenancy_walk.py for billing and payment: every
pattern of « Mon compte » and « Édition de documents » (namespace « billing »), of online payment
(« payments ») and of the régie (« guichet_regie ») tried with another family's or another
commune's invoice, payment, transaction, run and family. New patterns are picked up
automatically; one whose parameters the walk cannot fill fails the test. Nothing is paid,
cancelled or changed by the attempts."""

from datetime import date, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.utils import timezone

from parvis.accounts.models import AgentRole
from parvis.billing import plans, services, services_plans
from parvis.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    InvoicingRun,
    LineKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PlanStatus,
    Regie,
)
from parvis.families.tests.factories import AgentFactory, ChildFactory, FamilyAccessFactory
from parvis.payments.models import (
    Mandate,
    MandateStatus,
    Transaction,
    TransactionInvoice,
    TransactionStatus,
    TropPercu,
    TropPercuStatus,
)
from parvis.payments.tests.sepa_fixtures import creditor, sign
from parvis.portal.tests.test_tenancy_walk import commune_patterns

pytestmark = pytest.mark.django_db

MONTH = date(2026, 10, 1)


@pytest.fixture(autouse=True)
def no_pdf_mail(monkeypatch):
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


def _invoice(regie, famille, amount: str, month: date) -> Invoice:
    return services.create_invoice(
        regie=regie, famille=famille, kind=InvoiceKind.MENSUELLE, month=month,
        label=f"Facture {month:%m/%Y}", period_start=month, period_end=month + timedelta(days=27),
        lines=[services.LineData(kind=LineKind.PRESTATION, label="Restauration", quantity=1,
                                 unit_price=D(amount), amount=D(amount))],
        issued_on=month + timedelta(days=31), due_on=month + timedelta(days=61), actor=None,
    )  # fmt: skip


def world(commune=None, *, code="ENF"):
    """A family with an account and a child, a régie, an invoice due, another one paid at the
    counter, an online transaction under way, a run; an administrator agent."""
    access = FamilyAccessFactory(**({"famille__commune": commune} if commune else {}))
    famille, commune = access.famille, access.commune
    child = ChildFactory(famille=famille)
    regie, _created = Regie.objects.get_or_create(
        commune=commune, code=code, defaults={"name": "Régie enfance"}
    )
    run, _created = InvoicingRun.objects.get_or_create(commune=commune, regie=regie, month=MONTH)
    due = _invoice(regie, famille, "45.10", MONTH)
    paid = _invoice(regie, famille, "12.40", date(2026, 9, 1))
    payment = services.record_payment(
        regie=regie, famille=famille, allocations=[(paid, D("12.40"))],
        method=PaymentMethod.ESPECES, received_on=date(2026, 10, 5), actor=None,
    )  # fmt: skip
    transaction = Transaction.objects.create(
        commune=commune, famille=famille, user=access.user,
        reference=f"PVSWALK{famille.pk:06d}", provider="simulateur", amount=D("45.10"),
    )  # fmt: skip
    TransactionInvoice.objects.create(transaction=transaction, invoice=due, amount=D("45.10"))
    trop_percu = TropPercu.objects.create(
        commune=commune, regie=regie, famille=famille, transaction=transaction, amount=D("3.10")
    )
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    # A payment plan granted by the régie for a third invoice (the others stay as they are), and
    # a signed direct-debit mandate of the family with the régie.
    owed = _invoice(regie, famille, "30.00", date(2026, 8, 1))
    first = timezone.localdate() + timedelta(days=20)
    plan = services_plans.grant_plan(
        famille=famille, invoices=[owed], actor=agent,
        schedule=list(zip(plans.monthly_dates(first, 2), plans.split(owed.total, 2), strict=True)),
    )  # fmt: skip
    if not hasattr(regie, "sepa"):
        creditor(regie)
    mandate = sign(SimpleNamespace(famille=famille, regie=regie, user=access.user))
    return {
        "commune": commune,
        "famille": famille,
        "user": access.user,
        "agent": agent,
        "child": child,
        "regie": regie,
        "run": run,
        "due": due,
        "paid": paid,
        "payment": payment,
        "transaction": transaction,
        "trop_percu": trop_percu,
        "plan": plan,
        "mandate": mandate,
    }


def fill(pattern, objects: dict) -> str:
    route = str(pattern.pattern)
    values = {
        "<str:reference>": objects["transaction"].reference,
        "<str:provider>": "simulateur",
        "<int:regie_pk>": str(objects["regie"].pk),
    }
    if "<int:pk>" in route:
        if route.startswith(("recus/", "paiements/")):
            values["<int:pk>"] = str(objects["payment"].pk)
        elif route.startswith("familles/"):
            values["<int:pk>"] = str(objects["famille"].pk)
        elif route.startswith("facturation/"):
            values["<int:pk>"] = str(objects["run"].pk)
        elif route.startswith("echeanciers/"):
            values["<int:pk>"] = str(objects["plan"].pk)
        elif route.startswith(("prelevement/mandats/", "prelevements/mandats/")):
            values["<int:pk>"] = str(objects["mandate"].pk)
        elif route.startswith("trop-percus/"):
            values["<int:pk>"] = str(objects["trop_percu"].pk)
        else:
            values["<int:pk>"] = str(objects["due"].pk)
    for placeholder, value in values.items():
        route = route.replace(placeholder, value)
    assert "<" not in route, f"the tenancy walk cannot fill {pattern.pattern}: teach it"
    return route


def pirate_post(objects) -> dict:
    """What a forged POST would change if it got through: pay, cash, cancel, remind."""
    ids = [str(objects["due"].pk), str(objects["paid"].pk)]
    return {
        "factures": ids,
        "invoices": ids,
        "amount": "1,00",
        "montant": "1,00",
        "method": PaymentMethod.ESPECES,
        "mode": PaymentMethod.ESPECES,
        "received_on": "2026-10-06",
        "refunded_on": date.today().isoformat(),  # a valid refund day, were it let through
        "reference": "PIRATE",
        "reason": "PIRATE",
        "motif": "PIRATE",
        "action": "payer",
        "decision": "payer",
    }


def _unchanged(b):
    for name, status, paid in (("due", InvoiceStatus.A_REGLER, D("0")), ("paid", "reglee", None)):
        b[name].refresh_from_db()
        assert b[name].status == status, name
        if paid is not None:
            assert b[name].paid == paid, name
    b["payment"].refresh_from_db()
    assert b["payment"].status == PaymentStatus.VALIDE
    b["transaction"].refresh_from_db()
    assert b["transaction"].status == TransactionStatus.EN_ATTENTE
    assert Payment.objects.filter(famille=b["famille"]).count() == 1
    assert Transaction.objects.filter(famille=b["famille"]).count() == 1
    assert not b["due"].reminders.exists()
    b["trop_percu"].refresh_from_db()
    assert b["trop_percu"].status == TropPercuStatus.A_REMBOURSER
    b["plan"].refresh_from_db()
    assert b["plan"].status == PlanStatus.ACTIF
    b["mandate"].refresh_from_db()
    assert b["mandate"].status == MandateStatus.ACTIF
    assert Mandate.objects.filter(famille=b["famille"]).count() == 1


NAMED = ("<int:pk>", "<str:reference>")
MOUNTS = {"billing": "mon-espace/factures", "payments": "paiement"}


@pytest.mark.parametrize("namespace", ["billing", "payments"])
def test_a_citizen_reaches_only_their_own_invoices(client, namespace):
    """Every URL of « Mon compte », the documents and online payment with another family's
    (same commune) or another commune's objects: 404 (or a refusal), and nothing is paid."""
    a = world()
    neighbour = world(commune=a["commune"])
    b = world(code="AUT")
    client.force_login(a["user"], backend="parvis.accounts.backends.CommuneBackend")
    prefix, mount = a["commune"].slug, MOUNTS[namespace]
    for pattern in commune_patterns(namespace):
        if pattern.name == "notification":
            continue  # the bank's server: no family, its own test below
        own = f"/{prefix}/{mount}/{fill(pattern, a)}"
        own_status = client.get(own).status_code
        assert own_status in {200, 302, 405}, own
        # A page that takes only POST answers a GET 405 before looking at the id.
        refused = {404, 405} if own_status == 405 else {404}
        for objects in (neighbour, b):
            url = f"/{prefix}/{mount}/{fill(pattern, objects)}"
            if pattern.name == "simulateur" and objects is neighbour:
                continue  # the « bank » page: its unguessable reference is the key, as at a bank
            if any(p in str(pattern.pattern) for p in NAMED):
                assert client.get(url).status_code in refused, url
                assert client.post(url, pirate_post(objects)).status_code in {404, 405}, url
            elif "<int:regie_pk>" in str(pattern.pattern) and objects is b:
                # Another commune's régie under this commune's address: nothing to sign.
                assert client.get(url).status_code == 404, url
                assert client.post(url, pirate_post(objects)).status_code == 404, url
            else:
                # No object in the address: the forged ids in the POST must be ignored.
                client.post(url, pirate_post(objects))
        if pattern.name == "simulateur":
            continue  # B's reference at B's address is B's bank page, whoever opens it
        url = f"/{b['commune'].slug}/{mount}/{fill(pattern, b)}"
        for response in (client.get(url), client.post(url, pirate_post(b))):
            assert response.status_code in {302, 404, 405}, url
            if response.status_code == 302:
                assert response["Location"].startswith(f"/{b['commune'].slug}/"), url
    for other in (neighbour, b):
        _unchanged(other)


def test_an_agent_gets_nothing_of_another_commune(client):
    a, b = world(), world(code="AUT")
    client.force_login(a["agent"])
    for pattern in commune_patterns("guichet_regie"):
        for prefix, objects in ((b["commune"].slug, b), (a["commune"].slug, b)):
            if prefix == a["commune"].slug and "<int:pk>" not in str(pattern.pattern):
                continue  # A's own pages: not a tenancy question
            url = f"/{prefix}/guichet/regie/{fill(pattern, objects)}"
            assert client.get(url).status_code in {404, 405}, url
            assert client.post(url, pirate_post(objects)).status_code in {404, 405}, url
    _unchanged(b)


def test_a_notification_for_another_communes_transaction_changes_nothing(client):
    a, b = world(), world(code="AUT")
    url = f"/{a['commune'].slug}/paiement/notification/simulateur/"
    response = client.post(url, {"reference": b["transaction"].reference, "montant": "4510"})
    assert response.status_code in {400, 403, 404}
    _unchanged(b)
