"""Issue 20 §2: a family's CAF/MSA quotient from API Particulier, through the client code of
production against the local server (a real HTTP server on the loopback) answering as API
Particulier's documented « composition-familiale-v2 » does."""

import socket
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine

from parvis.accounts.models import AuditEntry, User
from parvis.activities.rules import PARIS
from parvis.communes.models import ApiParticulierConfig
from parvis.families import api_particulier, demo_api_particulier, services_api_particulier
from parvis.families import demo as families_demo
from parvis.families.api_particulier import ApiParticulierError, Identity
from parvis.families.api_particulier_local import DEMO_TOKEN, PATH_V1, PATH_V2
from parvis.families.models import Famille, QfSource, QuotientFamilial
from parvis.families.services import current_quotient, record_quotient

CSP = "carrieres-sous-poissy"
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=PARIS)
FRANCOISE = Identity(
    birth_name="Durand",
    first_names=("Françoise", "Marie"),
    sex="F",
    birth_date=date(1986, 4, 9),
    birth_commune="78498",
)
STRANGER = Identity(
    birth_name="INCONNU", first_names=("Paul",), sex="M", birth_date=date(1980, 1, 2)
)

pytestmark = pytest.mark.usefixtures("api_server")


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def demo(demo_communes):
    families_demo.load()
    demo_api_particulier.load()
    return demo_communes


@pytest.fixture
def durand(demo):
    return Famille.objects.get(commune__slug=CSP, name="DURAND")


@pytest.fixture
def francoise(demo):
    return User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)


# --- The client, against each answer of the server ------------------------------------------------


def test_a_known_allocataire_gets_the_qf_of_the_month_and_the_household(api_server):
    answer = api_particulier.fetch_quotient(token=DEMO_TOKEN, identity=FRANCOISE)
    assert answer.value == Decimal("612")
    assert (answer.year, answer.month, answer.month_iso) == (2026, 12, "2026-12")
    assert answer.regime == "CNAF"
    assert [p.name for p in answer.allocataires] == ["FRANCOISE DURAND", "MARC DURAND"]
    assert [(p.name, p.birth_date) for p in answer.children] == [
        ("HUGO DURAND", "2018-06-02"),
        ("LEA DURAND", "2022-03-14"),
    ]
    # The documented request: the v2 path, the token in X-Api-Key, the civil identity.
    asked = api_server.requests[-1]
    assert asked["path"] == PATH_V2
    assert asked["token"] == DEMO_TOKEN
    assert asked["params"]["prenoms[]"] == ["Françoise", "Marie"]
    assert asked["params"]["codePaysLieuDeNaissance"] == ["99100"]
    assert asked["params"]["codeInseeLieuDeNaissance"] == ["78498"]
    assert asked["params"]["anneeDateDeNaissance"] == ["1986"]
    assert asked["params"]["sexe"] == ["F"]
    assert "recipient" not in asked["params"]


def test_the_recipient_siret_is_sent_when_the_commune_gives_it(api_server):
    api_particulier.fetch_quotient(token=DEMO_TOKEN, identity=FRANCOISE, recipient="21780138600015")
    assert api_server.requests[-1]["params"]["recipient"] == ["21780138600015"]


def test_an_unknown_allocataire_is_not_found(api_server):
    with pytest.raises(ApiParticulierError) as raised:
        api_particulier.fetch_quotient(token=DEMO_TOKEN, identity=STRANGER)
    assert (raised.value.kind, raised.value.status) == (ApiParticulierError.NOT_FOUND, 404)
    assert raised.value.reason.startswith("Dossier allocataire inexistant")


def test_a_service_unavailable_is_said_so(api_server):
    api_server.unavailable = True
    with pytest.raises(ApiParticulierError) as raised:
        api_particulier.fetch_quotient(token=DEMO_TOKEN, identity=FRANCOISE)
    assert (raised.value.kind, raised.value.status) == (ApiParticulierError.UNAVAILABLE, 503)


@pytest.mark.parametrize("token", ["jeton-expire", "un-jeton-inconnu", ""])
def test_an_expired_or_unknown_token_is_refused(api_server, token):
    with pytest.raises(ApiParticulierError) as raised:
        api_particulier.fetch_quotient(token=token, identity=FRANCOISE)
    assert (raised.value.kind, raised.value.status) == (ApiParticulierError.REFUSED, 401)


def test_an_incomplete_identity_is_a_bad_request(api_server):
    incomplete = Identity(
        birth_name="DURAND",
        first_names=("Françoise",),
        sex="",
        birth_date=date(1986, 4, 9),
    )
    with pytest.raises(ApiParticulierError) as raised:
        api_particulier.fetch_quotient(token=DEMO_TOKEN, identity=incomplete)
    assert (raised.value.kind, raised.value.status) == (ApiParticulierError.BAD_REQUEST, 400)


def test_the_retired_first_version_is_gone(api_server):
    import requests

    response = requests.get(api_server.url + PATH_V1, timeout=5)
    assert response.status_code == 410


def test_a_server_that_does_not_answer_in_time_is_unavailable(settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        host, port = listener.getsockname()
        with pytest.raises(ApiParticulierError) as raised:
            api_particulier.fetch_quotient(
                token=DEMO_TOKEN, identity=FRANCOISE, base_url=f"http://{host}:{port}", timeout=0.3
            )
    finally:
        listener.close()
    assert raised.value.kind == ApiParticulierError.UNAVAILABLE


def test_a_server_that_is_down_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ApiParticulierError) as raised:
        api_particulier.fetch_quotient(
            token=DEMO_TOKEN, identity=FRANCOISE, base_url=f"http://127.0.0.1:{port}", timeout=1
        )
    assert raised.value.kind == ApiParticulierError.UNAVAILABLE


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"quotientFamilial": "beaucoup", "annee": 2026, "mois": 12},
        {"quotientFamilial": -1, "annee": 2026, "mois": 12},
        {"quotientFamilial": 600, "annee": 2026, "mois": 13},
        [],
    ],
)
def test_an_unreadable_answer_is_invalid(payload):
    with pytest.raises(ApiParticulierError) as raised:
        api_particulier.parse_answer(payload)
    assert raised.value.kind == ApiParticulierError.INVALID


# --- The service: consent, record, history, audit ----------------------------------------------


def test_without_consent_nothing_is_asked_nor_recorded(api_server, durand, francoise):
    with pytest.raises(services_api_particulier.ConsentRequired):
        services_api_particulier.fetch_quotient(
            famille=durand, actor=francoise, identity=FRANCOISE, consent=False
        )
    assert api_server.requests == []
    assert not QuotientFamilial.objects.filter(source=QfSource.API_PARTICULIER).exists()


def test_a_commune_without_the_service_never_asks(api_server, durand, francoise):
    ApiParticulierConfig.objects.filter(commune=durand.commune).update(enabled=False)
    with pytest.raises(ApiParticulierError) as raised:
        services_api_particulier.fetch_quotient(
            famille=durand, actor=francoise, identity=FRANCOISE, consent=True
        )
    assert raised.value.kind == services_api_particulier.NOT_OFFERED
    assert api_server.requests == []


def test_the_fetched_qf_becomes_the_current_one_and_the_history_stays(durand, francoise):
    before = record_quotient(
        famille=durand,
        actor=francoise,
        source=QfSource.AVIS_IMPOSITION,
        valid_from=date(2026, 9, 1),
        valid_until=date(2027, 8, 31),
        annual_taxable_income=Decimal("53616.96"),
        couple=True,
        children=2,
    )
    assert current_quotient(durand) == before
    quotient = services_api_particulier.fetch_quotient(
        famille=durand, actor=francoise, identity=FRANCOISE, consent=True
    )
    assert quotient.value == Decimal("612.00")
    assert quotient.source == QfSource.API_PARTICULIER
    assert (quotient.valid_from, quotient.valid_until) == (date(2026, 12, 1), date(2027, 8, 31))
    assert current_quotient(durand) == quotient
    assert current_quotient(durand, on=date(2026, 12, 1)) == quotient  # this month's invoice
    assert current_quotient(durand, on=date(2026, 11, 30)) == before  # the past is not rewritten
    assert set(durand.quotients.all()) >= {before, quotient}
    details = quotient.details
    assert details["allocataire"] == "FRANCOISE DURAND"
    assert details["month"] == "2026-12"
    assert details["regime"] == "CNAF"
    assert details["composition"]["enfants"] == [
        {"name": "HUGO DURAND", "birth_date": "2018-06-02"},
        {"name": "LEA DURAND", "birth_date": "2022-03-14"},
    ]
    assert details["fetched_at"].startswith("2026-12-06T09:00")  # UTC
    entry = AuditEntry.objects.get(action="quotient.api_particulier")
    assert entry.changes == {"resultat": [None, "trouve"], "month": [None, "2026-12"]}
    assert entry.famille_id == durand.pk
    assert AuditEntry.objects.filter(action="quotient.record", famille_id=durand.pk).count() == 2


@pytest.mark.parametrize(
    ("identity", "token", "kind", "status"),
    [
        (STRANGER, DEMO_TOKEN, ApiParticulierError.NOT_FOUND, 404),
        (FRANCOISE, "jeton-expire", ApiParticulierError.REFUSED, 401),
    ],
)
def test_a_failure_records_nothing_and_is_audited(durand, francoise, identity, token, kind, status):
    ApiParticulierConfig.objects.filter(commune=durand.commune).update(token=token)
    with pytest.raises(ApiParticulierError):
        services_api_particulier.fetch_quotient(
            famille=durand, actor=francoise, identity=identity, consent=True
        )
    assert not durand.quotients.filter(source=QfSource.API_PARTICULIER).exists()
    entry = AuditEntry.objects.get(action="quotient.api_particulier")
    assert entry.changes == {"resultat": [None, kind], "statut_http": [None, status]}
    # Never the identity typed in the audit log.
    assert "1986" not in str(entry.changes) and "DURAND" not in str(entry.changes)


def test_the_validity_runs_to_the_end_of_the_school_year():
    assert services_api_particulier.validity(date(2026, 12, 6)) == (
        date(2026, 12, 1),
        date(2027, 8, 31),
    )
    assert services_api_particulier.validity(date(2027, 8, 31)) == (
        date(2027, 8, 1),
        date(2027, 8, 31),
    )
    assert services_api_particulier.validity(date(2027, 9, 1)) == (
        date(2027, 9, 1),
        date(2028, 8, 31),
    )


# --- The FranceConnect hook ---------------------------------------------------------------------


class _Certified:
    family_name = "DURAND"
    given_name = "Françoise Marie"
    birthdate = date(1986, 4, 9)
    gender = "female"
    birthplace = "78498"
    birthcountry = "99100"


def test_the_franceconnect_identity_is_the_one_asked_for():
    class Account:
        franceconnect = _Certified()

    identity = api_particulier.certified_identity(Account())
    assert identity == Identity(
        birth_name="DURAND",
        first_names=("Françoise", "Marie"),
        sex="F",
        birth_date=date(1986, 4, 9),
        birth_commune="78498",
    )
    assert api_particulier.identity_initial(identity)["born_in_france"] == "oui"


def test_an_account_without_franceconnect_has_no_certified_identity():
    assert api_particulier.certified_identity(object()) is None
