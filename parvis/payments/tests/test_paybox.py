"""Paybox through eopayment, offline: the request form carries the PBX fields signed with the
commune's HMAC key (recomputed here), and Paybox's notifications are checked with Paybox's
RSA signature. eopayment hard-codes Paybox's public key: the tests sign with their own RSA key
and substitute eopayment's `verify` to check with it, and prove that a valid notification pays
once, that a bad signature, a missing one (even saying « paid ») or a wrong amount do not, and
that a replay does nothing."""

import base64
import hashlib
import hmac
import re
from decimal import Decimal as D
from urllib.parse import quote

import eopayment.paybox
import pytest
from Cryptodome.Hash import SHA
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import PKCS1_v1_5

from parvis.billing.models import InvoiceStatus, Payment, PaymentMethod
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    ProviderConfig,
    TransactionStatus,
    TropPercu,
    TropPercuStatus,
)
from parvis.payments.providers.paybox import Paybox
from parvis.payments.tests.conftest import text_of, url

pytestmark = pytest.mark.django_db

HMAC_KEY = "0123456789ABCDEF" * 8  # 64 bytes, as Paybox's back office gives it (hex)
OPTIONS = {"site": "1999888", "rang": "32", "identifiant": "107904482", "platform": "test"}
PAYBOX_FIELDS = (
    "montant",
    "reference",
    "code_autorisation",
    "erreur",
    "numero_appel",
    "numero_transaction",
    "date_transaction",
    "heure_transaction",
)


@pytest.fixture(scope="module")
def rsa_key():
    return RSA.generate(1024)  # noqa: S505 — a throwaway test key, quick to make


@pytest.fixture(scope="module")
def other_rsa_key():
    return RSA.generate(1024)  # noqa: S505 — a throwaway test key, quick to make


@pytest.fixture
def test_key(monkeypatch, rsa_key):
    """eopayment's `verify` checks with the test key instead of Paybox's own."""
    original = eopayment.paybox.verify
    public = rsa_key.publickey().export_key().decode()
    monkeypatch.setattr(
        eopayment.paybox,
        "verify",
        lambda data, signature, key=None: original(data, signature, public),
    )
    return rsa_key


@pytest.fixture
def paybox(world):
    ProviderConfig.objects.create(
        commune=world.commune, provider=Provider.PAYBOX, options=OPTIONS, secret=HMAC_KEY
    )
    return world


def start(world, *invoices):
    return services.start_payment(
        famille=world.famille,
        user=world.user,
        commune=world.commune,
        invoice_ids=[invoice.pk for invoice in invoices],
    )


def notification(key, transaction, *, erreur="00000", montant=None, sign=True, tamper=None):
    """A notification as Paybox sends it to PBX_REPONDRE_A: the PBX_RETOUR fields in order,
    each URL-encoded, then `signature`: RSA-SHA1 of that string, base64, URL-encoded."""
    values = {
        "montant": str(montant if montant is not None else int(transaction.amount * 100)),
        "reference": transaction.reference,
        "code_autorisation": "XXXXXX",
        "erreur": erreur,
        "numero_appel": "0012345678",
        "numero_transaction": "0087654321",
        "date_transaction": "20261202",
        "heure_transaction": "10:15:00",
    }
    signed = "&".join(f"{name}={quote(values[name])}" for name in PAYBOX_FIELDS)
    if not sign:
        return signed
    signature = PKCS1_v1_5.new(key).sign(SHA.new(signed.encode()))  # noqa: S303 — Paybox's SHA1
    query = signed + "&signature=" + quote(base64.b64encode(signature).decode(), safe="")
    if tamper:
        query = query.replace(*tamper)
    return query


def notify(world, query_string, body=b""):
    return services.handle_notification(
        commune=world.commune,
        provider=Provider.PAYBOX,
        query_string=query_string,
        body=body,
        remote_addr="195.101.99.76",
        method="GET",
    )


# --- The request ---------------------------------------------------------------------------------


def test_the_request_is_the_pbx_form_signed_with_the_communes_hmac_key(paybox):
    transaction, redirect = start(paybox, paybox.sejour, paybox.cantine)
    assert redirect.method == "POST" and redirect.is_form
    assert redirect.url == "https://preprod-tpeweb.paybox.com/php/"
    fields = dict(redirect.fields)
    assert fields["PBX_SITE"] == "1999888"
    assert fields["PBX_RANG"] == "32"
    assert fields["PBX_IDENTIFIANT"] == "107904482"
    assert fields["PBX_TOTAL"] == "14435"  # 73,80 + 70,55 in cents
    assert fields["PBX_DEVISE"] == "978"
    assert fields["PBX_CMD"] == transaction.reference
    assert fields["PBX_PORTEUR"] == "francoise.durand@example.fr"
    assert fields["PBX_HASH"] == "SHA512"
    assert fields["PBX_REPONDRE_A"] == "http://testserver/villebois/paiement/notification/paybox/"
    assert fields["PBX_EFFECTUE"] == (
        f"http://testserver/villebois/paiement/retour/{transaction.reference}/"
    )
    # PBX_HMAC: HMAC-SHA512 over « name=value&… » of every other field, in order, with the key
    # decoded from hexadecimal, in upper-case hexadecimal.
    message = "&".join(f"{name}={value}" for name, value in redirect.fields if name != "PBX_HMAC")
    expected = hmac.new(bytes.fromhex(HMAC_KEY), message.encode(), hashlib.sha512)
    assert fields["PBX_HMAC"] == expected.hexdigest().upper()
    assert list(fields)[-1] == "PBX_HMAC"
    assert transaction.options == OPTIONS  # copied: the secret is not
    assert HMAC_KEY not in Exchange.objects.get(kind=ExchangeKind.REQUETE).payload


def test_another_key_gives_another_hmac(paybox):
    _transaction, redirect = start(paybox, paybox.sejour)
    fields = dict(redirect.fields)
    message = "&".join(f"{name}={value}" for name, value in redirect.fields if name != "PBX_HMAC")
    other = hmac.new(bytes.fromhex("AB" * 64), message.encode(), hashlib.sha512)
    assert fields["PBX_HMAC"] != other.hexdigest().upper()


def test_payer_renders_the_form_for_paybox_with_its_origin_allowed(paybox, logged):
    response = logged.post(url(paybox, "payer"), {"factures": [paybox.sejour.pk]})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="https://preprod-tpeweb.paybox.com/php/"' in html
    assert 'name="PBX_HMAC"' in html and 'name="PBX_TOTAL" value="7380"' in html
    assert "Continuer vers le paiement sécurisé Paybox" in text_of(response)
    # The family presses the button itself: no script of the page submits the form (the site's
    # own menu script is the only one).
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert [attrs.strip() for attrs, body in scripts if not body.strip()] == [
        'src="/static/parvis/menu.js"'
    ]
    assert len(scripts) == html.count("<script") == 1
    csp = response["Content-Security-Policy"]
    assert "form-action 'self' https://preprod-tpeweb.paybox.com" in csp


def test_a_family_without_email_cannot_start_a_paybox_payment(paybox):
    paybox.user.email = ""
    paybox.user.save(update_fields=["email"])
    with pytest.raises(Exception, match="adresse électronique"):
        start(paybox, paybox.sejour)


# --- Notifications -------------------------------------------------------------------------------


def test_a_valid_notification_pays_once(
    paybox, test_key, receipts, django_capture_on_commit_callbacks
):
    transaction, _ = start(paybox, paybox.sejour)
    query = notification(test_key, transaction)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(paybox, query).status == 200
        assert notify(paybox, query).status == 200  # replay
    transaction.refresh_from_db()
    paybox.sejour.refresh_from_db()
    assert transaction.status == TransactionStatus.PAYEE
    assert transaction.provider_reference == "0087654321"
    assert paybox.sejour.status == InvoiceStatus.REGLEE
    payment = Payment.objects.get()
    assert (payment.method, payment.amount) == (PaymentMethod.CARTE, D("73.80"))
    assert receipts == [payment.pk]
    outcomes = list(
        Exchange.objects.filter(kind=ExchangeKind.NOTIFICATION)
        .order_by("pk")
        .values_list("verified", "outcome")
    )
    assert outcomes[0][0] is True and outcomes[0][1].startswith("payée")
    assert outcomes[1] == (True, "rejouée : ignorée")


def test_the_notification_may_come_as_a_post_body(paybox, test_key):
    transaction, _ = start(paybox, paybox.sejour)
    assert notify(paybox, "", notification(test_key, transaction).encode()).status == 200
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.PAYEE


def test_payer_twice_and_paybox_confirms_both_one_payment_and_a_trop_percu(
    paybox, test_key, receipts, django_capture_on_commit_callbacks
):
    """Both PBX forms stay live at Paybox: the second « Payer » replaces the first in Parvis,
    but the family may still pay both. The invoice is settled once; the rest is refunded."""
    first, _ = start(paybox, paybox.sejour, paybox.cantine)  # 144,35
    second, _ = start(paybox, paybox.sejour)  # 73,80
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(paybox, notification(test_key, second)).status == 200
        assert notify(paybox, notification(test_key, first)).status == 200
        assert notify(paybox, notification(test_key, first)).status == 200  # replay
    for row in (first, second, paybox.sejour, paybox.cantine):
        row.refresh_from_db()
    assert first.status == second.status == TransactionStatus.PAYEE
    assert paybox.sejour.paid == D("73.80") and paybox.cantine.paid == D("70.55")
    amounts = {p.transaction_reference: p.amount for p in Payment.objects.all()}
    assert amounts == {second.reference: D("73.80"), first.reference: D("70.55")}
    assert len(receipts) == 2
    trop_percu = TropPercu.objects.get()
    assert (trop_percu.transaction, trop_percu.amount) == (first, D("73.80"))
    assert trop_percu.status == TropPercuStatus.A_REMBOURSER
    outcome = Exchange.objects.filter(kind=ExchangeKind.NOTIFICATION).order_by("pk")[1].outcome
    assert outcome.endswith("; trop-perçu à rembourser : 73,80 €")


def assert_still_due(world, transaction):
    transaction.refresh_from_db()
    world.sejour.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert world.sejour.status == InvoiceStatus.A_REGLER
    assert not Payment.objects.exists()


def test_a_bad_signature_is_refused(paybox, test_key, other_rsa_key):
    transaction, _ = start(paybox, paybox.sejour)
    assert notify(paybox, notification(other_rsa_key, transaction)).status == 403
    assert Exchange.objects.filter(verified=False).count() == 1
    assert_still_due(paybox, transaction)


def test_a_tampered_field_breaks_the_signature(paybox, test_key):
    transaction, _ = start(paybox, paybox.sejour)
    query = notification(
        test_key, transaction, erreur="00001", tamper=("erreur=00001", "erreur=00000")
    )
    assert notify(paybox, query).status == 403
    assert_still_due(paybox, transaction)


def test_without_the_test_key_paybox_s_own_key_refuses_the_test_signature(paybox, rsa_key):
    transaction, _ = start(paybox, paybox.sejour)
    assert notify(paybox, notification(rsa_key, transaction)).status == 403
    assert_still_due(paybox, transaction)


def test_an_unsigned_notification_saying_paid_is_refused(paybox, test_key):
    transaction, _ = start(paybox, paybox.sejour)
    query = notification(test_key, transaction, sign=False)
    response = eopayment.Payment("paybox", {}).response(query, callback=True)
    assert response.result == eopayment.PAID and not response.signed  # what eopayment says
    assert notify(paybox, query).status == 403
    assert_still_due(paybox, transaction)


def test_a_signed_notification_with_a_wrong_amount_is_refused(paybox, test_key):
    transaction, _ = start(paybox, paybox.sejour)
    assert notify(paybox, notification(test_key, transaction, montant=7379)).status == 400
    assert "montant 73,79 € au lieu de 73,80 €" in Exchange.objects.latest("pk").outcome
    assert_still_due(paybox, transaction)


@pytest.mark.parametrize(
    "erreur, status",
    [("00001", TransactionStatus.ABANDONNEE), ("00021", TransactionStatus.REFUSEE)],
)
def test_a_signed_refusal_or_cancellation_leaves_the_invoice_due(paybox, test_key, erreur, status):
    transaction, _ = start(paybox, paybox.sejour)
    assert notify(paybox, notification(test_key, transaction, erreur=erreur)).status == 200
    transaction.refresh_from_db()
    paybox.sejour.refresh_from_db()
    assert transaction.status == status
    assert paybox.sejour.status == InvoiceStatus.A_REGLER


def test_waiting_for_the_issuer_changes_nothing(paybox, test_key):
    transaction, _ = start(paybox, paybox.sejour)
    assert notify(paybox, notification(test_key, transaction, erreur="99999")).status == 200
    assert_still_due(paybox, transaction)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "erreur=00000",
        "reference=PVSX&erreur=00000&signature=%%%",
        "reference=PVSX&erreur=00000&signature=AAAA",
        "montant=abc&reference=PVSX&erreur=00000",
        "reference=PVSX&erreur=00000&montant=7380&signature=" + "A" * 5000,
    ],
)
def test_garbage_is_refused_without_error(paybox, test_key, query):
    assert notify(paybox, query).status in (400, 403)


def test_the_browser_return_is_only_a_hint():
    provider = Paybox(options=OPTIONS, secret=HMAC_KEY)
    assert provider.handle_return({"erreur": "00000"}) == "payee"
    assert provider.handle_return({"erreur": "00001"}) == "abandonnee"
    assert provider.handle_return({"erreur": "00021"}) == "refusee"
    assert provider.handle_return({}) is None
