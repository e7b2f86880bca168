"""payments.services pinned rule by rule (issue 24 §3, found by mutation testing): a « paid »
notification without an amount, shares capped at what is due (an invoice cancelled meanwhile,
two capped shares of one payment, a share or an excess of a cent or of 1 €), notifications
naming another commune's or another provider's transaction, the provider's request id, the
ValidationError branch, and the fields written in the audit log and the exchanges' log.

What a provider « verified » is set by replacing the simulator's check (`says`): the rules of
services are tested, not the simulator's HMAC (test_services.py does that)."""

import json
import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from parvis.accounts.models import AuditEntry
from parvis.billing import services as billing
from parvis.billing.models import InvoiceStatus, Payment, PaymentMethod
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    ProviderConfig,
    RefundMethod,
    Transaction,
    TransactionStatus,
    TropPercu,
)
from parvis.payments.providers import (
    NotificationError,
    ProviderError,
    Redirect,
    Verified,
    simulateur,
)
from parvis.payments.providers.simulateur import Simulateur
from parvis.payments.tests.conftest import make_invoice, make_world

pytestmark = pytest.mark.django_db

ADDRESS = "192.0.2.10"
NOTHING_DUE = "Aucune facture à régler parmi celles choisies."
UNREACHABLE = (
    "Le service de paiement en ligne n'a pas pu être joint. Réessayez dans quelques minutes, ou "
    "réglez au guichet de la régie."
)
NEEDS_EMAIL = (
    "Le paiement en ligne demande une adresse électronique : indiquez-la dans votre compte, ou "
    "réglez au guichet de la régie."
)


def exactly(message: str) -> str:
    """`match=` for a ValidationError saying `message` and nothing else (str() is its list)."""
    return f"^{re.escape(repr([message]))}$"


def start(world, *invoices, user="account"):
    transaction, _redirect = services.start_payment(
        famille=world.famille,
        user=world.user if user == "account" else user,
        commune=world.commune,
        invoice_ids=[str(invoice.pk) for invoice in invoices],
    )
    return transaction


def notify(world, body=None, *, transaction=None, commune=None, provider=Provider.SIMULATEUR,
           **kwargs):  # fmt: skip
    if body is None:
        body = f"reference={transaction.reference}"
    arguments = {"query_string": "", "remote_addr": ADDRESS, **kwargs}
    return services.handle_notification(
        commune=commune or world.commune, provider=provider, body=body, **arguments
    )


def paid_at_counter(world, invoice, amount: str):
    billing.record_payment(
        regie=invoice.regie, famille=world.famille, allocations=[(invoice, D(amount))],
        method=PaymentMethod.ESPECES, received_on=date(2026, 11, 21), actor=None,
    )  # fmt: skip


def last_exchange() -> Exchange:
    return Exchange.objects.order_by("-pk").first()


def reload(*rows):
    for row in rows:
        row.refresh_from_db()


@pytest.fixture
def says(monkeypatch):
    """`says(transaction, **fields)`: the simulator's check returns that Verified (signed, paid,
    the transaction's amount unless told otherwise); the providers built to check are kept."""
    built = []

    def install(transaction, **fields):
        verified = Verified(
            **{
                "reference": transaction.reference,
                "paid": True,
                "amount": transaction.amount,
                "provider_reference": "BANQUE-1",
                "signed": True,
                **fields,
            }
        )

        def check(provider, query_string, body):
            built.append(provider)
            return verified

        monkeypatch.setattr(Simulateur, "handle_notification", check)
        return built

    return install


# --- The amount a payment carries ----------------------------------------------------------------


def test_a_paid_notification_without_an_amount_settles_nothing(world, says):
    transaction = start(world, world.sejour)
    says(transaction, amount=None)
    outcome = notify(world, transaction=transaction)
    assert (outcome.status, outcome.handled) == (400, False)
    assert outcome.text == "refusée : montant absent au lieu de 73,80 €"
    reload(transaction, world.sejour)
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert world.sejour.status == InvoiceStatus.A_REGLER and world.sejour.paid == 0
    assert not Payment.objects.exists()
    assert last_exchange().outcome == outcome.text


@pytest.mark.parametrize(
    "cancelled, status, text",
    [
        (False, TransactionStatus.REFUSEE, "refusée par la banque : factures toujours dues"),
        (True, TransactionStatus.ABANDONNEE, "abandonnée : factures toujours dues"),
    ],
)
def test_a_refusal_may_carry_no_amount_but_not_another_one(world, says, cancelled, status, text):
    transaction = start(world, world.sejour)
    says(transaction, paid=False, cancelled=cancelled, amount=D("73.79"))
    outcome = notify(world, transaction=transaction)
    assert (outcome.status, outcome.text) == (400, "refusée : montant 73,79 € au lieu de 73,80 €")
    says(transaction, paid=False, cancelled=cancelled, amount=None)
    outcome = notify(world, transaction=transaction)
    assert (outcome.status, outcome.text) == (200, text)
    reload(transaction, world.sejour)
    assert transaction.status == status and transaction.notified_at is not None
    assert world.sejour.status == InvoiceStatus.A_REGLER


@pytest.mark.parametrize("detail, words", [("", "sans détail"), ("en cours", "en cours")])
def test_a_notification_saying_nothing_final_changes_nothing(world, says, detail, words):
    transaction = start(world, world.sejour)
    says(transaction, paid=None, amount=None, detail=detail)
    outcome = notify(world, transaction=transaction)
    assert (outcome.status, outcome.text) == (200, f"en attente : rien à faire ({words})")
    reload(transaction)
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert transaction.notified_at is None


# --- Shares capped at what is due ----------------------------------------------------------------


def test_a_share_of_an_invoice_cancelled_meanwhile_is_all_excess_the_other_is_paid(world, says):
    transaction = start(world, world.sejour, world.cantine)
    billing.cancel_invoice(invoice=world.cantine, actor=None, reason="erreur de facturation")
    says(transaction)
    outcome = notify(world, transaction=transaction)
    payment = Payment.objects.get()
    assert payment.amount == D("73.80")
    assert list(payment.allocations.values_list("invoice_id", "amount")) == [
        (world.sejour.pk, D("73.80"))
    ]
    reload(world.sejour, world.cantine)
    assert world.sejour.status == InvoiceStatus.REGLEE
    assert world.cantine.status == InvoiceStatus.ANNULEE and world.cantine.paid == 0
    assert TropPercu.objects.get().amount == D("70.55")
    assert outcome.text == (f"payée : reçu n° {payment.number} ; trop-perçu à rembourser : 70,55 €")


def test_two_capped_shares_of_one_payment_sum_their_excess(world, says):
    transaction = start(world, world.sejour, world.cantine)  # 73,80 + 70,55
    paid_at_counter(world, world.sejour, "0.50")
    paid_at_counter(world, world.cantine, "0.70")
    says(transaction)
    outcome = notify(world, transaction=transaction)
    card = Payment.objects.get(method=PaymentMethod.CARTE)
    assert card.amount == D("143.15")  # 73,30 + 69,85
    trop_percu = TropPercu.objects.get()
    assert trop_percu.amount == D("1.20") and trop_percu.regie == world.regie
    assert outcome.text.endswith(" ; trop-perçu à rembourser : 1,20 €")
    reload(world.sejour, world.cantine)
    assert (world.sejour.paid, world.cantine.paid) == (D("73.80"), D("70.55"))


def test_shares_of_a_cent_and_of_one_euro_are_paid(world, says):
    cent = make_invoice(world.regie, world.famille, "0.01", label="Reliquat")
    euro = make_invoice(world.regie, world.famille, "1.00", label="Goûter")
    transaction = start(world, cent, euro)
    assert transaction.amount == D("1.01")
    says(transaction)
    assert notify(world, transaction=transaction).status == 200
    assert Payment.objects.get().amount == D("1.01")
    reload(cent, euro)
    assert cent.status == euro.status == InvoiceStatus.REGLEE
    assert not TropPercu.objects.exists()


def test_a_share_left_with_one_euro_due_is_paid_that_euro(world, says):
    transaction = start(world, world.sejour)
    paid_at_counter(world, world.sejour, "72.80")
    says(transaction)
    notify(world, transaction=transaction)
    card = Payment.objects.get(method=PaymentMethod.CARTE)
    assert card.amount == D("1.00")
    assert TropPercu.objects.get().amount == D("72.80")


@pytest.mark.parametrize("over", ["0.01", "1.00"])
def test_an_overpayment_of_a_cent_or_one_euro_is_reported_for_refund(world, says, over):
    transaction = start(world, world.sejour)
    paid_at_counter(world, world.sejour, over)
    says(transaction)
    outcome = notify(world, transaction=transaction)
    trop_percu = TropPercu.objects.get()
    assert trop_percu.amount == D(over)
    shown = over.replace(".", ",")
    assert outcome.text.endswith(f" ; trop-perçu à rembourser : {shown} €")
    assert Payment.objects.get(method=PaymentMethod.CARTE).amount == D("73.80") - D(over)


def test_a_payment_fully_in_excess_says_payee_without_a_receipt(world, says):
    transaction = start(world, world.sejour)
    paid_at_counter(world, world.sejour, "73.80")
    says(transaction)
    outcome = notify(world, transaction=transaction)
    assert outcome.text == "payée ; trop-perçu à rembourser : 73,80 €"
    assert not Payment.objects.filter(method=PaymentMethod.CARTE).exists()


def test_a_payment_without_excess_says_its_receipts_only(world, says):
    transaction = start(world, world.sejour)
    says(transaction)
    outcome = notify(world, transaction=transaction)
    assert outcome.text == f"payée : reçu n° {Payment.objects.get().number}"


# --- Which transaction a notification names ------------------------------------------------------


def test_a_provider_without_transactions_here_is_refused_before_any_check(world, says):
    transaction = start(world, world.sejour)
    built = says(transaction)
    outcome = notify(world, transaction=transaction, provider=Provider.PAYBOX)
    assert (outcome.status, outcome.text) == (400, "prestataire inattendu")
    assert built == []
    exchange = last_exchange()
    assert exchange.outcome == "refusée : aucun paiement par ce prestataire"
    assert exchange.verified is False and exchange.provider == Provider.PAYBOX


def test_another_providers_transaction_is_an_unknown_reference(world, says):
    start(world, world.cantine)  # the commune has simulator payments
    paybox = Transaction.objects.create(
        commune=world.commune, famille=world.famille, reference="PVSPAYBOXTRANSACTION",
        provider=Provider.PAYBOX, amount=D("73.80"),
    )  # fmt: skip
    says(paybox)
    outcome = notify(world, transaction=paybox)
    assert (outcome.status, outcome.text) == (400, "référence inconnue")
    assert last_exchange().outcome == "refusée : référence inconnue"
    reload(paybox)
    assert paybox.status == TransactionStatus.EN_ATTENTE
    assert not Payment.objects.exists()


def test_another_communes_transaction_is_checked_with_this_communes_key(world):
    start(world, world.cantine)
    other = make_world(slug="autreville", name="Autreville")
    theirs = start(other, other.sejour)
    their_key = services.provider_for(other.commune, Provider.SIMULATEUR).secret
    our_key = services.provider_for(world.commune, Provider.SIMULATEUR).secret
    for key, status, text in ((their_key, 403, "signature invalide"),
                              (our_key, 400, "référence inconnue")):  # fmt: skip
        body = simulateur.notification(
            key, reference=theirs.reference, amount=theirs.amount, result=simulateur.PAID
        )
        outcome = notify(world, body)
        assert (outcome.status, outcome.text) == (status, text)
    reload(theirs)
    assert theirs.status == TransactionStatus.EN_ATTENTE
    assert not Payment.objects.exists()


def test_the_claimed_transactions_options_build_the_checking_provider(world, says):
    ProviderConfig.objects.create(
        commune=world.commune, provider=Provider.SIMULATEUR, options={"from": "commune"},
        secret="cle-de-la-commune",
    )  # fmt: skip
    transaction = start(world, world.sejour)
    Transaction.objects.filter(pk=transaction.pk).update(options={"from": "transaction"})
    built = says(transaction)
    notify(world, transaction=transaction)
    notify(world, "reference=PVSNOTOURS")
    assert [provider.options for provider in built] == [
        {"from": "transaction"},
        {"from": "commune"},
    ]
    assert [provider.secret for provider in built] == ["cle-de-la-commune"] * 2


def test_a_transaction_is_found_by_the_providers_request_id(world, says, monkeypatch):
    transaction = start(world, world.sejour)
    Transaction.objects.filter(pk=transaction.pk).update(
        provider_reference="IDOP-1", options={"from": "transaction"}
    )
    monkeypatch.setattr(
        Simulateur, "claimed", classmethod(lambda cls, qs, body: {"request_id": body})
    )
    built = says(transaction, reference="", request_id="IDOP-1")
    outcome = notify(world, "IDOP-1")
    assert outcome.status == 200 and outcome.transaction == transaction
    assert built[0].options == {"from": "transaction"}
    reload(transaction)
    assert transaction.status == TransactionStatus.PAYEE
    # Neither a reference nor a request id: nothing is found.
    says(transaction, reference="", request_id="")
    assert notify(world, "").text == "référence inconnue"


def test_a_request_id_other_than_the_one_given_at_start_is_refused(world, says):
    transaction = start(world, world.sejour)
    Transaction.objects.filter(pk=transaction.pk).update(provider_reference="IDOP-1")
    says(transaction, request_id="IDOP-2")
    outcome = notify(world, transaction=transaction)
    assert (outcome.status, outcome.text) == (400, "refusée : identifiant de paiement inattendu")
    reload(transaction)
    assert transaction.status == TransactionStatus.EN_ATTENTE


def test_a_request_id_is_not_compared_when_none_was_given_at_start(world, says):
    transaction = start(world, world.sejour)
    says(transaction, request_id="IDOP-2", provider_reference="")
    assert notify(world, transaction=transaction).status == 200
    reload(transaction)
    # Without a bank reference in the notification, the transaction's is kept.
    assert transaction.status == TransactionStatus.PAYEE and transaction.provider_reference == ""


def test_the_bank_reference_of_the_notification_is_kept_on_the_transaction(world, says):
    transaction = start(world, world.sejour)
    Transaction.objects.filter(pk=transaction.pk).update(provider_reference="IDOP-1")
    says(transaction, provider_reference="")
    notify(world, transaction=transaction)
    reload(transaction)
    assert transaction.provider_reference == "IDOP-1"
    assert Payment.objects.get().reference == "IDOP-1"


# --- Errors while applying ---------------------------------------------------------------------


def test_a_validation_error_while_applying_is_logged_and_rolls_everything_back(
    world, says, monkeypatch
):
    transaction = start(world, world.sejour)

    def refuse(**kwargs):
        raise ValidationError(["Régie fermée", "exercice clos"])

    monkeypatch.setattr(services.billing, "record_payment", refuse)
    says(transaction)
    outcome = notify(world, transaction=transaction)
    assert outcome.status == 400 and not outcome.handled
    assert outcome.text == "erreur : Régie fermée; exercice clos"
    assert outcome.transaction == transaction
    exchange = last_exchange()
    assert exchange.outcome == outcome.text
    assert exchange.transaction == transaction and exchange.verified is True
    reload(transaction)
    assert transaction.status == TransactionStatus.EN_ATTENTE and transaction.notified_at is None


def test_an_unreadable_notification_says_why_in_the_log(world, monkeypatch):
    start(world, world.sejour)

    def unreadable(provider, query_string, body):
        raise NotificationError("champ « montant » absent")

    monkeypatch.setattr(Simulateur, "handle_notification", unreadable)
    outcome = notify(world, "reference=PVSX")
    assert (outcome.status, outcome.text) == (400, "illisible")
    exchange = last_exchange()
    assert exchange.outcome == "refusée : illisible (champ « montant » absent)"
    assert exchange.verified is False and exchange.transaction is None


def test_a_provider_switched_off_is_unreadable(world, settings):
    start(world, world.sejour)
    settings.PARVIS_PAYMENT_SIMULATOR = False
    outcome = notify(world, "reference=PVSX")
    assert (outcome.status, outcome.text) == (400, "illisible")


# --- What is logged ------------------------------------------------------------------------------


def test_the_notifications_log_row(world, says):
    transaction = start(world, world.sejour)
    says(transaction)
    notify(world, b"reference=R\x00\xff", query_string="a=1", method="POSTPOSTPOST")
    exchange = last_exchange()
    assert exchange.kind == ExchangeKind.NOTIFICATION and exchange.provider == "simulateur"
    assert exchange.commune == world.commune and exchange.transaction == transaction
    assert exchange.method == "POSTPOST"
    assert exchange.payload == "?a=1\nreference=R\\x00\ufffd"
    assert exchange.remote_addr == ADDRESS and exchange.verified is True


def test_a_long_payload_and_outcome_are_cut_and_no_address_is_null(world, monkeypatch):
    start(world, world.sejour)

    def unreadable(provider, query_string, body):
        raise NotificationError("x" * 300)

    monkeypatch.setattr(Simulateur, "handle_notification", unreadable)
    notify(world, "y" * (services.PAYLOAD_LIMIT + 50), remote_addr="")
    exchange = last_exchange()
    # Unreadable, so unsigned: only an excerpt is kept (issue 24).
    assert exchange.payload == "y" * services.UNSIGNED_EXCERPT_BYTES + (
        "\n[… 8050 octets reçus, seuls les 4096 premiers sont gardés]"
    )
    assert exchange.outcome == ("refusée : illisible (" + "x" * 300)[:200]
    assert exchange.remote_addr is None and exchange.method == "POST"


def test_the_request_log_audit_and_provider_reference_of_payer(world, monkeypatch):
    def start_form(provider, transaction, urls):
        return Redirect(
            url="https://banque.example/payer", method="POST",
            fields=(("montant", "14435"), ("retour", urls.return_url)),
            provider_reference="R" * 130,
        )  # fmt: skip

    monkeypatch.setattr(Simulateur, "start", start_form)
    transaction = start(world, world.sejour, world.cantine)
    assert transaction.provider_reference == "R" * 120
    exchange = last_exchange()
    assert exchange.kind == ExchangeKind.REQUETE and exchange.method == "POST"
    assert exchange.outcome == "demande envoyée : 144,35 €"
    return_url = f"http://testserver/{world.commune.slug}/paiement/retour/{transaction.reference}/"
    assert json.loads(exchange.payload) == {
        "url": "https://banque.example/payer",
        "fields": {"montant": "14435", "retour": services.urls_for(
            world.commune, reference=transaction.reference, provider="simulateur"
        ).return_url},
        "amount": "144.35",
    }  # fmt: skip
    assert exchange.remote_addr is None and exchange.verified is None
    entry = AuditEntry.objects.get(action="paiement_en_ligne.demande")
    assert entry.actor == world.user and entry.famille_id == world.famille.pk
    assert entry.target_type == "transaction" and entry.target_id == str(transaction.pk)
    assert entry.changes == {
        "amount": [None, "144.35"],
        "invoices": [None, f"{world.sejour.number}, {world.cantine.number}"],
    }
    assert return_url.endswith(f"/{transaction.reference}/")


def test_the_addresses_given_to_the_provider(world, settings):
    settings.PARVIS_BASE_URL = "https://parvis.example/"
    urls = services.urls_for(world.commune, reference="PVSABC", provider="paybox")
    slug = world.commune.slug
    assert urls.return_url.startswith("https://parvis.example/")
    assert urls.return_url.endswith("/PVSABC/") and slug in urls.return_url
    assert urls.notification_url.startswith("https://parvis.example/")
    assert urls.notification_url.endswith("/paybox/") and slug in urls.notification_url
    assert urls.simulator_url == f"/{slug}/paiement/simulateur/PVSABC/"


def test_a_provider_that_cannot_start_abandons_the_transaction_and_logs_why(world, monkeypatch):
    def unreachable(provider, transaction, urls):
        raise ProviderError("délai dépassé")

    monkeypatch.setattr(Simulateur, "start", unreachable)
    with pytest.raises(ValidationError, match=exactly(UNREACHABLE)):
        start(world, world.sejour)
    transaction = Transaction.objects.get()
    assert transaction.status == TransactionStatus.ABANDONNEE
    exchange = last_exchange()
    assert exchange.kind == ExchangeKind.REQUETE and exchange.transaction == transaction
    assert exchange.outcome == "échec de la demande : délai dépassé"
    # Its invoice is free again.
    monkeypatch.undo()
    assert start(world, world.sejour).status == TransactionStatus.EN_ATTENTE


def test_a_provider_needing_an_email_refuses_an_account_without_one(world, monkeypatch):
    monkeypatch.setattr(Simulateur, "needs_email", True)
    for user in (None, world.user):
        if user is not None:
            user.email = ""
        with pytest.raises(ValidationError, match=exactly(NEEDS_EMAIL)):
            start(world, world.sejour, user=user)
    assert not Transaction.objects.exists()
    world.user.email = "francoise.durand@example.fr"
    assert start(world, world.sejour).user == world.user


def test_a_family_of_another_commune_has_nothing_to_pay_here(world, monkeypatch):
    other = make_world(slug="autreville", name="Autreville")
    # Even if the read returned its invoice, the family's commune is checked first.
    monkeypatch.setattr(services.billing_selectors, "due_invoices", lambda **kwargs: [other.sejour])
    with pytest.raises(ValidationError, match=exactly(NOTHING_DUE)):
        services.start_payment(
            famille=other.famille, user=other.user, commune=world.commune,
            invoice_ids=[other.sejour.pk],
        )  # fmt: skip
    assert not Transaction.objects.exists()


def test_an_invoice_settled_after_the_read_is_left_out_under_the_lock(world, monkeypatch):
    paid_at_counter(world, world.cantine, "69.55")  # 1,00 € still due
    paid_at_counter(world, world.sejour, "73.80")
    read = [world.cantine, world.sejour]  # as read before the counter's payment
    for invoice in read:
        invoice.refresh_from_db()
    monkeypatch.setattr(services.billing_selectors, "due_invoices", lambda **kwargs: list(read))
    transaction = start(world)
    assert transaction.amount == D("1.00")
    assert [share.invoice_id for share in transaction.shares.all()] == [world.cantine.pk]
    read.pop(0)
    with pytest.raises(ValidationError, match=exactly(NOTHING_DUE)):
        start(world)


def test_an_anonymous_start_and_payment_name_no_one(world, says):
    transaction = start(world, world.sejour, user=None)
    assert transaction.user is None
    assert AuditEntry.objects.get(action="paiement_en_ligne.demande").actor is None
    says(transaction)
    notify(world, transaction=transaction)
    assert Payment.objects.get().payer_name == ""


def test_the_payer_name_leaves_out_what_the_account_lacks(world, says):
    world.user.civility, world.user.first_name, world.user.last_name = "", "", "Durand"
    world.user.save(update_fields=["civility", "first_name", "last_name"])
    transaction = start(world, world.sejour)
    says(transaction)
    notify(world, transaction=transaction)
    assert Payment.objects.get().payer_name == "DURAND"


def test_replacing_a_pending_transaction_is_audited_with_its_status(world):
    first = start(world, world.sejour)
    second = start(world, world.sejour, user=None)
    entry = AuditEntry.objects.get(action="paiement_en_ligne.remplace")
    assert entry.actor is None and entry.commune == world.commune
    assert entry.changes == {
        "status": ["en_attente", "remplacee"],
        "replaced_by": [None, second.reference],
    }
    assert entry.target_id == str(first.pk)


def test_the_simulator_page_and_the_return_are_logged_as_such(world):
    transaction = start(world, world.sejour)
    outcome = services.simulate_notification(
        transaction=transaction, result=simulateur.PAID, remote_addr="192.0.2.99"
    )
    assert outcome.status == 200
    exchange = last_exchange()
    assert (exchange.method, exchange.remote_addr) == ("interne", "192.0.2.99")
    assert exchange.kind == ExchangeKind.NOTIFICATION
    assert exchange.payload.startswith("reference=")  # no query string
    returned = services.log_return(
        transaction=transaction, query_string="ok=1", remote_addr="192.0.2.98",
        shown=TransactionStatus.PAYEE,
    )  # fmt: skip
    assert (returned.kind, returned.method, returned.payload) == (
        ExchangeKind.RETOUR,
        "GET",
        "ok=1",
    )
    assert returned.outcome == "affiché : Payée" and returned.remote_addr == "192.0.2.98"
    assert returned.transaction == transaction and returned.provider == "simulateur"


# --- Providers ---------------------------------------------------------------------------------


def test_the_communes_settings_apply_only_to_the_provider_they_are_for(world, settings):
    ProviderConfig.objects.create(
        commune=world.commune, provider=Provider.PAYBOX, options={"site": "1999888"},
        secret="cle-paybox",
    )  # fmt: skip
    simulator = services.provider_for(world.commune, Provider.SIMULATEUR)
    assert simulator.options == {}
    assert simulator.secret == simulateur.default_secret(world.commune)
    assert services.provider_for(world.commune).name == Provider.PAYBOX
    with pytest.raises(LookupError):
        services.provider_for(world.commune, "inconnu")
    settings.PARVIS_PAYMENT_SIMULATOR = False
    with pytest.raises(LookupError):
        services.provider_for(world.commune, Provider.SIMULATEUR)


def test_a_transaction_in_flight_keeps_its_options_and_loses_a_key_no_longer_its(world):
    config = ProviderConfig.objects.create(
        commune=world.commune, provider=Provider.SIMULATEUR, options={"v": 1}, secret="cle-1"
    )
    transaction = start(world, world.sejour)
    assert transaction.options == {"v": 1}
    config.options = {"v": 2}
    config.save()
    built = services.provider_for_transaction(transaction)
    assert (built.options, built.secret) == ({"v": 1}, "cle-1")
    config.provider, config.options = Provider.PAYBOX, {"site": "1999888"}
    config.save()
    built = services.provider_for_transaction(transaction)
    assert built.secret == simulateur.default_secret(world.commune)


# --- Trop-perçus ---------------------------------------------------------------------------------


def test_a_trop_percu_and_its_refund_are_audited_field_by_field(world, says):
    from django.utils import timezone

    from parvis.families.tests.factories import AgentFactory

    transaction = start(world, world.sejour)
    paid_at_counter(world, world.sejour, "73.80")
    says(transaction)
    notify(world, transaction=transaction)
    trop_percu = TropPercu.objects.get()
    noticed = AuditEntry.objects.get(action="trop_percu.constate")
    assert noticed.actor is None and noticed.commune == world.commune
    assert noticed.changes == {
        "amount": [None, "73.80"],
        "transaction": [None, transaction.reference],
        "regie": [None, "Régie enfance"],
    }
    agent = AgentFactory(commune=world.commune)
    today = timezone.localdate()
    services.refund_trop_percu(
        trop_percu=trop_percu, actor=agent, method=RefundMethod.CHEQUE, refunded_on=today,
        reference="N" * 130,
    )  # fmt: skip
    trop_percu.refresh_from_db()
    assert trop_percu.refund_reference == "N" * 120
    entry = AuditEntry.objects.get(action="trop_percu.rembourse")
    assert entry.commune == world.commune and entry.target_id == str(trop_percu.pk)
    assert entry.changes == {
        "status": ["a_rembourser", "rembourse"],
        "amount": [None, "73.80"],
        "refund_method": [None, "cheque"],
        "refunded_on": [None, today.isoformat()],
        "refund_reference": [None, "N" * 120],
    }


def test_a_trop_percu_moves_only_along_its_transitions(world, says):
    transaction = start(world, world.sejour)
    paid_at_counter(world, world.sejour, "73.80")
    says(transaction)
    notify(world, transaction=transaction)
    trop_percu = TropPercu.objects.get()
    trop_percu.status = "rembourse"
    with pytest.raises(
        ValidationError,
        match=exactly("Un trop-perçu « Remboursé » ne peut pas passer à « Remboursé »."),
    ):
        services._move_trop_percu(trop_percu, "rembourse", actor=None)


def test_a_paid_transaction_cannot_be_refused_the_message_says_both_states(world):
    transaction = start(world, world.sejour)
    transaction.status = TransactionStatus.PAYEE
    with pytest.raises(
        ValidationError,
        match=exactly("Une transaction « Payée » ne peut pas passer à « Refusée »."),
    ):
        services._move(transaction, TransactionStatus.REFUSEE)


def test_a_refund_recorded_by_an_unsaved_account_names_no_one(world, says):
    from django.utils import timezone

    from parvis.accounts.models import User

    transaction = start(world, world.sejour)
    paid_at_counter(world, world.sejour, "73.80")
    says(transaction)
    notify(world, transaction=transaction)
    refunded = services.refund_trop_percu(
        trop_percu=TropPercu.objects.get(), actor=User(username="import"),
        method=RefundMethod.ESPECES, refunded_on=timezone.localdate(),
    )  # fmt: skip
    refunded.refresh_from_db()
    assert refunded.refunded_by is None
    assert list(refunded.history.values_list("actor", flat=True)) == [None, None]


def test_an_unsigned_notifications_excerpt_starts_with_its_query_string(world):
    start(world, world.sejour)
    notify(world, b"reference=PVSX&signature=00", query_string="a=1")
    exchange = last_exchange()
    assert exchange.verified is False
    assert exchange.payload == "?a=1\nreference=PVSX&signature=00"


def test_a_payment_across_two_regies_names_both_receipts(world, says):
    from parvis.billing.models import Regie

    periscolaire = Regie.objects.create(commune=world.commune, name="Régie péri", code="PERI")
    garderie = make_invoice(periscolaire, world.famille, "17.25", label="Garderie")
    transaction = start(world, world.sejour, garderie)
    says(transaction)
    outcome = notify(world, transaction=transaction)
    numbers = ", ".join(str(p.number) for p in Payment.objects.order_by("regie_id"))
    assert outcome.text == f"payée : reçu n° {numbers}"


def test_a_finished_transaction_frees_its_own_invoices_only(world, says):
    from parvis.payments.models import TransactionInvoice

    refused = start(world, world.sejour)
    other = start(world, world.cantine)
    says(refused, paid=False, amount=None)
    notify(world, transaction=refused)
    pending = dict(TransactionInvoice.objects.values_list("transaction_id", "pending"))
    assert pending == {refused.pk: False, other.pk: True}


@pytest.mark.parametrize("verified_reference", ["PVS\x00", ""])
def test_a_nul_byte_in_a_notified_reference_is_refused_not_a_server_error(
    world, says, verified_reference
):
    # PostgreSQL refuses a NUL in a query: without care, a 500 for anyone posting « %00 ».
    transaction = start(world, world.sejour)
    says(transaction, reference=verified_reference, request_id="ID\x00")
    outcome = notify(world, "reference=PVS%00X")
    assert (outcome.status, outcome.text) == (400, "référence inconnue")
    reload(transaction)
    assert transaction.status == TransactionStatus.EN_ATTENTE


def test_the_claim_is_read_from_the_query_string_and_a_long_request_id_as_stored(
    world, says, monkeypatch
):
    transaction = start(world, world.sejour)
    # A provider's 130-character id is stored cut at 120 (start_payment).
    Transaction.objects.filter(pk=transaction.pk).update(options={"from": "transaction"})
    built = says(transaction)
    notify(world, "", query_string=f"reference={transaction.reference}")
    assert built[-1].options == {"from": "transaction"}
    Transaction.objects.filter(pk=transaction.pk).update(provider_reference="I" * 120)
    monkeypatch.setattr(
        Simulateur, "claimed", classmethod(lambda cls, qs, body: {"request_id": "I" * 130})
    )
    notify(world, "")
    assert built[-1].options == {"from": "transaction"}
