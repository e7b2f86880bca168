"""The one guard of a procedure's pages (`procedure_view`): its page's « Commencer », the
wizard's steps and the summary answer alike, in the same order, before any draft is looked up;
and the `<demarche:…>` converter keeps the follow-up pages' addresses from being taken for a
procedure's. Each test fails without the behaviour it names."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import urls as demarches_urls
from parvis.demarches.converters import ProcedureSlugConverter
from parvis.demarches.models import Audience, Demande
from parvis.demarches.services_dossier import DOSSIER_SLUG
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

NO_DRAFT = 999_999  # the guard answers before the draft is looked up


@pytest.fixture
def commune():
    return CommuneFactory()


def page(procedure_or_slug, commune, name: str) -> str:
    slug = getattr(procedure_or_slug, "slug", procedure_or_slug)
    kwargs = {"commune": commune.slug, "slug": slug}
    if name == "etape":
        kwargs.update(pk=NO_DRAFT, step=1)
    elif name == "recapitulatif":
        kwargs.update(pk=NO_DRAFT)
    return reverse(f"demarches:{name}", kwargs=kwargs)


# (page, method): « Commencer » is the POST of the procedure's page.
GUARDED = [("demarche", "post"), ("etape", "get"), ("recapitulatif", "get")]


def send(client, url: str, method: str):
    return client.post(url) if method == "post" else client.get(url)


@pytest.mark.parametrize(("name", "method"), [*GUARDED, ("demarche", "get")])
def test_a_procedure_the_commune_does_not_offer_is_not_found_on_any_of_its_pages(
    client, commune, name, method
):
    procedure = ProcedureFactory(commune=commune, is_enabled=False)
    assert send(client, page(procedure, commune, name), method).status_code == 404
    other = ProcedureFactory()  # another commune's
    assert send(client, page(other, commune, name), method).status_code == 404


@pytest.mark.parametrize(("name", "method"), [*GUARDED, ("demarche", "get")])
def test_a_procedure_with_a_page_of_its_own_leads_there_from_each_of_its_pages(
    client, commune, name, method
):
    ProcedureFactory(commune=commune, slug=DOSSIER_SLUG, audience=Audience.FAMILY)
    response = send(client, page(DOSSIER_SLUG, commune, name), method)
    assert response.status_code == 302
    assert response.url == reverse(
        "inscriptions:dossier_administratif", kwargs={"commune": commune.slug}
    )
    assert not Demande.objects.exists()


@pytest.mark.parametrize(("name", "method"), GUARDED)
def test_without_an_account_a_procedure_for_accounts_sends_to_the_login_page(
    client, commune, name, method
):
    procedure = ProcedureFactory(commune=commune, audience=Audience.ACCOUNT)
    url = page(procedure, commune, name)
    response = send(client, url, method)
    assert response.status_code == 302
    login, query = urlsplit(response.url)[2], parse_qs(urlsplit(response.url).query)
    assert login == reverse("accounts:connexion", kwargs={"commune": commune.slug})
    # Back to the page asked (a GET), or to the procedure's page after a POST.
    expected = page(procedure, commune, "demarche") if method == "post" else url
    assert query["next"] == [expected]
    assert not Demande.objects.exists()


def test_the_procedures_own_page_is_open_to_anyone_and_says_to_log_in(client, commune):
    procedure = ProcedureFactory(commune=commune, audience=Audience.ACCOUNT)
    response = client.get(page(procedure, commune, "demarche"))
    assert response.status_code == 200
    assert response.context["needs_login"] is True


@pytest.mark.parametrize(("name", "method"), GUARDED)
def test_an_account_that_must_choose_its_password_goes_to_the_first_login(
    client, commune, name, method
):
    procedure = ProcedureFactory(commune=commune, audience=Audience.ACCOUNT)
    client.force_login(CitizenFactory(commune=commune, must_choose_password=True))
    response = send(client, page(procedure, commune, name), method)
    assert response.status_code == 302
    assert response.url == reverse("accounts:premiere_connexion", kwargs={"commune": commune.slug})


@pytest.mark.parametrize(("name", "method"), GUARDED)
def test_an_account_that_may_not_file_goes_to_the_procedures_page(client, commune, name, method):
    procedure = ProcedureFactory(commune=commune, audience=Audience.FAMILY)
    client.force_login(CitizenFactory(commune=commune))  # linked to no family
    response = send(client, page(procedure, commune, name), method)
    assert response.status_code == 302
    assert response.url == page(procedure, commune, "demarche")
    assert not Demande.objects.exists()


@pytest.mark.parametrize(("name", "method"), GUARDED)
def test_past_the_guard_someone_elses_or_no_draft_is_not_found(client, commune, name, method):
    procedure = ProcedureFactory(commune=commune, audience=Audience.ANYONE)
    response = send(client, page(procedure, commune, name), method)
    if name == "demarche":  # « Commencer »: a new draft, its first step
        assert response.status_code == 302
        assert Demande.objects.get().procedure == procedure
    else:
        assert response.status_code == 404


def test_every_fixed_segment_of_the_demarches_pages_is_refused_as_a_procedures_slug():
    fixed = set()
    for pattern in demarches_urls.urlpatterns:
        first = str(pattern.pattern).split("/", 1)[0]
        if first and "<" not in first:
            fixed.add(first)
    assert fixed  # « mes-demandes », « suivi »
    assert fixed <= ProcedureSlugConverter.reserved
    converter = ProcedureSlugConverter()
    for segment in ProcedureSlugConverter.reserved:
        with pytest.raises(ValueError):
            converter.to_python(segment)
    assert converter.to_python("suivie") == "suivie"
