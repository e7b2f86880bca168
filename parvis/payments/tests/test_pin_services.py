"""Payment notifications and « Payer » (payments/services.py): behaviours the mutation run of
6 December (on commit e48951d) found unpinned (issue 24 §3): a verified or claimed reference
longer than the stored one is matched on its first 40 characters, as stored; a throttled
notification says why; a notification without a body is logged with its query string only; a
provider with payments in another commune only is refused here; a notification naming no
payment is checked by the provider of its address, and a signed one naming an unknown payment
is logged as verified; an invoice cancelled while « Payer » starts is left out of the payment;
a payment the bank could not start keeps the one that replaced it meanwhile, and so does one it
started; the request to the bank is logged as written; « Payer » says why it cannot start, and
the replacement of a pending payment is audited under the family's account."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from parvis.accounts.models import AuditEntry
from parvis.billing import services as billing
from parvis.billing.models import InvoiceStatus
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    ProviderConfig,
    Transaction,
    TransactionStatus,
)
from parvis.payments.providers import NotificationError, ProviderError, Redirect
from parvis.payments.providers.paybox import Paybox
from parvis.payments.providers.simulateur import Simulateur
from parvis.payments.tests.conftest import make_world
from parvis.payments.tests.test_pinned_services import (  # noqa: F401 (fixture)
    NOTHING_DUE,
    exactly,
    notify,
    paid_at_counter,
    reload,
    says,
    start,
)

pytestmark = pytest.mark.django_db


def test_a_verified_reference_longer_than_stored_is_matched_on_its_40_characters(world, says):  # noqa: F811
    transaction = start(world, world.sejour)
    stored = "PVS-" + "7" * 36  # the column's 40 characters
    Transaction.objects.filter(pk=transaction.pk).update(reference=stored)
    reload(transaction)
    says(transaction, reference=stored + "-RETOUR")
    outcome = notify(world, f"reference={stored}")
    assert outcome.status == 200
    reload(transaction, world.sejour)
    assert transaction.status == TransactionStatus.PAYEE
    assert world.sejour.status == InvoiceStatus.REGLEE


def test_a_throttled_notification_says_why(client, world):
    from parvis.payments.tests.test_notification_limits import LIMIT, forged

    for _ in range(LIMIT):
        forged(client, world, REMOTE_ADDR="203.0.113.9")
    refused = forged(client, world, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert refused.content.decode() == "trop de notifications non signées"


def test_a_claimed_reference_longer_than_stored_names_the_transaction_on_its_40_characters(
    world,
    says,  # noqa: F811
):
    # The claim (read before any check) picks the provider built with the transaction's options.
    transaction = start(world, world.sejour)
    stored = "PVS-" + "7" * 36  # the column's 40 characters
    Transaction.objects.filter(pk=transaction.pk).update(
        reference=stored, options={"from": "transaction"}
    )
    reload(transaction)
    built = says(transaction, reference=stored)
    outcome = notify(world, f"reference={stored}-RETOUR")
    assert outcome.status == 200
    assert [provider.options for provider in built] == [{"from": "transaction"}]


@pytest.mark.parametrize("signed", [True, False])
def test_a_notification_without_a_body_is_logged_with_its_query_string_only(
    world,
    says,  # noqa: F811
    signed,
):
    # A notification sent by GET: its request's body is empty bytes.
    transaction = start(world, world.sejour)
    says(transaction, signed=signed)
    query_string = f"reference={transaction.reference}"
    outcome = notify(world, b"", query_string=query_string)
    assert outcome.status == (200 if signed else 403)
    logged = Exchange.objects.get(kind=ExchangeKind.NOTIFICATION)
    assert logged.payload == f"?{query_string}\n"


def test_a_provider_with_payments_in_another_commune_only_is_refused_here(world, says):  # noqa: F811
    other = make_world(slug="autreville", name="Autreville")
    theirs = start(other, other.sejour)
    built = says(theirs)
    outcome = notify(world, transaction=theirs)
    assert (outcome.status, outcome.text) == (400, "prestataire inattendu")
    assert built == []  # refused before any check


def test_a_notification_naming_no_payment_is_checked_by_the_provider_of_its_address(
    world, monkeypatch
):
    # The commune now pays through the simulator; a payment of its Paybox days is in flight.
    ProviderConfig.objects.create(commune=world.commune, provider=Provider.SIMULATEUR)
    transaction = start(world, world.sejour)
    Transaction.objects.filter(pk=transaction.pk).update(provider=Provider.PAYBOX)
    built = []

    def check(provider, query_string, body):
        built.append(type(provider))
        raise NotificationError("illisible")

    monkeypatch.setattr(Paybox, "handle_notification", check)
    monkeypatch.setattr(Simulateur, "handle_notification", check)
    outcome = notify(world, "reference=PVSNOTOURS", provider=Provider.PAYBOX)
    assert (outcome.status, outcome.text) == (400, "illisible")
    assert built == [Paybox]


def test_a_signed_notification_naming_an_unknown_payment_is_logged_as_verified(world, says):  # noqa: F811
    transaction = start(world, world.sejour)
    says(transaction, reference="PVSNOTOURS")
    outcome = notify(world, "reference=PVSNOTOURS")
    assert (outcome.status, outcome.text) == (400, "référence inconnue")
    logged = Exchange.objects.get(kind=ExchangeKind.NOTIFICATION)
    assert (logged.verified, logged.outcome) == (True, "refusée : référence inconnue")
    assert (logged.transaction, logged.payload) == (None, "reference=PVSNOTOURS")


def test_an_invoice_cancelled_while_payer_starts_is_left_out_of_the_payment(world, monkeypatch):
    # « Payer » reads the invoices due, then locks them and reads them again: an agent cancels
    # the séjour's in between.
    read_due = services.selectors_sepa.debit_dates

    def meanwhile(invoices):
        billing.cancel_invoice(invoice=world.sejour, actor=None, reason="Séjour annulé")
        return read_due(invoices)

    monkeypatch.setattr(services.selectors_sepa, "debit_dates", meanwhile)
    transaction = start(world, world.sejour, world.cantine)
    assert transaction.amount == D("70.55")
    assert [share.invoice for share in transaction.shares.all()] == [world.cantine]


def test_a_payment_the_bank_could_not_start_keeps_the_one_that_replaced_it(world, monkeypatch):
    # Two « Payer » at once while the bank is down: the second replaces the first before the
    # first's request fails. The failure records the first's status only.
    original = Simulateur.start
    second = []

    def down(provider, transaction, urls):
        if second:
            return original(provider, transaction, urls)
        second.append(None)
        second[0] = start(world, world.sejour)
        raise ProviderError("délai dépassé")

    monkeypatch.setattr(Simulateur, "start", down)
    with pytest.raises(ValidationError):
        start(world, world.sejour)
    first = Transaction.objects.exclude(pk=second[0].pk).get()
    assert first.status == TransactionStatus.ABANDONNEE
    assert first.replaced_by == second[0]
    failed = Exchange.objects.get(kind=ExchangeKind.REQUETE, transaction=first)
    assert (failed.method, failed.payload, failed.outcome) == (
        "",
        "",
        "échec de la demande : délai dépassé",
    )


def test_the_banks_request_id_is_kept_without_undoing_a_replacement_meanwhile(world, monkeypatch):
    # Two « Payer » at once: the second replaces the first while the bank answers the first.
    original = Simulateur.start
    second = []

    def slow(provider, transaction, urls):
        if second:
            return original(provider, transaction, urls)
        second.append(None)
        second[0] = start(world, world.sejour)
        return Redirect(url=urls.simulator_url, provider_reference="IDOP-1")

    monkeypatch.setattr(Simulateur, "start", slow)
    first = start(world, world.sejour)
    reload(first)
    assert first.provider_reference == "IDOP-1"
    assert (first.status, first.replaced_by) == (TransactionStatus.REMPLACEE, second[0])


def test_the_request_to_the_bank_is_logged_as_written(world, monkeypatch):
    def form(provider, transaction, urls):
        return Redirect(url="https://banque.example/payer", method="POST",
                        fields=(("libellé", "Séjour à Évian"),))  # fmt: skip

    monkeypatch.setattr(Simulateur, "start", form)
    transaction = start(world, world.sejour)
    logged = Exchange.objects.get(kind=ExchangeKind.REQUETE, transaction=transaction)
    assert logged.payload == (
        '{"url": "https://banque.example/payer", "fields": {"libellé": "Séjour à Évian"}, '
        '"amount": "73.80"}'
    )


def test_payer_with_nothing_due_among_the_invoices_chosen_says_so(world):
    paid_at_counter(world, world.sejour, "73.80")
    with pytest.raises(ValidationError, match=exactly(NOTHING_DUE)):
        start(world, world.sejour)


def test_payer_where_online_payment_is_not_open_says_to_pay_at_the_counter(world, settings):
    settings.PARVIS_PAYMENT_SIMULATOR = False  # and no provider configured
    closed = (
        "Le paiement en ligne n'est pas ouvert dans cette commune : réglez au guichet de la régie."
    )
    with pytest.raises(ValidationError, match=exactly(closed)):
        start(world, world.sejour)
    assert not Transaction.objects.exists()


def test_the_replacement_of_a_pending_payment_is_audited_under_the_familys_account(world):
    first = start(world, world.sejour)
    second = start(world, world.sejour)
    entry = AuditEntry.objects.get(action="paiement_en_ligne.remplace")
    assert (entry.actor, entry.target_id) == (world.user, str(first.pk))
    assert entry.changes["replaced_by"] == [None, second.reference]


def test_a_notification_for_a_provider_switched_off_is_logged_naming_it(world, settings):
    transaction = start(world, world.sejour)
    settings.PARVIS_PAYMENT_SIMULATOR = False
    outcome = notify(world, transaction=transaction)
    assert (outcome.status, outcome.text) == (400, "illisible")
    logged = Exchange.objects.get(kind=ExchangeKind.NOTIFICATION)
    assert logged.outcome == "refusée : illisible (simulateur)"


def test_payer_without_an_account_and_its_audit_name_the_commune_and_no_one(world):
    transaction = start(world, world.sejour, user=None)
    assert transaction.user is None
    entry = AuditEntry.objects.get(action="paiement_en_ligne.demande")
    assert (entry.commune, entry.actor) == (world.commune, None)
