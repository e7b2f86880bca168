"""Walk every URL of the "inscriptions" namespace (« Créer une inscription », the administrative
file) as an anonymous visitor, as a citizen of another commune, and as a citizen of this commune
with another family's or another commune's objects: the login page or a 404, never their data,
and nothing written. New patterns are walked as soon as they are added; one whose parameters
this walk cannot fill fails it."""

from html import escape

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from parvis.demarches.models import Demande, Status
from parvis.demarches.tests.test_dossier_pages import dossier_world, file_dossier, fill_everything
from parvis.families.models import Document
from parvis.families.tests.factories import pdf_upload

pytestmark = pytest.mark.django_db

NAMESPACE = "inscriptions"
# The pages about one family's file, chosen by ?famille=<number> (the account's first otherwise).
FAMILY_PAGES = {"dossier_administratif", "dossier_valider"}
PREFIX = "mon-espace/inscriptions/"


def patterns() -> list[URLPattern]:
    found = []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == NAMESPACE:
            found.extend(p for p in entry.url_patterns if isinstance(p, URLPattern))
    assert {p.name for p in found} >= {"index", "dossier_administratif", "dossier_valider"}
    return found


def fill(pattern: URLPattern, demande) -> str:
    route = str(pattern.pattern).replace("<str:number>", demande.number)
    assert "<" not in route, f"the walk cannot fill {pattern.pattern}: teach it"
    return route


def secret_world(commune=None):
    """A family with every document (labelled SECRET) and its filed request."""
    w = dossier_world(**({"commune": commune} if commune else {}))
    fill_everything(w, status="depose")
    Document.objects.filter(famille=w.famille).update(label=f"SECRET {w.famille.name}")
    w.demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)
    return w


def post_data(w) -> dict:
    key = f"{w.avis.pk}-0"
    return {"slot": key, f"doc-{key}-fichier": pdf_upload(), f"doc-{key}-income_year": w.year - 1}


def assert_nothing_of(response, w, url):
    # The page repeats its own address (the language form's « next »): not a leak.
    body = response.content.decode().replace(escape(url), "")
    assert f"SECRET {w.famille.name}" not in body, url
    assert w.famille.name not in body, url
    assert w.demande.number not in body, url


def assert_nothing_written(*worlds):
    for w in worlds:
        assert Document.objects.filter(famille=w.famille).count() == 2 + len(w.children)
        assert list(Demande.objects.filter(famille=w.famille)) == [w.demande]
        w.demande.refresh_from_db()
        assert w.demande.status == Status.EN_ATTENTE


def test_an_anonymous_visitor_is_sent_to_the_login_of_the_commune(client):
    a = secret_world()
    slug = a.commune.slug
    for pattern in patterns():
        url = f"/{slug}/{PREFIX}{fill(pattern, a.demande)}?annee={a.year}"
        for response in (client.get(url), client.post(url, post_data(a))):
            assert response.status_code in {302, 405}, url
            if response.status_code == 302:
                assert response["Location"].startswith(f"/{slug}/connexion/?next="), url
            assert_nothing_of(response, a, url)
    assert_nothing_written(a)


def test_a_citizen_of_another_commune_gets_nothing(client):
    a, b = secret_world(), secret_world()
    client.force_login(b.user, backend="parvis.accounts.backends.CommuneBackend")
    for pattern in patterns():
        url = f"/{a.commune.slug}/{PREFIX}{fill(pattern, a.demande)}?annee={a.year}"
        for response in (client.get(url), client.post(url, post_data(a))):
            assert response.status_code in {302, 405}, url
            if response.status_code == 302:
                assert response["Location"].startswith(f"/{a.commune.slug}/connexion/"), url
            assert_nothing_of(response, a, url)
    assert_nothing_written(a, b)


def test_a_citizen_reaches_only_their_own_familys_objects(client):
    a = secret_world()
    neighbour = secret_world(commune=a.commune)  # another family of the same commune
    b = secret_world()  # another commune (its request has the same number as a's)
    assert b.demande.number == a.demande.number
    client.force_login(a.user, backend="parvis.accounts.backends.CommuneBackend")
    slug = a.commune.slug
    for pattern in patterns():
        own = f"/{slug}/{PREFIX}{fill(pattern, a.demande)}"
        if pattern.name != "dossier_valider":
            assert client.get(f"{own}?annee={a.year}").status_code == 200, own  # reached
        for other in (neighbour, b):
            path = f"/{slug}/{PREFIX}{fill(pattern, other.demande)}"
            url = f"{path}?annee={a.year}&famille={other.famille.number}"
            # The index names no object, and b's request number is also a's own request here:
            # those pages show the account's own, nothing of the other family.
            shows_own = path == own and pattern.name not in FAMILY_PAGES
            for response in (client.get(url), client.post(url, post_data(other))):
                assert response.status_code in ({200, 405} if shows_own else {404, 405}), url
                body = response.content.decode().replace(escape(url), "")
                assert f"SECRET {other.famille.name}" not in body, url
                assert other.famille.name not in body, url
                if not shows_own:
                    assert other.demande.number not in body, url
    # Another commune's school year that this commune has not set: 404 too.
    stray = f"/{slug}/{PREFIX}dossier-administratif/?annee={a.year + 3}"
    assert client.get(stray).status_code == 404
    assert_nothing_written(a, neighbour, b)
