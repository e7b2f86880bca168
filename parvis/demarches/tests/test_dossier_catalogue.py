"""The administrative file (« Dossier administratif », procedure `dossier-administratif`) is filled
in « Créer une inscription » › « Dossier administratif », not through the wizard: the catalogue
(« Nouvelle démarche ») links its entry there, or hides it while that page does not exist; its
procedure page, steps and summary lead there on GET and create nothing on POST. Each test fails
without the behaviour it names.

The page belongs to the inscriptions (URL name "inscriptions:dossier_administratif"): the tests
run with a URL configuration that has a stand-in for it, or none at all."""

import sys
import types

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import URLResolver, include, path, reverse

import parvis.urls
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.models import Audience, Demande
from parvis.demarches.services_dossier import DOSSIER_SLUG
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import log_in, text_of
from parvis.families.tests.factories import FamilyAccessFactory

pytestmark = pytest.mark.django_db

WITH_PAGE = "parvis_test_urls_with_dossier"
WITHOUT_PAGE = "parvis_test_urls_without_dossier"
DOSSIER_PAGE = "/carrieres-sous-poissy/mon-espace/inscriptions/dossier-administratif/"


def stand_in(request, commune):
    return HttpResponse("Dossier administratif (stand-in)")


def _urlconf(name: str, *, with_page: bool) -> types.ModuleType:
    """The project's URLs without its inscriptions, plus a stand-in page when asked."""
    others = [
        pattern
        for pattern in parvis.urls.urlpatterns
        if not (isinstance(pattern, URLResolver) and pattern.namespace == "inscriptions")
    ]
    inscriptions = [path("dossier-administratif/", stand_in, name="dossier_administratif")]
    module = types.ModuleType(name)
    module.urlpatterns = (
        [
            path(
                "<slug:commune>/mon-espace/inscriptions/",
                include((inscriptions, "inscriptions")),
            ),
            *others,
        ]
        if with_page
        else others
    )
    module.handler404 = parvis.urls.handler404
    return module


@pytest.fixture
def with_page(monkeypatch):
    monkeypatch.setitem(sys.modules, WITH_PAGE, _urlconf(WITH_PAGE, with_page=True))
    with override_settings(ROOT_URLCONF=WITH_PAGE):
        yield


@pytest.fixture
def without_page(monkeypatch):
    monkeypatch.setitem(sys.modules, WITHOUT_PAGE, _urlconf(WITHOUT_PAGE, with_page=False))
    with override_settings(ROOT_URLCONF=WITHOUT_PAGE):
        yield


@pytest.fixture
def commune():
    return CommuneFactory(slug="carrieres-sous-poissy")


@pytest.fixture
def dossier(commune):
    return ProcedureFactory(
        commune=commune,
        slug=DOSSIER_SLUG,
        title="Dossier administratif",
        category="Mon compte",
        keywords="avis d'imposition justificatif domicile",
        audience=Audience.FAMILY,
    )


@pytest.fixture
def other(commune):
    return ProcedureFactory(commune=commune, slug="acte-de-naissance", title="Acte de naissance")


@pytest.fixture
def parent(commune):
    return FamilyAccessFactory(famille__commune=commune).user


def catalogue_url(commune) -> str:
    return reverse("demarches:catalogue", kwargs={"commune": commune.slug})


def wizard_urls(commune) -> list[str]:
    kwargs = {"commune": commune.slug, "slug": DOSSIER_SLUG}
    return [
        reverse("demarches:demarche", kwargs=kwargs),
        reverse("demarches:etape", kwargs={**kwargs, "pk": 1, "step": 1}),
        reverse("demarches:recapitulatif", kwargs={**kwargs, "pk": 1}),
    ]


def test_the_catalogue_links_the_file_to_its_own_page(
    client, with_page, commune, dossier, other, parent
):
    log_in(client, parent)
    html = client.get(catalogue_url(commune)).content.decode()
    assert f'<a href="{DOSSIER_PAGE}">Dossier administratif</a>' in html
    assert f"/demarches/{DOSSIER_SLUG}/" not in html
    assert f'href="/carrieres-sous-poissy/demarches/{other.slug}/"' in html
    # Found by its keywords too.
    searched = client.get(catalogue_url(commune), {"q": "avis d'imposition"})
    assert f'<a href="{DOSSIER_PAGE}">Dossier administratif</a>' in searched.content.decode()


def test_an_anonymous_visitor_is_led_to_log_in_then_to_the_files_page(
    client, with_page, commune, dossier
):
    html = client.get(catalogue_url(commune)).content.decode()
    assert "next=%2Fcarrieres-sous-poissy%2Fmon-espace%2Finscriptions%2Fdossier-administratif" in (
        html
    )
    assert f"/demarches/{DOSSIER_SLUG}/" not in html


def test_the_catalogue_hides_the_file_while_its_page_does_not_exist(
    client, without_page, commune, dossier, other, parent
):
    log_in(client, parent)
    response = client.get(catalogue_url(commune))
    assert "Dossier administratif" not in text_of(response)
    assert other.title in text_of(response)
    searched = client.get(catalogue_url(commune), {"q": "avis d'imposition"})
    assert "Dossier administratif" not in text_of(searched)


def test_the_files_procedure_page_steps_and_summary_lead_to_its_page(
    client, with_page, commune, dossier, parent
):
    log_in(client, parent)
    for url in wizard_urls(commune):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == DOSSIER_PAGE, url


def test_posting_to_the_files_wizard_creates_nothing(client, with_page, commune, dossier, parent):
    log_in(client, parent)
    for url in wizard_urls(commune):
        response = client.post(url, {"annee_scolaire": "2026-2027", "documents": "Avis"})
        assert response.status_code == 302, url
        assert response["Location"] == DOSSIER_PAGE, url
    assert not Demande.objects.filter(procedure=dossier).exists()


def test_without_its_page_the_files_wizard_is_not_found(
    client, without_page, commune, dossier, parent
):
    log_in(client, parent)
    for url in wizard_urls(commune):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert not Demande.objects.filter(procedure=dossier).exists()


def test_other_procedures_keep_their_wizard(client, with_page, commune, other):
    page = reverse("demarches:demarche", kwargs={"commune": commune.slug, "slug": other.slug})
    assert client.get(page).status_code == 200
    response = client.post(page)
    assert response.status_code == 302
    assert "/etape-1/" in response["Location"]
    assert Demande.objects.filter(procedure=other).count() == 1
