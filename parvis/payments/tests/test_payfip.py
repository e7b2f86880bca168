"""PayFiP through eopayment's `payfip_ws` backend, offline (DGFiP's SOAP web service replaced by
a fake). PayFiP's notification is not signed: it carries only the payment's idOp, and the
result, amount and reference are asked from DGFiP's web service. So the notification's own
claims (resultrans, montant) are never believed; an idOp other than the one given at start,
an unreachable web service, or a wrong amount pay nothing."""

from datetime import datetime
from decimal import Decimal as D

import eopayment.payfip_ws as payfip_ws
import pytest
from django.core.exceptions import ValidationError

from parvis.billing.models import InvoiceStatus, Payment
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    ProviderConfig,
    Transaction,
    TransactionStatus,
)
from parvis.payments.tests.conftest import url

pytestmark = pytest.mark.django_db

IDOP = "5c0d2b44-b6aa-11ef-9c8f-0050568f3c4e"


class Answer(dict):
    """What zeep returns for recupererDetailPaiementSecurise: keys and attributes."""

    def __getattr__(self, name):
        return self.get(name)


@pytest.fixture
def dgfip(monkeypatch):
    """The fake web service: records the requests, answers from `answers[idop]`."""
    state = {"requests": [], "answers": {}, "down": False}

    def get_idop(self, **kwargs):
        if state["down"]:
            raise payfip_ws.PayFiPError("HTTP error", "unreachable")
        state["requests"].append(kwargs)
        return IDOP

    def get_info_paiement(self, idop, timeout=None):
        if state["down"]:
            raise payfip_ws.PayFiPError("HTTP error", "unreachable")
        if idop not in state["answers"]:
            raise payfip_ws.PayFiPError("P1", "idOp inconnu")
        return state["answers"][idop]

    monkeypatch.setattr(payfip_ws.PayFiP, "get_idop", get_idop)
    monkeypatch.setattr(payfip_ws.PayFiP, "get_info_paiement", get_info_paiement)
    return state


@pytest.fixture
def payfip(world, dgfip):
    ProviderConfig.objects.create(
        commune=world.commune, provider=Provider.PAYFIP, options={"numcli": "123456", "saisie": "T"}
    )
    return world


def start(world, *invoices):
    return services.start_payment(
        famille=world.famille,
        user=world.user,
        commune=world.commune,
        invoice_ids=[invoice.pk for invoice in invoices],
    )


def answer(transaction, *, resultrans="P", montant=None, idop=IDOP):
    return Answer(
        numcli="123456",
        exer="2026",
        refdet=transaction.reference,
        objet="",
        montant=str(montant if montant is not None else int(transaction.amount * 100)),
        mel="francoise.durand@example.fr",
        saisie="T",
        resultrans=resultrans,
        numauto="112233",
        dattrans=datetime.now().strftime("%d%m%Y"),
        heurtrans="0000",
        idop=idop,
    )


def notify(world, body):
    return services.handle_notification(
        commune=world.commune,
        provider=Provider.PAYFIP,
        query_string="",
        body=body,
        remote_addr="145.242.11.5",
    )


def test_the_request_asks_dgfip_for_an_idop_with_our_reference_and_amount(payfip, dgfip):
    transaction, redirect = start(payfip, payfip.sejour, payfip.cantine)
    (request,) = dgfip["requests"]
    assert request["numcli"] == "123456"
    assert request["saisie"] == "T"
    assert request["refdet"] == transaction.reference
    assert request["montant"] == "14435"
    assert request["mel"] == "francoise.durand@example.fr"
    assert request["url_notification"] == (
        "http://testserver/villebois/paiement/notification/payfip/"
    )
    assert request["url_redirect"] == (
        f"http://testserver/villebois/paiement/retour/{transaction.reference}/"
    )
    assert redirect.url == f"https://www.payfip.gouv.fr/tpa/paiementws.web?idop={IDOP}"
    assert not redirect.is_form
    transaction.refresh_from_db()
    assert transaction.provider_reference == IDOP


def test_payer_sends_the_browser_to_payfip(payfip, logged):
    response = logged.post(url(payfip, "payer"), {"factures": [payfip.sejour.pk]})
    assert response.status_code == 302
    assert response.url.startswith("https://www.payfip.gouv.fr/tpa/paiementws.web?idop=")


def test_dgfip_unreachable_at_start_is_a_message_and_the_attempt_is_logged(payfip, dgfip):
    dgfip["down"] = True
    with pytest.raises(ValidationError, match="n'a pas pu être joint"):
        start(payfip, payfip.sejour)
    transaction = Transaction.objects.get()
    assert transaction.status == TransactionStatus.ABANDONNEE
    exchange = Exchange.objects.get(kind=ExchangeKind.REQUETE)
    assert exchange.outcome.startswith("échec de la demande")


def test_a_notification_pays_what_dgfip_confirms(payfip, dgfip, receipts):
    transaction, _ = start(payfip, payfip.sejour)
    dgfip["answers"][IDOP] = answer(transaction)
    assert notify(payfip, f"idOp={IDOP}").status == 200
    assert notify(payfip, f"idOp={IDOP}").status == 200  # PayFiP notifies again: a replay
    transaction.refresh_from_db()
    payfip.sejour.refresh_from_db()
    assert transaction.status == TransactionStatus.PAYEE
    assert transaction.provider_reference == "112233"
    assert payfip.sejour.status == InvoiceStatus.REGLEE
    assert Payment.objects.get().amount == D("73.80")


def test_the_notifications_own_claims_are_not_believed(payfip, dgfip):
    transaction, _ = start(payfip, payfip.sejour)
    dgfip["answers"][IDOP] = answer(transaction, resultrans="R")
    body = f"idOp={IDOP}&resultrans=P&montant=7380&refdet={transaction.reference}"
    assert notify(payfip, body).status == 200
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.REFUSEE
    assert not Payment.objects.exists()


def test_an_amount_other_than_the_transactions_is_refused(payfip, dgfip):
    transaction, _ = start(payfip, payfip.sejour)
    dgfip["answers"][IDOP] = answer(transaction, montant=100)
    assert notify(payfip, f"idOp={IDOP}").status == 400
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE
    assert not Payment.objects.exists()


def test_another_idop_than_the_one_given_at_start_is_refused(payfip, dgfip):
    transaction, _ = start(payfip, payfip.sejour)
    dgfip["answers"]["OTHER-IDOP"] = answer(transaction, idop="OTHER-IDOP")
    assert notify(payfip, "idOp=OTHER-IDOP").status == 400
    assert "identifiant de paiement inattendu" in Exchange.objects.latest("pk").outcome
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE


@pytest.mark.parametrize("body", ["", "idOp=", "idOp=../../etc", "idOp=" + "A" * 80, "x=1"])
def test_an_unreadable_notification_is_refused(payfip, dgfip, body):
    assert notify(payfip, body).status == 400
    assert Exchange.objects.latest("pk").verified is False


def test_dgfip_unreachable_for_a_notification_pays_nothing(payfip, dgfip):
    transaction, _ = start(payfip, payfip.sejour)
    dgfip["answers"][IDOP] = answer(transaction)
    dgfip["down"] = True
    assert notify(payfip, f"idOp={IDOP}").status == 400
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE


def test_an_idop_dgfip_no_longer_knows_is_an_abandoned_payment(payfip, dgfip):
    transaction, _ = start(payfip, payfip.sejour)
    assert notify(payfip, f"idOp={IDOP}").status == 200  # DGFiP: P1, expired
    transaction.refresh_from_db()
    payfip.sejour.refresh_from_db()
    assert transaction.status == TransactionStatus.ABANDONNEE
    assert payfip.sejour.status == InvoiceStatus.A_REGLER


def test_a_payment_still_under_way_changes_nothing(payfip, dgfip, monkeypatch):
    transaction, _ = start(payfip, payfip.sejour)

    def in_progress(self, idop, timeout=None):
        raise payfip_ws.PayFiPError("P5", "paiement en cours")

    monkeypatch.setattr(payfip_ws.PayFiP, "get_info_paiement", in_progress)
    assert notify(payfip, f"idOp={IDOP}").status == 200
    assert Exchange.objects.latest("pk").outcome.startswith("en attente")
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.EN_ATTENTE


@pytest.fixture
def verifiers(monkeypatch):
    """The options of each provider that verifies a notification."""
    from parvis.payments.providers.payfip import Payfip

    seen = []
    original = Payfip.handle_notification

    def spy(self, query_string, body):
        seen.append(dict(self.options))
        return original(self, query_string, body)

    monkeypatch.setattr(Payfip, "handle_notification", spy)
    return seen


@pytest.mark.parametrize(
    "change",
    [
        {"options": {"numcli": "654321", "saisie": "X"}},  # new settings, same provider
        {  # or the commune moves to Paybox while a family is on PayFiP's page
            "provider": Provider.PAYBOX,
            "options": {"site": "1999888", "rang": "32", "identifiant": "107904482"},
            "secret": "0123456789ABCDEF" * 8,
        },
    ],
)
def test_a_payment_in_flight_is_verified_with_the_settings_it_started_with(
    payfip, dgfip, verifiers, change
):
    """DGFiP's notification is verified by a provider built with the options copied onto the
    transaction at start, whatever the commune changed meanwhile."""
    transaction, _ = start(payfip, payfip.sejour)
    assert transaction.options == {"numcli": "123456", "saisie": "T"}
    ProviderConfig.objects.filter(commune=payfip.commune).update(**change)
    dgfip["answers"][IDOP] = answer(transaction)
    assert notify(payfip, f"idOp={IDOP}").status == 200
    assert verifiers == [{"numcli": "123456", "saisie": "T"}]
    transaction.refresh_from_db()
    assert transaction.status == TransactionStatus.PAYEE


def test_a_new_payment_takes_the_communes_settings_of_the_day(payfip, dgfip):
    first, _ = start(payfip, payfip.sejour)
    ProviderConfig.objects.filter(commune=payfip.commune).update(
        options={"numcli": "654321", "saisie": "X"}
    )
    second, _ = start(payfip, payfip.cantine)
    assert first.options["numcli"] == "123456"
    assert second.options == {"numcli": "654321", "saisie": "X"}
    assert [request["numcli"] for request in dgfip["requests"]] == ["123456", "654321"]
