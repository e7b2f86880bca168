"""Online payment in the admin: a commune's administrator sets their commune's provider (the
secret typed, never rendered back, kept when left empty, checked for Paybox), sees only their
commune's settings, transactions and exchanges, and can change none of the last two."""

import pytest
from django.urls import reverse

from parvis.communes.services import ensure_commune_admin_group
from parvis.communes.tests.factories import CommuneAdminFactory, OperatorFactory
from parvis.communes.tests.test_admin import assert_not_found, form_data
from parvis.payments import services
from parvis.payments.models import Exchange, Provider, ProviderConfig
from parvis.payments.tests.conftest import make_world

pytestmark = pytest.mark.django_db

SECRET = "0123456789abcdef" * 8
OPTIONS = '{"site": "1999888", "rang": "32", "identifiant": "107904482", "platform": "test"}'


def url(model, action="changelist", *args):
    return reverse(f"admin:payments_{model}_{action}", args=args)


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def alpha(receipts):
    return make_world(slug="ville-alpha", name="VilleAlpha")


@pytest.fixture
def beta(receipts):
    return make_world(slug="ville-beta", name="VilleBeta")


@pytest.fixture
def as_admin_alpha(client, alpha):
    client.force_login(CommuneAdminFactory(commune=alpha.commune))
    return client


def paybox_form(client, **fields):
    data = form_data(client.get(url("providerconfig", "add")))
    data.update({"provider": "paybox", "options": OPTIONS, "secret": SECRET, **fields})
    return data


def test_the_commune_administrators_group_manages_online_payment():
    codenames = set(ensure_commune_admin_group().permissions.values_list("codename", flat=True))
    assert {"view_providerconfig", "add_providerconfig", "change_providerconfig"} <= codenames
    assert {"view_transaction", "view_exchange"} <= codenames
    assert "change_transaction" not in codenames and "change_exchange" not in codenames


def test_the_secret_is_saved_and_never_rendered_back(as_admin_alpha, alpha):
    response = as_admin_alpha.post(url("providerconfig", "add"), paybox_form(as_admin_alpha))
    assert response.status_code == 302, page(response)
    config = ProviderConfig.objects.get()
    assert (config.commune, config.provider, config.secret) == (alpha.commune, "paybox", SECRET)
    change = page(as_admin_alpha.get(url("providerconfig", "change", config.pk)))
    assert SECRET not in change
    assert SECRET[:-4] not in change
    assert "••••••••cdef" in change
    assert "laisser vide pour garder la clé actuelle" in change
    assert 'type="password"' in change
    listed = page(as_admin_alpha.get(url("providerconfig")))
    assert SECRET[-4:] not in listed.replace("ville-alpha", "")


def test_an_empty_secret_keeps_the_current_one_and_a_new_one_replaces_it(as_admin_alpha, alpha):
    config = ProviderConfig.objects.create(
        commune=alpha.commune, provider="paybox", options={}, secret=SECRET
    )
    change_url = url("providerconfig", "change", config.pk)
    data = form_data(as_admin_alpha.get(change_url))
    data.update({"options": OPTIONS, "secret": ""})
    assert as_admin_alpha.post(change_url, data).status_code == 302
    config.refresh_from_db()
    assert config.secret == SECRET
    data["secret"] = "AB" * 32
    assert as_admin_alpha.post(change_url, data).status_code == 302
    config.refresh_from_db()
    assert config.secret == "AB" * 32


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"options": '{"site": "12", "rang": "32", "identifiant": "1"}'}, "7 chiffres"),
        ({"secret": ""}, "Paybox demande la clé HMAC"),
        ({"secret": "pas-hexadecimal"}, "en hexadécimal"),
        ({"options": "[1, 2]"}, "objet JSON"),
        ({"provider": "payfip", "options": '{"numcli": "12"}'}, "6 chiffres"),
        (
            {"provider": "payfip", "options": '{"numcli": "123456", "saisie": "Z"}'},
            "W (production)",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_in_french(as_admin_alpha, fields, message):
    response = as_admin_alpha.post(
        url("providerconfig", "add"), paybox_form(as_admin_alpha, **fields)
    )
    assert response.status_code == 200
    assert message in page(response)
    assert not ProviderConfig.objects.exists()


def test_payfip_needs_no_secret(as_admin_alpha):
    data = paybox_form(
        as_admin_alpha, provider="payfip", options='{"numcli": "123456", "saisie": "T"}', secret=""
    )
    assert as_admin_alpha.post(url("providerconfig", "add"), data).status_code == 302


def test_another_communes_rows_are_neither_listed_nor_opened(as_admin_alpha, alpha, beta):
    theirs = ProviderConfig.objects.create(commune=beta.commune, provider="simulateur")
    transaction, _ = services.start_payment(
        famille=beta.famille, user=beta.user, commune=beta.commune, invoice_ids=[beta.sejour.pk]
    )
    mine, _ = services.start_payment(
        famille=alpha.famille, user=alpha.user, commune=alpha.commune, invoice_ids=[alpha.sejour.pk]
    )
    listed = page(as_admin_alpha.get(url("transaction")))
    assert mine.reference in listed and transaction.reference not in listed
    assert "73,80 €" in listed
    exchanges = page(as_admin_alpha.get(url("exchange")))
    assert "VilleBeta" not in exchanges
    for model, pk in [
        ("providerconfig", theirs.pk),
        ("transaction", transaction.pk),
        ("exchange", Exchange.objects.get(transaction=transaction).pk),
    ]:
        assert_not_found(as_admin_alpha.get(url(model, "change", pk)))


def test_transactions_and_exchanges_are_read_only(as_admin_alpha, alpha):
    transaction, _ = services.start_payment(
        famille=alpha.famille, user=alpha.user, commune=alpha.commune, invoice_ids=[alpha.sejour.pk]
    )
    exchange = Exchange.objects.get()
    for model, pk in [("transaction", transaction.pk), ("exchange", exchange.pk)]:
        assert as_admin_alpha.get(url(model, "add")).status_code == 403
        change = as_admin_alpha.get(url(model, "change", pk))
        assert change.status_code == 200
        assert 'name="_save"' not in page(change)
        assert as_admin_alpha.post(url(model, "delete", pk), {"post": "yes"}).status_code == 403


def test_a_replaced_transaction_names_the_one_that_replaced_it(as_admin_alpha, alpha):
    first, second = (
        services.start_payment(
            famille=alpha.famille, user=alpha.user, commune=alpha.commune,
            invoice_ids=[alpha.sejour.pk],
        )[0]
        for _click in range(2)
    )  # fmt: skip
    text = page(as_admin_alpha.get(url("transaction", "change", first.pk)))
    assert "Remplacée par un nouveau paiement" in text
    assert "remplacée par" in text.lower() and second.reference in text


def test_the_operator_chooses_the_commune(client, alpha):
    client.force_login(OperatorFactory())
    assert 'name="commune"' in page(client.get(url("providerconfig", "add")))
    data = form_data(client.get(url("providerconfig", "add")))
    data.update({"commune": alpha.commune.pk, "provider": Provider.SIMULATEUR, "options": "{}"})
    data["secret"] = ""
    assert client.post(url("providerconfig", "add"), data).status_code == 302
    assert ProviderConfig.objects.get().commune == alpha.commune
