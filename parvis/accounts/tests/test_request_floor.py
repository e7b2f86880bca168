"""The floor of a family's request (issue 23): the session read with SQL written once, the
account read with its commune in one statement and the commune of the URL taken from it, the
frame's addresses worked out once per process. Nothing of it is kept between requests but SQL
text and addresses: sessions stay revocable, communes stay apart, a change is seen at once."""

from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import User
from parvis.communes.links import _urls
from parvis.communes.models import Commune
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import (
    PASSWORD,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db

CITIZENS = "parvis.accounts.backends.CommuneBackend"
# The summary « Valider » leaves for the confirmation (parvis.activities.views_foyer).
SUMMARY_KEY = "activities_foyer_summary"


@pytest.fixture
def commune():
    return CommuneFactory(slug="floor", name="Plancher-les-Mines")


@pytest.fixture
def family(commune):
    user = CitizenFactory(commune=commune, first_name="Aline")
    famille = FamilleFactory(commune=commune, name="DUPLANCHER")
    ChildFactory.create_batch(2, famille=famille)
    FamilyAccessFactory(famille=famille, user=user)
    return user


def logged_in(user) -> Client:
    """Logged in as a family is, through the login page."""
    client = Client()
    response = client.post(
        reverse("accounts:connexion", kwargs={"commune": user.commune.slug}),
        {"username": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


def test_mon_espace_reads_the_session_the_account_with_its_commune_and_the_families(
    family, django_assert_max_num_queries
):
    client = logged_in(family)
    # session, account with its commune, accesses with families, members (5 before issue 23's
    # floor work: the commune was read again by its slug)
    with django_assert_max_num_queries(4) as queries:
        response = client.get(reverse("accounts:accueil", kwargs={"commune": "floor"}))
    assert response.status_code == 200
    assert "Famille DUPLANCHER" in response.content.decode()
    statements = [query["sql"] for query in queries.captured_queries]
    assert not any(s.lstrip().startswith('SELECT "communes_commune"') for s in statements)
    assert response.wsgi_request.commune is response.wsgi_request.user.commune


def test_the_confirmation_reads_the_session_and_the_account_only(
    family, django_assert_max_num_queries
):
    client = logged_in(family)
    session = client.session
    session[SUMMARY_KEY] = {"user": family.pk, "groups": [], "vue": "mois", "debut": "2027-01-01"}
    session.save()
    url = reverse("activities:foyer_confirmation", kwargs={"commune": "floor"})
    with django_assert_max_num_queries(2):  # 3 before: the commune by its slug
        response = client.get(url)
    assert response.status_code == 200
    assert "Plancher-les-Mines" in response.content.decode()


def test_an_account_of_another_commune_gets_the_commune_of_the_url(family):
    CommuneFactory(slug="voisine", name="Voisine-sur-Mer")
    client = logged_in(family)
    response = client.get(reverse("portal:home", kwargs={"commune": "voisine"}))
    assert response.wsgi_request.commune.slug == "voisine"
    assert "Voisine-sur-Mer" in response.content.decode()
    assert "Plancher-les-Mines" not in response.content.decode()
    # and its personal space here is not this account's: it is asked to log in
    response = client.get(reverse("accounts:accueil", kwargs={"commune": "voisine"}))
    assert response.status_code == 302
    assert response["Location"].startswith("/voisine/connexion/")


def test_a_change_of_the_commune_is_seen_at_the_next_request(family, commune):
    client = logged_in(family)
    url = reverse("accounts:accueil", kwargs={"commune": "floor"})
    assert "Plancher-les-Mines" in client.get(url).content.decode()
    Commune.objects.filter(pk=commune.pk).update(name="Plancher-les-Bains")
    assert "Plancher-les-Bains" in client.get(url).content.decode()
    Commune.objects.filter(pk=commune.pk).update(is_active=False)
    assert client.get(url).status_code == 404


def test_a_deactivated_account_is_logged_out_at_its_next_request(family):
    client = logged_in(family)
    url = reverse("accounts:accueil", kwargs={"commune": "floor"})
    assert client.get(url).status_code == 200
    User.objects.filter(pk=family.pk).update(is_active=False)
    response = client.get(url)
    assert response.status_code == 302 and "/floor/connexion/" in response["Location"]


def test_sessions_stay_in_the_database_and_revocable(family):
    client = logged_in(family)
    url = reverse("accounts:accueil", kwargs={"commune": "floor"})
    key = client.cookies["sessionid"].value
    stored = Session.objects.get(session_key=key)
    assert stored.get_decoded()[SESSION_KEY] == str(family.pk)
    # Deleted on the server (a logout elsewhere, a purge): over at once, whatever the cookie.
    stored.delete()
    assert client.get(url).status_code == 302
    # Expired: over too.
    client = logged_in(family)
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())
    assert client.get(url).status_code == 302
    # A password change elsewhere ends the other sessions (the session's hash no longer matches).
    client = logged_in(family)
    assert client.get(url).status_code == 200
    family.set_password("un tout autre mot de passe")
    family.save()
    assert client.get(url).status_code == 302


def test_a_session_key_that_does_not_exist_is_replaced_not_reused(family):
    client = Client()
    client.cookies["sessionid"] = "x" * 32
    response = client.get(reverse("accounts:connexion", kwargs={"commune": "floor"}))
    assert response.status_code == 200
    assert not Session.objects.filter(session_key="x" * 32).exists()


def test_the_frames_addresses_are_worked_out_once_per_process(family, commune):
    client = logged_in(family)
    _urls.cache_clear()
    url = reverse("accounts:accueil", kwargs={"commune": "floor"})
    text = client.get(url).content.decode()
    for name in ("portal:mentions_legales", "portal:plan_du_site", "accounts:deconnexion",
                 "portal:home", "portal:accessibilite", "portal:contacts"):  # fmt: skip
        assert f'"{reverse(name, kwargs={"commune": "floor"})}' in text
    assert f'href="{reverse("portal:theme_css", kwargs={"commune": "floor"})}?v=' in text
    misses = _urls.cache_info().misses
    assert misses >= 1
    client.get(url)
    assert _urls.cache_info().misses == misses  # the second page reversed nothing
    CommuneFactory(slug="autre")
    client.get(reverse("portal:home", kwargs={"commune": "autre"}))
    assert _urls.cache_info().misses > misses  # another commune: its own addresses


def test_the_frame_names_the_account_by_its_full_name_else_its_greeting(family, commune):
    """The greeting is worked out only for an account without a name (`default` resolved it
    on every page)."""
    client = logged_in(family)
    home = reverse("portal:actualites", kwargs={"commune": commune.slug})  # no greeting of its own
    with mock.patch.object(
        User, "greeting_name", new_callable=mock.PropertyMock, side_effect=AssertionError
    ):
        html = client.get(home).content.decode()
    assert f'<span class="account-area__name">Aline {family.last_name}</span>' in html
    # Without a name: « Madame », the greeting's civility.
    User.objects.filter(pk=family.pk).update(first_name="", last_name="")
    html = client.get(home).content.decode()
    assert '<span class="account-area__name">Madame</span>' in html
