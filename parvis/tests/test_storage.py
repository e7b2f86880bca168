"""Files through Django's STORAGES, on local folders and on an S3 bucket alike (the `file_store`
fixture runs each test on both: parvis/testing/storage.py): the families' documents and the
requests' attachments kept private (no address, out of the public store, private objects),
uploaded, downloaded through Parvis's checks and deleted; the public media (logo, news image)
served by Parvis with DEBUG off; the settings that choose the backend; the static files hashed
and compressed for production."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings
from django.urls import reverse

from parvis.accounts.models import AgentRole
from parvis.communes.tests.factories import ActualiteFactory, CommuneFactory
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import agent_of, file_request
from parvis.families.models import Document, DocumentType
from parvis.families.tests.factories import (
    AgentFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)
from parvis.storage import PRIVATE, PUBLIC
from parvis.testing.files import pdf_bytes, png_bytes
from parvis.uploads import private_storage

pytestmark = pytest.mark.django_db

CITIZEN = "parvis.accounts.backends.CommuneBackend"
PDF = pdf_bytes()
PNG = png_bytes()
BASE_DIR = Path(__file__).resolve().parents[2]


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def assert_private_object(file_store, name: str) -> None:
    """On S3, the object grants nobody but its owner: no public read."""
    if file_store.kind != "s3":
        return
    from parvis.testing.storage import s3_client

    acl = s3_client(file_store.endpoint).get_object_acl(
        Bucket=file_store.bucket, Key=file_store.object_key(PRIVATE, name)
    )
    grantees = {grant["Grantee"].get("URI", grant["Grantee"].get("ID")) for grant in acl["Grants"]}
    assert not any("AllUsers" in str(g) or "AuthenticatedUsers" in str(g) for g in grantees)
    assert {grant["Permission"] for grant in acl["Grants"]} == {"FULL_CONTROL"}


# --- Families' documents -------------------------------------------------------------------------


def test_a_familys_document_is_uploaded_downloaded_and_deleted_privately(
    file_store, client, django_capture_on_commit_callbacks
):
    famille = FamilleFactory(name="DURAND")
    PersonneFactory(famille=famille)
    access = FamilyAccessFactory(famille=famille)
    commune = famille.commune
    client.force_login(access.user, backend=CITIZEN)

    response = client.post(
        reverse("families:document_ajouter", kwargs={"commune": commune.slug}),
        {
            "famille": famille.pk,
            "doc_type": DocumentType.AUTRE,
            "personne": "foyer",
            "label": "Attestation",
            "fichier": SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
            "document_date": "",
            "income_year": "",
        },
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert file_store.names(PRIVATE) == [document.file.name]
    assert file_store.names(PUBLIC) == []
    assert file_store.read(PRIVATE, document.file.name) == PDF
    assert_private_object(file_store, document.file.name)
    with pytest.raises(ValueError, match="n'ont pas d'adresse"):
        document.file.url  # noqa: B018

    # The family downloads it, streamed from the store.
    response = client.get(
        reverse(
            "families:document_telecharger", kwargs={"commune": commune.slug, "pk": document.pk}
        )
    )
    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"

    # An agent of the commune opens it at the guichet; another family cannot.
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    guichet = Client()
    guichet.force_login(agent)
    response = guichet.get(
        reverse(
            "backoffice:document_telecharger", kwargs={"commune": commune.slug, "pk": document.pk}
        )
    )
    assert response.status_code == 200 and body(response) == PDF
    stranger = Client()
    stranger.force_login(FamilyAccessFactory(famille__commune=commune).user, backend=CITIZEN)
    response = stranger.get(
        reverse(
            "families:document_telecharger", kwargs={"commune": commune.slug, "pk": document.pk}
        )
    )
    assert response.status_code == 404

    # Deleted: the row and, once committed, the stored file.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(
                "families:document_supprimer", kwargs={"commune": commune.slug, "pk": document.pk}
            )
        )
    assert response.status_code == 302
    assert not Document.objects.exists()
    assert file_store.names(PRIVATE) == []


def test_a_file_gone_from_the_store_is_a_404_not_a_500(file_store, client):
    famille = FamilleFactory()
    access = FamilyAccessFactory(famille=famille)
    from parvis.families.tests.factories import make_document

    document = make_document(famille=famille, doc_type="autre")
    storages[PRIVATE].delete(document.file.name)
    client.force_login(access.user, backend=CITIZEN)
    response = client.get(
        reverse(
            "families:document_telecharger",
            kwargs={"commune": famille.commune.slug, "pk": document.pk},
        )
    )
    assert response.status_code == 404


# --- Requests' attachments -----------------------------------------------------------------------


def test_a_requests_attachment_is_stored_privately_and_read_by_its_requester_and_the_agent(
    file_store, client
):
    citizen = FamilyAccessFactory().user
    commune = citizen.commune
    procedure = ProcedureFactory(commune=commune)
    demande, _code = file_request(
        procedure,
        user=citizen,
        answers={"objet": "Copie", "livraison": "mairie"},
        files={"piece": SimpleUploadedFile("id.png", PNG, content_type="image/png")},
    )
    attachment = demande.attachments.get()
    assert file_store.names(PRIVATE) == [attachment.file.name]
    assert file_store.names(PUBLIC) == []
    assert_private_object(file_store, attachment.file.name)
    kwargs = {"commune": commune.slug, "number": demande.number, "pk": attachment.pk}

    client.force_login(citizen, backend=CITIZEN)
    response = client.get(reverse("demarches:piece_jointe", kwargs=kwargs))
    assert response.status_code == 200 and body(response) == PNG
    assert response["Content-Disposition"].startswith("attachment;")

    agent = Client()
    agent.force_login(agent_of(commune))
    response = agent.get(reverse("backoffice:piece_jointe", kwargs=kwargs))
    assert response.status_code == 200 and body(response) == PNG

    other_commune_agent = Client()
    other_commune_agent.force_login(agent_of(CommuneFactory()))
    response = other_commune_agent.get(reverse("backoffice:piece_jointe", kwargs=kwargs))
    assert response.status_code in (302, 403, 404)


# --- Public media --------------------------------------------------------------------------------


@override_settings(DEBUG=False)
def test_a_communes_logo_and_a_news_image_are_served_with_debug_off(file_store, client):
    commune = CommuneFactory(slug="villebois")
    commune.logo.save("logo.png", ContentFile(PNG))
    news = ActualiteFactory(commune=commune, title="Fête de l'école")
    news.image.save("fete.png", ContentFile(PNG))
    assert sorted(file_store.names(PUBLIC)) == sorted([commune.logo.name, news.image.name])
    assert file_store.names(PRIVATE) == []

    home = client.get(reverse("portal:home", kwargs={"commune": commune.slug})).content.decode()
    logo_url = commune.logo.url
    assert logo_url.startswith("/media/") and f'src="{logo_url}"' in home
    for url in (logo_url, news.image.url):
        response = client.get(url)
        assert response.status_code == 200, url
        assert body(response) == PNG
        assert response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == "public, max-age=86400"
        assert response["X-Content-Type-Options"] == "nosniff"
        # A browser that has it already is told so, without the bytes.
        again = client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
        assert again.status_code == 304

    assert client.head(logo_url).status_code == 200
    assert client.post(logo_url).status_code == 405
    assert client.get("/media/communes/logos/absent.png").status_code == 404
    assert client.get("/media/communes/logos/a%00b.png").status_code == 404  # NUL: not a 500


def test_private_files_are_not_reachable_as_public_media(file_store, client):
    famille = FamilleFactory()
    from parvis.families.tests.factories import make_document

    document = make_document(famille=famille, doc_type="autre")
    name = document.file.name  # documents/AAAA/MM/….pdf
    for url in (
        f"/media/{name}",
        f"/media/../private/{name}",
        f"/media/%2e%2e/private/{name}",
        f"/media/..%2fprivate/{name}",
    ):
        response = client.get(url)
        assert response.status_code in (400, 404), url
        assert PDF not in (body(response) if response.streaming else response.content)


def test_the_private_store_has_no_address():
    with pytest.raises(ValueError, match="n'ont pas d'adresse"):
        private_storage().url("documents/2026/01/x.pdf")


# --- Settings -------------------------------------------------------------------------------------


def production_settings(monkeypatch, **environment) -> dict:
    """parvis/settings.py run afresh with these variables (the running settings untouched)."""
    monkeypatch.setenv("SECRET_KEY", "storage-tests-" + "k" * 50)
    monkeypatch.setenv("PARVIS_EMAIL_DISABLED", "1")
    for name in ("PARVIS_STORAGE", "AWS_STORAGE_BUCKET_NAME", "PARVIS_PUBLIC_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "parvis" / "settings.py"))


def test_local_storage_is_the_default(monkeypatch):
    storages_setting = production_settings(monkeypatch)["STORAGES"]
    assert storages_setting[PUBLIC]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert storages_setting[PRIVATE]["BACKEND"] == "parvis.storage.PrivateFileSystemStorage"
    assert (
        storages_setting["staticfiles"]["BACKEND"]
        == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


def test_s3_storage_takes_its_buckets_and_keys_from_the_environment(monkeypatch):
    storages_setting = production_settings(
        monkeypatch,
        PARVIS_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="parvis-prive",
        PARVIS_PUBLIC_BUCKET="parvis-public",
        AWS_S3_ENDPOINT_URL="https://s3.example.fr",
        AWS_S3_REGION_NAME="fr-par",
        AWS_ACCESS_KEY_ID="AKIA",
        AWS_SECRET_ACCESS_KEY="secret",
    )["STORAGES"]
    private, public = storages_setting[PRIVATE]["OPTIONS"], storages_setting[PUBLIC]["OPTIONS"]
    assert private["bucket_name"] == "parvis-prive" and public["bucket_name"] == "parvis-public"
    assert private["default_acl"] == "private" and public["default_acl"] == "private"
    assert private["endpoint_url"] == "https://s3.example.fr"
    assert private["region_name"] == "fr-par" and private["access_key"] == "AKIA"
    assert private["file_overwrite"] is False and public["file_overwrite"] is False
    # One bucket for both when no public one is named: prefixes keep them apart.
    one = production_settings(monkeypatch, PARVIS_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="parvis")[
        "STORAGES"
    ]
    assert one[PUBLIC]["OPTIONS"]["bucket_name"] == "parvis"
    assert one[PUBLIC]["OPTIONS"]["location"] != one[PRIVATE]["OPTIONS"]["location"]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"PARVIS_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME est vide"),
        ({"PARVIS_STORAGE": "ftp"}, "« local » ou « s3 »"),
    ],
)
def test_a_wrong_storage_setting_stops_start_up(monkeypatch, environment, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        production_settings(monkeypatch, **environment)


# --- Static files ---------------------------------------------------------------------------------


def test_static_files_are_hashed_and_compressed_for_production(tmp_path):
    """collectstatic with production's storage over Parvis's own files: every url() of the
    stylesheet resolves (a missing one stops collectstatic), names carry their hash, .gz and .br
    copies exist, and WhiteNoise serves them with DEBUG off, cached for ever."""
    root = tmp_path / "static"
    with override_settings(
        STATIC_ROOT=root,
        STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
        STORAGES={
            PUBLIC: {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
        DEBUG=False,
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        url = static("parvis/parvis.css")
        assert url != "/static/parvis/parvis.css" and url.endswith(".css")
        hashed = root / url.removeprefix("/static/")
        assert hashed.exists()
        assert hashed.with_name(hashed.name + ".gz").exists()
        response = Client().get(url)
        assert response.status_code == 200
        assert "immutable" in response["Cache-Control"]
        # The favicon's redirect reads the manifest when asked, not when the URLs load.
        favicon = Client().get("/favicon.ico")
        assert favicon.status_code == 301
        assert favicon["Location"] == static("parvis/favicon.svg") != "/static/parvis/favicon.svg"
    assert (root / "staticfiles.json").exists()
