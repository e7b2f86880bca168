"""The pages of online payment: « Payer » (amounts from the server only, another family's
invoices ignored), the simulator's bank page and its four buttons, the browser's return (shows,
never changes; another family's is a 404) and the notification URL (200 « OK », 400, 403,
never a server error whatever it receives)."""

import re
from decimal import Decimal as D
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parvis.accounts.models import Attempt
from parvis.billing.models import InvoiceStatus, Payment
from parvis.families.tests.factories import FamilleFactory, FamilyAccessFactory
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    Transaction,
    TransactionStatus,
)
from parvis.payments.providers import simulateur
from parvis.payments.tests.conftest import BACKEND, make_invoice, make_world, text_of, url

pytestmark = pytest.mark.django_db


def mon_compte(world):
    return reverse("billing:mon_compte", kwargs={"commune": world.commune.slug})


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


def pay(client, world, *invoices, **extra):
    return client.post(
        url(world, "payer"), {"factures": [invoice.pk for invoice in invoices], **extra}
    )


def started(world, *invoices) -> Transaction:
    transaction, _ = services.start_payment(
        famille=world.famille,
        user=world.user,
        commune=world.commune,
        invoice_ids=[invoice.pk for invoice in invoices],
    )
    return transaction


def simulator_post(client, world, transaction, action, **card):
    data = {"numero": "4970 1000 0000 0003", "expiration": "12/30", "cryptogramme": "123"}
    data.update(card)
    data["action"] = action
    return client.post(url(world, "simulateur", reference=transaction.reference), data)


# --- « Payer » -----------------------------------------------------------------------------------


def test_payer_starts_a_transaction_and_goes_to_the_simulator(logged, world):
    response = pay(logged, world, world.sejour, world.cantine)
    transaction = Transaction.objects.get()
    assert response.status_code == 302
    assert response.url == url(world, "simulateur", reference=transaction.reference)
    assert transaction.amount == D("144.35")
    assert transaction.famille == world.famille


def test_an_amount_sent_by_the_browser_is_ignored(logged, world):
    pay(logged, world, world.sejour, montant="0.01", amount="0.01", total="1")
    assert Transaction.objects.get().amount == D("73.80")


def test_another_familys_invoices_are_ignored_so_nothing_is_due(logged, world):
    other = FamilleFactory(commune=world.commune)
    theirs = make_invoice(world.regie, other, "12.00")
    response = pay(logged, world, theirs)
    assert response.status_code == 302 and response.url == mon_compte(world)
    assert messages_of(response) == ["Aucune facture à régler parmi celles choisies."]
    assert not Transaction.objects.exists()


def test_another_communes_invoices_are_ignored(logged, world):
    other = make_world(slug="autreville", name="Autreville")
    response = pay(logged, world, other.sejour)
    assert response.url == mon_compte(world)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("factures", [[], ["abc"], ["-1"], ["99999999999999999999"], [""]])
def test_garbage_is_a_message_not_an_error(logged, world, factures):
    response = logged.post(url(world, "payer"), {"factures": factures})
    assert response.status_code == 302 and response.url == mon_compte(world)
    assert messages_of(response)
    assert not Transaction.objects.exists()


def test_a_huge_id_beside_a_real_one_is_ignored(logged, world):
    response = logged.post(
        url(world, "payer"), {"factures": [world.sejour.pk, "99999999999999999999"]}
    )
    assert response.status_code == 302
    assert Transaction.objects.get().amount == D("73.80")


NOT_IDS = ["²", "٣", "１２", "⁵", "-1", "", " ", "1e3", "0x1", "1_0", "+1", "0", "\x00", "[1]"]


@pytest.mark.parametrize("value", [*NOT_IDS, "99999999999999999999"])
def test_a_value_that_is_not_an_ascii_number_is_a_french_message(logged, world, value):
    """« ² » and other scripts' digits pass `str.isdigit` but not `int` (or become another
    number): each is ignored, and alone it is the French message, not a 500."""
    response = logged.post(url(world, "payer"), {"factures": [value]})
    assert response.status_code == 302 and response.url == mon_compte(world)
    assert messages_of(response) == ["Aucune facture à régler parmi celles choisies."]
    assert not Transaction.objects.exists()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.one_of(
            st.sampled_from(NOT_IDS),
            st.integers(max_value=0).map(str),
            st.integers(min_value=10**11).map(str),
            st.text(max_size=20).filter(lambda t: not re.fullmatch(r"\s*[0-9]+\s*", t)),
        ),
        max_size=5,
    )
)
def test_no_server_error_on_any_factures_value(logged, world, values):
    response = logged.post(url(world, "payer"), {"factures": values})
    assert response.status_code == 302 and response.url == mon_compte(world)
    # The messages of earlier examples wait in the session (no page shows them): one kind.
    assert set(messages_of(response)) == {"Aucune facture à régler parmi celles choisies."}
    assert not Transaction.objects.exists()


def test_an_other_script_digit_beside_a_real_id_pays_only_the_real_one(logged, world):
    response = logged.post(url(world, "payer"), {"factures": [world.sejour.pk, "²", "٣"]})
    assert response.status_code == 302
    assert Transaction.objects.get().amount == D("73.80")


def test_invoices_of_two_households_of_the_account_are_paid_separately(logged, world):
    second = FamilleFactory(commune=world.commune, name="MARTIN")
    FamilyAccessFactory(famille=second, user=world.user)
    theirs = make_invoice(world.regie, second, "12.00")
    response = pay(logged, world, world.sejour, theirs)
    assert messages_of(response) == ["Réglez les factures d'un seul dossier famille à la fois."]
    assert not Transaction.objects.exists()
    pay(logged, world, theirs)
    assert Transaction.objects.get().famille == second


def test_payer_by_get_goes_back_to_mon_compte(logged, world):
    response = logged.get(url(world, "payer"))
    assert response.status_code == 302 and response.url == mon_compte(world)


def test_payer_asks_an_anonymous_visitor_to_log_in(client, world):
    response = pay(client, world, world.sejour)
    assert response.status_code == 302 and "/connexion/" in response.url
    assert not Transaction.objects.exists()


# --- The simulator -------------------------------------------------------------------------------


def test_the_simulator_page_looks_like_a_banks(client, world):
    transaction = started(world, world.sejour)
    response = client.get(url(world, "simulateur", reference=transaction.reference))
    assert response.status_code == 200
    text = text_of(response)
    assert "Module de paiement sécurisé — simulateur" in text
    assert "Régie enfance — Villebois" in text
    assert "73,80 €" in text
    assert transaction.reference in text
    for words in ("Numéro de carte", "Date d'expiration", "Cryptogramme visuel"):
        assert words in text
    for button in ("Payer", "Refuser le paiement", "Abandonner", "Payer (notification différée)"):
        assert f">{button}</button>" in response.content.decode()
    assert 'autocomplete="cc-number"' in response.content.decode()


def test_the_simulator_pays_through_the_notification_and_returns(
    logged, world, receipts, django_capture_on_commit_callbacks
):
    transaction = started(world, world.sejour)
    with django_capture_on_commit_callbacks(execute=True):
        response = simulator_post(logged, world, transaction, "payer")
    assert response.status_code == 302
    assert response.url == url(world, "retour", reference=transaction.reference)
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.PAYEE
    notification = Exchange.objects.get(kind=ExchangeKind.NOTIFICATION)
    assert notification.verified is True and notification.method == "interne"
    assert len(receipts) == 1
    # The page is gone once the transaction is over.
    page = logged.get(url(world, "simulateur", reference=transaction.reference))
    assert page.status_code == 404
    returned = logged.get(response.url)
    text = text_of(returned)
    assert "Paiement accepté : votre facture est réglée" in text
    assert "Facture réglée : 73,80 €" in text


def test_a_malformed_card_is_an_error_next_to_the_field_and_pays_nothing(client, world):
    transaction = started(world, world.sejour)
    response = simulator_post(client, world, transaction, "payer", numero="1234", cryptogramme="x")
    assert response.status_code == 200
    text = text_of(response)
    assert "Saisissez de 12 à 19 chiffres." in text
    assert "Saisissez les 3 chiffres du cryptogramme." in text
    assert 'value="1234"' in response.content.decode()
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE


@pytest.mark.parametrize(
    "action, status, words",
    [
        ("refuser", TransactionStatus.REFUSEE, "Paiement refusé : votre facture reste à régler"),
        (
            "abandonner",
            TransactionStatus.ABANDONNEE,
            "Paiement abandonné : votre facture reste à régler",
        ),
    ],
)
def test_refusing_or_abandoning_leaves_the_invoice_due(logged, world, action, status, words):
    transaction = started(world, world.sejour)
    # A refusal needs no card.
    response = simulator_post(logged, world, transaction, action, numero="")
    transaction.refresh_from_db()
    world.sejour.refresh_from_db()
    assert transaction.status == status
    assert world.sejour.status == InvoiceStatus.A_REGLER
    text = text_of(logged.get(response.url))
    assert words in text
    assert "À régler : 73,80 €" in text


def test_a_deferred_notification_shows_confirmation_pending_then_paid(logged, client, world):
    transaction = started(world, world.sejour)
    response = simulator_post(logged, world, transaction, "differer")
    assert response.url == url(world, "retour", reference=transaction.reference)
    page = logged.get(response.url)
    text = text_of(page)
    assert "Paiement en cours de confirmation" in text
    assert "Actualiser" in text
    assert 'http-equiv="refresh"' not in page.content.decode()
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE
    # The notification arrives later, by the notification URL (as curl would post it).
    body = simulateur.notification(
        simulateur.default_secret(world.commune),
        reference=transaction.reference,
        amount=transaction.amount,
        result=simulateur.PAID,
    )
    answer = client.post(
        url(world, "notification", provider="simulateur"),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert (answer.status_code, answer.content) == (200, b"OK")
    assert "Facture réglée : 73,80 €" in text_of(logged.get(response.url))


@pytest.mark.parametrize("action", ["", "payer-deux-fois", "<script>"])
def test_an_unknown_button_changes_nothing(client, world, action):
    transaction = started(world, world.sejour)
    response = simulator_post(client, world, transaction, action)
    assert response.status_code == 302
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert not Exchange.objects.filter(kind=ExchangeKind.NOTIFICATION).exists()


def test_the_simulator_serves_only_this_communes_pending_simulator_transactions(client, world):
    other = make_world(slug="autreville", name="Autreville")
    theirs = started(other, other.sejour)
    assert client.get(url(world, "simulateur", reference=theirs.reference)).status_code == 404
    assert client.get(url(world, "simulateur", reference="PVSINCONNUE")).status_code == 404
    assert client.get(url(world, "simulateur", reference="x" * 300)).status_code == 404
    post = simulator_post(client, world, theirs, "payer")
    assert post.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == TransactionStatus.EN_ATTENTE


# --- The browser's return ------------------------------------------------------------------------


def test_the_return_shows_and_logs_but_never_changes_anything(logged, world):
    transaction = started(world, world.sejour)
    # Paybox-like parameters claiming success do not pay.
    response = logged.get(
        url(world, "retour", reference=transaction.reference) + "?erreur=00000&montant=7380"
    )
    assert response.status_code == 200
    assert "Paiement en cours de confirmation" in text_of(response)
    transaction.refresh_from_db()
    world.sejour.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert world.sejour.status == InvoiceStatus.A_REGLER
    assert not Payment.objects.exists()
    exchange = Exchange.objects.get(kind=ExchangeKind.RETOUR)
    assert exchange.payload == "erreur=00000&montant=7380"
    assert exchange.outcome == "affiché : En attente de la banque"


def test_another_familys_return_page_is_a_404(client, world):
    transaction = started(world, world.sejour)
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=world.commune))
    client.force_login(stranger.user, backend=BACKEND)
    response = client.get(url(world, "retour", reference=transaction.reference))
    assert response.status_code == 404
    assert not Exchange.objects.filter(kind=ExchangeKind.RETOUR).exists()


def test_the_return_page_of_another_commune_is_not_reached(client, world):
    other = make_world(slug="autreville", name="Autreville")
    theirs = started(other, other.sejour)
    client.force_login(world.user, backend=BACKEND)
    assert client.get(url(world, "retour", reference=theirs.reference)).status_code == 404
    # Their own account, at our address: asked to log in here.
    client.force_login(other.user, backend=BACKEND)
    response = client.get(url(world, "retour", reference=theirs.reference))
    assert response.status_code == 302 and "/connexion/" in response.url


def test_the_return_page_for_several_invoices_paid(logged, world):
    transaction = started(world, world.sejour, world.cantine)
    services.simulate_notification(
        transaction=transaction, result=simulateur.PAID, remote_addr=None
    )
    text = text_of(logged.get(url(world, "retour", reference=transaction.reference)))
    assert "Paiement accepté : vos factures sont réglées" in text
    assert "Facture réglée : 73,80 €" in text and "Facture réglée : 70,55 €" in text
    assert "144,35 €" in text


def test_the_return_page_reads_in_a_constant_number_of_queries(
    logged, world, django_assert_max_num_queries
):
    one = started(world, world.sejour)
    several = started(
        world, world.cantine, *(make_invoice(world.regie, world.famille, "4.15") for _ in range(6))
    )
    for transaction in (one, several):
        services.simulate_notification(
            transaction=transaction, result=simulateur.PAID, remote_addr=None
        )
        with django_assert_max_num_queries(6):
            response = logged.get(url(world, "retour", reference=transaction.reference))
        assert response.status_code == 200


# --- The notification URL ------------------------------------------------------------------------


def test_the_notification_url_answers_ok_403_and_400(client, world):
    transaction = started(world, world.sejour)
    address = url(world, "notification", provider="simulateur")
    good = simulateur.notification(
        simulateur.default_secret(world.commune),
        reference=transaction.reference,
        amount=transaction.amount,
        result=simulateur.PAID,
    )
    unsigned = f"reference={transaction.reference}&montant=7380&resultat=paye"
    form = "application/x-www-form-urlencoded"
    assert client.post(address, unsigned, content_type=form).status_code == 403
    assert client.post(address, "n'importe quoi", content_type=form).status_code == 400
    assert client.get(address + "?" + good).status_code == 200  # GET, as some providers send
    assert client.post(address, good, content_type=form).content == b"OK"  # replay
    assert Payment.objects.count() == 1
    assert client.put(address, good, content_type=form).status_code == 405
    unknown = url(world, "notification", provider="inconnu")
    assert client.post(unknown, good, content_type=form).status_code == 404
    assert Exchange.objects.filter(kind=ExchangeKind.NOTIFICATION).count() == 4


def test_the_notification_url_needs_no_csrf_token(world):
    from django.test import Client

    transaction = started(world, world.sejour)
    body = simulateur.notification(
        simulateur.default_secret(world.commune),
        reference=transaction.reference,
        amount=transaction.amount,
        result=simulateur.PAID,
    )
    provider_server = Client(enforce_csrf_checks=True)
    response = provider_server.post(
        url(world, "notification", provider="simulateur"),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    provider=st.sampled_from(Provider.values),
    query=st.dictionaries(
        st.sampled_from(
            ["reference", "montant", "resultat", "signature", "erreur", "idOp", "numero", "x"]
        ),
        st.text(max_size=40),
        max_size=6,
    ),
    raw=st.binary(max_size=200),
)
def test_no_server_error_on_random_notifications(client, world, provider, query, raw):
    # Hypothesis's examples share the database: each starts below the unsigned notifications'
    # limit (test_notification_limits.py), so that the parsing is reached every time.
    Attempt.objects.filter(kind=Attempt.Kind.NOTIFICATION).delete()
    # One pending transaction per provider, so that each one's parsing is reached.
    for name in Provider.values:
        Transaction.objects.get_or_create(
            commune=world.commune,
            provider=name,
            defaults={"famille": world.famille, "reference": f"PVS{name.upper()}", "amount": 1},
        )
    address = url(world, "notification", provider=provider)
    for response in (
        client.get(address + "?" + urlencode(query)),
        client.post(address, raw, content_type="application/x-www-form-urlencoded"),
        client.post(address, urlencode(query), content_type="application/x-www-form-urlencoded"),
    ):
        assert response.status_code in (200, 400, 403)
    assert set(Transaction.objects.values_list("status", flat=True)) == {"en_attente"}
    assert not Payment.objects.exists()


def test_the_simulator_page_is_gone_when_the_simulator_is_off(logged, world, settings):
    transaction = Transaction.objects.create(
        commune=world.commune, famille=world.famille, user=world.user, reference="PVSOFF",
        provider="simulateur", amount=world.sejour.total,
    )  # fmt: skip
    page = url(world, "simulateur", reference=transaction.reference)
    assert logged.get(page).status_code == 200
    settings.PARVIS_PAYMENT_SIMULATOR = False
    assert logged.get(page).status_code == 404
    assert logged.post(page, {"action": "payer"}).status_code == 404
    transaction.refresh_from_db()
    assert transaction.status == "en_attente"
