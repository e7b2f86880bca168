"""Issue 20 §2, the pages: « Récupérer mon quotient familial CAF ou MSA » from « Mon compte »,
the QF shown to the family and to the agent with its source and date, the admin's token never
shown back; against the local API Particulier server."""

import re
from datetime import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities.rules import PARIS
from parvis.communes.models import ApiParticulierConfig, Commune
from parvis.communes.tests.factories import CommuneAdminFactory
from parvis.families import demo as families_demo
from parvis.families import demo_api_particulier
from parvis.families.api_particulier_local import DEMO_TOKEN
from parvis.families.models import Famille, QfSource
from parvis.families.tests.factories import FamilleFactory, FamilyAccessFactory

User = get_user_model()
CSP = "carrieres-sous-poissy"
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=PARIS)
BACKEND = "parvis.accounts.backends.CommuneBackend"
PAGE = f"/{CSP}/mon-espace/quotient-familial/caf-msa/"
MES_INFOS = f"/{CSP}/mon-espace/mes-informations/"

GOOD = {
    "birth_name": "DURAND",
    "usage_name": "",
    "first_names": "Françoise",
    "sex": "F",
    "birth_date": "1986-04-09",
    "born_in_france": "oui",
    "birth_commune": "78498",
    "birth_country": "",
    "consent": "on",
}

pytestmark = pytest.mark.usefixtures("api_server")


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


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
def client_francoise(client, demo):
    user = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    client.force_login(user, backend=BACKEND)
    return client


def test_mon_compte_offers_the_fetch_where_the_commune_has_a_token(client_francoise, demo):
    response = client_francoise.get(MES_INFOS)
    assert f'href="{PAGE}"' in response.content.decode()
    assert "Récupérer mon quotient familial CAF ou MSA" in text_of(response)
    ApiParticulierConfig.objects.update(enabled=False)
    response = client_francoise.get(MES_INFOS)
    assert PAGE not in response.content.decode()
    assert client_francoise.get(PAGE).status_code == 404


def test_the_page_is_prefilled_from_the_household_file(client_francoise, durand):
    response = client_francoise.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="DURAND"' in html
    assert 'value="Françoise"' in html
    assert 'value="1986-04-09"' in html
    assert re.search(r'<input[^>]*value="F"[^>]*checked', html)
    assert "Foyer DURAND" in text_of(response)
    # The tax-notice path is always offered.
    assert "à partir de votre avis d'imposition" in text_of(response)


def test_without_consent_the_form_says_so_and_nothing_is_asked(
    client_francoise, durand, api_server
):
    response = client_francoise.post(PAGE, {**GOOD, "consent": ""})
    assert response.status_code == 200
    text = text_of(response)
    assert "Cochez la case pour autoriser la demande" in text
    assert api_server.requests == []
    assert not durand.quotients.filter(source=QfSource.API_PARTICULIER).exists()


def test_a_birth_place_is_required(client_francoise, durand, api_server):
    response = client_francoise.post(PAGE, {**GOOD, "birth_commune": ""})
    assert "Indiquez le code de 5 caractères de votre commune de naissance." in text_of(response)
    response = client_francoise.post(
        PAGE, {**GOOD, "born_in_france": "non", "birth_country": "99100"}
    )
    assert "Indiquez le code de votre pays de naissance" in text_of(response)
    assert api_server.requests == []


def test_the_family_fetches_its_qf_and_sees_it_with_its_source_and_date(
    client_francoise, durand, api_server, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        response = client_francoise.post(PAGE, GOOD)
    assert response.status_code == 302
    assert response["Location"] == f"{MES_INFOS}#quotient-familial"
    quotient = durand.quotients.get(source=QfSource.API_PARTICULIER)
    assert str(quotient.value) == "612.00"
    page = client_francoise.get(MES_INFOS)
    text = text_of(page)
    assert "Votre quotient familial de 612,00 € (CAF, décembre 2026) est enregistré" in text
    assert "612,00 €" in text
    assert "API Particulier (CAF ou MSA)" in text
    assert "Mois du quotient décembre 2026 (CAF)" in text
    assert "Récupéré le 06/12/2026 10:00" in text
    assert "Allocataire : FRANCOISE DURAND" in text
    assert "Enfant : LEA DURAND, né ou née le 14/03/2022" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"birth_name": "INCONNU"}, "ne trouvent pas de dossier d'allocataire à cette identité"),
        ({"birth_name": "INDISPONIBLE"}, "ne répond pas pour le moment"),
        ("token", "La commune ne peut pas interroger la CAF et la MSA pour le moment"),
    ],
)
def test_a_failure_is_said_in_french_and_the_tax_notice_path_stays(
    client_francoise, durand, change, message
):
    if change == "token":
        ApiParticulierConfig.objects.update(token="jeton-expire")
        change = {}
    response = client_francoise.post(PAGE, {**GOOD, **change})
    assert response.status_code == 200
    text = text_of(response)
    assert "Votre quotient familial n'a pas pu être récupéré" in text
    assert message in text
    assert "à partir de votre avis d'imposition" in text
    assert 'role="alert"' in response.content.decode()
    assert not durand.quotients.filter(source=QfSource.API_PARTICULIER).exists()
    assert AuditEntry.objects.filter(action="quotient.api_particulier").count() == 1


def test_another_familys_id_is_never_used(client_francoise, durand):
    other = FamilleFactory(commune=durand.commune, name="AUTRE", number=9999)
    response = client_francoise.post(f"{PAGE}?foyer={other.pk}", {**GOOD, "foyer": other.pk})
    assert response.status_code == 302
    assert durand.quotients.filter(source=QfSource.API_PARTICULIER).exists()
    assert not other.quotients.exists()


def test_a_visitor_is_sent_to_the_login(client, demo):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/connexion/" in response["Location"]


def test_the_agent_sees_the_source_the_month_and_the_date(client, client_francoise, durand):
    client_francoise.post(PAGE, GOOD)
    client.logout()
    agent = User.objects.get(username="csp-enfance")
    client.force_login(agent)
    url = reverse("backoffice:famille", args=[CSP, durand.number])
    text = text_of(client.get(url))
    assert "API Particulier (CAF ou MSA)" in text
    assert "CNAF, quotient de décembre 2026, récupéré le 06/12/2026 10:00" in text
    assert "2 allocataires" in text and "2 enfants" in text


# --- The admin: the token is a secret ------------------------------------------------------------


def test_the_token_is_never_shown_back(client, demo):
    commune = Commune.objects.get(slug=CSP)
    admin = CommuneAdminFactory(commune=commune)
    client.force_login(admin)
    config = ApiParticulierConfig.objects.get(commune=commune)
    url = reverse("admin:communes_apiparticulierconfig_change", args=[config.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert DEMO_TOKEN not in html
    assert "••••••••2026" in html
    # Left empty, the token stays; typed, it changes.
    response = client.post(url, {"enabled": "on", "token": "", "recipient": ""})
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.token == DEMO_TOKEN
    client.post(url, {"enabled": "on", "token": "nouveau-jeton-abcd", "recipient": ""})
    config.refresh_from_db()
    assert config.token == "nouveau-jeton-abcd"
    assert "nouveau-jeton-abcd" not in client.get(url).content.decode()


def test_the_service_cannot_be_on_without_a_token(client, demo):
    commune = Commune.objects.get(slug="carrieres-sur-seine")
    admin = CommuneAdminFactory(commune=commune)
    client.force_login(admin)
    response = client.post(
        reverse("admin:communes_apiparticulierconfig_add"),
        {"enabled": "on", "token": "", "recipient": ""},
    )
    assert response.status_code == 200
    assert "Saisissez le jeton pour proposer le service aux familles." in text_of(response)
    assert not ApiParticulierConfig.objects.filter(commune=commune).exists()


def test_an_administrator_sees_only_the_config_of_their_commune(client, demo):
    other = Commune.objects.get(slug="carrieres-sur-seine")
    admin = CommuneAdminFactory(commune=other)
    client.force_login(admin)
    config = ApiParticulierConfig.objects.get(commune__slug=CSP)
    url = reverse("admin:communes_apiparticulierconfig_change", args=[config.pk])
    assert client.get(url).status_code in (302, 404)
    listing = client.get(reverse("admin:communes_apiparticulierconfig_changelist"))
    assert listing.status_code == 200
    assert "Carrières-sous-Poissy" not in text_of(listing)


def test_the_administrative_file_offers_the_fetch_beside_the_tax_notice(client_francoise, demo):
    from parvis.demarches import demo as demarches_demo
    from parvis.families import demo_documents

    demarches_demo.load()
    demo_documents.load()
    url = reverse("inscriptions:dossier_administratif", kwargs={"commune": CSP})
    response = client_francoise.get(url)
    assert response.status_code == 200
    assert f'href="{PAGE}"' in response.content.decode()
    assert "plutôt que de le faire calculer à partir de l'avis d'imposition" in text_of(response)
    ApiParticulierConfig.objects.update(enabled=False)
    assert PAGE not in client_francoise.get(url).content.decode()
    # And the page of the fetch leads back to the administrative file (the tax-notice path).
    ApiParticulierConfig.objects.update(enabled=True)
    assert f'href="{url}"' in client_francoise.get(PAGE).content.decode()


def test_the_agents_qf_page_says_the_caf_qf_replaces_the_tax_notice(
    client, client_francoise, durand
):
    client_francoise.post(PAGE, GOOD)
    client.logout()
    client.force_login(User.objects.get(username="csp-enfance"))
    url = reverse("backoffice:qf_calculer", args=[CSP, durand.number])
    text = text_of(client.get(url))
    assert "QF actuel : 612,00 €, valable du 01/12/2026 au 31/08/2027" in text
    assert "(API Particulier (CAF ou MSA))" in text
    assert "il remplace le calcul à partir de l'avis d'imposition" in text


def test_an_account_of_two_households_chooses_which_one(client_francoise, durand):
    user = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    second = FamilleFactory(commune=durand.commune, name="DURAND-BIS", number=9998)
    FamilyAccessFactory(famille=second, user=user)
    page = client_francoise.get(f"{PAGE}?foyer={second.pk}")
    html = page.content.decode()
    assert f'href="?foyer={durand.pk}"' in html and f'href="?foyer={second.pk}"' in html
    assert f'name="foyer" value="{second.pk}"' in html
    assert "Foyer DURAND-BIS (dossier" in text_of(page)
    assert client_francoise.post(PAGE, {**GOOD, "foyer": second.pk}).status_code == 302
    assert second.quotients.filter(source=QfSource.API_PARTICULIER).exists()
    assert not durand.quotients.filter(source=QfSource.API_PARTICULIER).exists()
