"""Starting a payment and applying the provider's notification, through the simulator's signed
notifications: the amount is the server's (what remains due), only a verified notification with
the right amount and reference pays, once; a replay, a bad or missing signature, another
commune's reference or a wrong amount change nothing; every exchange is logged."""

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from parvis.accounts.models import AuditEntry
from parvis.billing import services as billing
from parvis.billing.models import (
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Regie,
)
from parvis.families.tests.factories import FamilleFactory
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    ProviderConfig,
    Transaction,
    TransactionStatus,
)
from parvis.payments.providers import simulateur
from parvis.payments.tests.conftest import make_invoice, make_world

pytestmark = pytest.mark.django_db


def start(world, *invoices, **kwargs):
    return services.start_payment(
        famille=kwargs.get("famille", world.famille),
        user=world.user,
        commune=world.commune,
        invoice_ids=kwargs.get("ids", [str(invoice.pk) for invoice in invoices]),
    )


def secret(world):
    return services.provider_for(world.commune, Provider.SIMULATEUR).secret


def notify(world, body, *, commune=None, query_string=""):
    return services.handle_notification(
        commune=commune or world.commune,
        provider=Provider.SIMULATEUR,
        query_string=query_string,
        body=body,
        remote_addr="192.0.2.10",
    )


def signed(world, transaction, result=simulateur.PAID, amount=None, key=None):
    return simulateur.notification(
        key or secret(world),
        reference=transaction.reference,
        amount=transaction.amount if amount is None else amount,
        result=result,
        number="SIM42",
    )


def last_exchange() -> Exchange:
    return Exchange.objects.order_by("-pk").first()


def reload(*rows):
    for row in rows:
        row.refresh_from_db()


# --- Starting ----------------------------------------------------------------------------------


def test_the_transaction_is_for_what_remains_due_computed_by_the_server(world):
    billing.record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(world.cantine, D("20.00"))],
        method=PaymentMethod.ESPECES,
        received_on=date(2026, 11, 20),
        actor=None,
    )
    transaction, redirect = start(world, world.sejour, world.cantine)
    # 73,80 + (70,55 - 20,00) = 124,35, to the cent.
    assert transaction.amount == D("124.35")
    shares = {share.invoice_id: share.amount for share in transaction.shares.all()}
    assert shares == {world.sejour.pk: D("73.80"), world.cantine.pk: D("50.55")}
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert transaction.provider == Provider.SIMULATEUR
    assert transaction.user == world.user
    assert re.fullmatch(r"PVS[A-Z2-7]{20}", transaction.reference)
    assert redirect.url == f"/villebois/paiement/simulateur/{transaction.reference}/"
    assert not redirect.is_form
    exchange = last_exchange()
    assert exchange.kind == ExchangeKind.REQUETE and exchange.transaction == transaction
    assert "124,35 €" in exchange.outcome
    assert AuditEntry.objects.filter(action="paiement_en_ligne.demande").count() == 1


def test_references_differ_from_one_transaction_to_the_next(world):
    first, _ = start(world, world.sejour)
    second, _ = start(world, world.sejour)
    assert first.reference != second.reference


def test_another_familys_cancelled_or_settled_invoices_and_garbage_ids_are_ignored(world):
    other = FamilleFactory(commune=world.commune)
    theirs = make_invoice(world.regie, other, "12.00")
    billing.cancel_invoice(invoice=world.cantine, actor=None, reason="erreur")
    transaction, _ = start(
        world, ids=[str(theirs.pk), str(world.cantine.pk), "abc", "-3", "", str(world.sejour.pk)]
    )
    assert [share.invoice_id for share in transaction.shares.all()] == [world.sejour.pk]
    assert transaction.amount == D("73.80")


@pytest.mark.parametrize("ids", [[], ["0"], ["9999999"], ["x' OR 1=1"]])
def test_nothing_due_among_the_ids_is_an_error_and_creates_nothing(world, ids):
    with pytest.raises(ValidationError, match="Aucune facture à régler"):
        start(world, ids=ids)
    assert not Transaction.objects.exists()


def test_another_familys_invoice_alone_is_nothing_due(world):
    other = FamilleFactory(commune=world.commune)
    theirs = make_invoice(world.regie, other, "12.00")
    with pytest.raises(ValidationError):
        start(world, theirs)
    assert not Transaction.objects.exists()


def test_a_settled_invoice_is_nothing_due(world):
    billing.record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(world.sejour, D("73.80"))],
        method=PaymentMethod.CHEQUE,
        received_on=date(2026, 11, 20),
        actor=None,
    )
    with pytest.raises(ValidationError):
        start(world, world.sejour)


# --- A paid notification -----------------------------------------------------------------------


def test_a_signed_paid_notification_pays_the_invoices_once(
    world, receipts, django_capture_on_commit_callbacks
):
    transaction, _ = start(world, world.sejour, world.cantine)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = notify(world, signed(world, transaction))
    assert outcome.status == 200 and outcome.handled
    reload(transaction, world.sejour, world.cantine)
    assert transaction.status == TransactionStatus.PAYEE
    assert transaction.notified_at is not None
    assert transaction.provider_reference == "SIM42"
    assert world.sejour.status == InvoiceStatus.REGLEE and world.sejour.paid == D("73.80")
    assert world.cantine.status == InvoiceStatus.REGLEE and world.cantine.paid == D("70.55")
    payment = Payment.objects.get()
    assert payment.method == PaymentMethod.CARTE
    assert payment.amount == D("144.35")
    assert payment.transaction_reference == transaction.reference
    assert payment.reference == "SIM42"
    # The receipt names the account that paid.
    user = world.user
    expected = " ".join(
        p for p in (user.get_civility_display(), user.first_name, user.last_name.upper()) if p
    )
    assert expected and payment.payer_name == expected
    assert receipts == [payment.pk]
    exchange = last_exchange()
    assert exchange.kind == ExchangeKind.NOTIFICATION
    assert exchange.verified is True
    assert exchange.outcome.startswith("payée : reçu n° ")
    assert exchange.remote_addr == "192.0.2.10"


def test_a_replayed_notification_changes_nothing(
    world, receipts, django_capture_on_commit_callbacks
):
    transaction, _ = start(world, world.sejour)
    body = signed(world, transaction)
    with django_capture_on_commit_callbacks(execute=True):
        notify(world, body)
        again = notify(world, body)
        refused_later = notify(world, signed(world, transaction, simulateur.REFUSED))
    assert again.status == 200 and refused_later.status == 200
    assert Payment.objects.count() == 1
    assert len(receipts) == 1
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.PAYEE
    outcomes = list(
        Exchange.objects.filter(kind=ExchangeKind.NOTIFICATION)
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    assert outcomes[1:] == ["rejouée : ignorée", "rejouée : ignorée"]


def test_one_payment_per_regie_when_the_invoices_are_of_two_regies(world, receipts):
    periscolaire = Regie.objects.create(commune=world.commune, name="Régie péri", code="PERI")
    garderie = make_invoice(periscolaire, world.famille, "17.25", label="Garderie")
    transaction, _ = start(world, world.sejour, garderie)
    notify(world, signed(world, transaction))
    payments = {p.regie_id: p.amount for p in Payment.objects.all()}
    assert payments == {world.regie.pk: D("73.80"), periscolaire.pk: D("17.25")}
    assert set(Payment.objects.values_list("transaction_reference", flat=True)) == {
        transaction.reference
    }


def test_an_invoice_settled_at_the_counter_meanwhile_is_capped_and_the_excess_logged(world):
    transaction, _ = start(world, world.sejour, world.cantine)
    billing.record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(world.cantine, D("70.55"))],
        method=PaymentMethod.ESPECES,
        received_on=date(2026, 11, 21),
        actor=None,
    )
    outcome = notify(world, signed(world, transaction))
    assert outcome.status == 200
    reload(transaction, world.sejour, world.cantine)
    assert transaction.status == TransactionStatus.PAYEE
    assert world.sejour.status == InvoiceStatus.REGLEE
    assert world.cantine.paid == D("70.55")  # not paid twice
    card = Payment.objects.get(method=PaymentMethod.CARTE)
    assert card.amount == D("73.80")
    assert "trop-perçu à rembourser : 70,55 €" in last_exchange().outcome


# --- Refused notifications -----------------------------------------------------------------------


def assert_nothing_changed(world, transaction):
    reload(transaction, world.sejour)
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert world.sejour.status == InvoiceStatus.A_REGLER and world.sejour.paid == 0
    assert not Payment.objects.exists()


def test_a_bad_signature_is_refused_and_logged(world):
    transaction, _ = start(world, world.sejour)
    outcome = notify(world, signed(world, transaction, key="not-the-communes-key"))
    assert outcome.status == 403
    assert_nothing_changed(world, transaction)
    exchange = last_exchange()
    assert exchange.verified is False
    assert exchange.outcome == "refusée : non signée ou signature invalide"


def test_a_tampered_amount_breaks_the_signature(world):
    transaction, _ = start(world, world.sejour)
    body = signed(world, transaction).replace("montant=7380", "montant=1")
    assert "montant=1&" in body
    assert notify(world, body).status == 403
    assert_nothing_changed(world, transaction)


def test_an_unsigned_notification_saying_paid_is_refused(world):
    transaction, _ = start(world, world.sejour)
    body = f"reference={transaction.reference}&montant=7380&resultat=paye&numero=X"
    assert notify(world, body).status == 403
    assert notify(world, "", query_string=body).status == 403
    assert_nothing_changed(world, transaction)


def test_a_signed_notification_with_another_amount_is_refused(world):
    transaction, _ = start(world, world.sejour)
    outcome = notify(world, signed(world, transaction, amount=D("73.79")))
    assert outcome.status == 400
    assert_nothing_changed(world, transaction)
    assert last_exchange().outcome == "refusée : montant 73,79 € au lieu de 73,80 €"
    # The right one still pays afterwards.
    assert notify(world, signed(world, transaction)).status == 200


def test_an_unknown_reference_is_refused(world):
    transaction, _ = start(world, world.sejour)
    body = simulateur.notification(
        secret(world), reference="PVSNOTAREFERENCE", amount=D("73.80"), result="paye"
    )
    assert notify(world, body).status == 400
    assert last_exchange().outcome == "refusée : référence inconnue"
    assert_nothing_changed(world, transaction)


def test_another_communes_transaction_cannot_be_paid_from_here(world, receipts):
    other = make_world(slug="autreville", name="Autreville")
    transaction, _ = start(other, other.sejour)
    # Signed with the key of the commune whose URL receives it, and with the right one.
    for key in (secret(world), secret(other)):
        body = simulateur.notification(
            key, reference=transaction.reference, amount=D("73.80"), result="paye"
        )
        assert notify(world, body).status in (400, 403)
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert not Payment.objects.exists()


def test_the_communes_own_simulator_key_is_used_when_configured(world):
    ProviderConfig.objects.create(
        commune=world.commune, provider=Provider.SIMULATEUR, secret="cle-de-la-commune"
    )
    transaction, _ = start(world, world.sejour)
    derived = simulateur.default_secret(world.commune)
    assert notify(world, signed(world, transaction, key=derived)).status == 403
    assert notify(world, signed(world, transaction, key="cle-de-la-commune")).status == 200


@pytest.mark.parametrize(
    "result, status",
    [(simulateur.REFUSED, TransactionStatus.REFUSEE), (simulateur.CANCELLED, "abandonnee")],
)
def test_a_refused_or_abandoned_payment_leaves_the_invoice_due(world, result, status):
    transaction, _ = start(world, world.sejour)
    assert notify(world, signed(world, transaction, result)).status == 200
    reload(transaction, world.sejour)
    assert transaction.status == status
    assert world.sejour.status == InvoiceStatus.A_REGLER
    assert not Payment.objects.exists()
    # Another refusal changes nothing; a wrong amount is still refused.
    assert notify(world, signed(world, transaction, result)).status == 200
    assert "rejouée" in last_exchange().outcome
    assert notify(world, signed(world, transaction, amount=D("1.00"))).status == 400
    assert not Payment.objects.exists()
    # The bank then says, signed and for the right amount, that the money was taken after all:
    # it is recorded, once.
    assert notify(world, signed(world, transaction)).status == 200
    assert notify(world, signed(world, transaction)).status == 200
    reload(transaction, world.sejour)
    assert transaction.status == TransactionStatus.PAYEE
    assert world.sejour.status == InvoiceStatus.REGLEE
    assert Payment.objects.get().amount == world.sejour.total


@pytest.mark.parametrize(
    "body",
    [
        "",
        "garbage",
        "reference=&montant=7380&resultat=paye",
        "reference=PVSX&montant=abc&resultat=paye&signature=00",
        "reference=PVSX&montant=7380&resultat=peut-etre&signature=00",
        "reference=PVSX&montant=-5&resultat=paye&signature=00",
        "reference=PVSX&montant=7380&resultat=paye&signature=%C3%A9%FF",
        b"\xff\xfe\x00",
    ],
)
def test_garbage_is_refused_and_logged_without_error(world, body):
    transaction, _ = start(world, world.sejour)
    outcome = notify(world, body)
    assert outcome.status in (400, 403)
    assert last_exchange().verified is False
    assert_nothing_changed(world, transaction)


def test_a_transaction_moves_only_along_its_transitions(world):
    transaction, _ = start(world, world.sejour)
    transaction.status = TransactionStatus.PAYEE
    with pytest.raises(ValidationError):
        services._move(transaction, TransactionStatus.REFUSEE)


def test_without_the_simulator_a_commune_without_provider_cannot_start_paying(world, settings):
    """Production default: the simulator « pays » without money, so it is off unless the
    deployment switches it on; a commune without a provider is told to pay at the régie."""
    from parvis.payments.models import Transaction
    from parvis.payments.services import start_payment

    settings.PARVIS_PAYMENT_SIMULATOR = False
    with pytest.raises(ValidationError) as refused:
        start_payment(
            famille=world.famille, user=world.user, commune=world.commune,
            invoice_ids=[world.sejour.pk],
        )  # fmt: skip
    assert "réglez au guichet de la régie" in refused.value.messages[0]
    assert not Transaction.objects.exists()
