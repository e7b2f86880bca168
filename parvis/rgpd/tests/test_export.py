"""« Télécharger mes données »: the archive asked from the page, built by the task, announced by
e-mail, downloadable by its account only while it lasts, holding every kind of data."""

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from parvis.accounts.models import User
from parvis.background.models import OutgoingEmail
from parvis.billing.models import Invoice
from parvis.families import demo as families_demo
from parvis.families.models import Document
from parvis.rgpd import services
from parvis.rgpd.models import DataExport, ExportStatus

CSP = "carrieres-sous-poissy"
BACKEND = "parvis.accounts.backends.CommuneBackend"


def url(name, **kwargs):
    return reverse(f"accounts:{name}", kwargs={"commune": CSP, **kwargs})


@pytest.fixture
def francoise(full_demo):
    return User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)


@pytest.fixture
def client_francoise(client, francoise):
    client.force_login(francoise, backend=BACKEND)
    return client


def archive_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def rows(archive, name) -> list[dict]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def test_the_archive_holds_documents_invoices_bookings_and_the_rest(
    client_francoise, francoise, django_capture_on_commit_callbacks
):
    page = client_francoise.get(url("telecharger_donnees"))
    assert page.status_code == 200
    assert "Préparer mes données" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_francoise.post(url("telecharger_donnees"))
    assert response.status_code == 302
    export = DataExport.objects.get(user=francoise)
    assert export.status == ExportStatus.PRETE  # the immediate backend ran the task
    assert export.expires_at - export.ready_at == timedelta(days=services.EXPORT_DAYS)
    mail = OutgoingEmail.objects.filter(to__icontains=francoise.email).latest("pk")
    assert "Vos données sont prêtes" in mail.subject

    page = client_francoise.get(url("telecharger_donnees"))
    download = url("archive_donnees", pk=export.pk)
    assert download in page.content.decode()
    response = client_francoise.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = archive_of(response)
    names = archive.namelist()

    # Documents: the files themselves, as stored.
    durand_documents = Document.objects.filter(famille__name="DURAND", commune__slug=CSP)
    assert durand_documents.exists()
    for document in durand_documents:
        [name] = [n for n in names if n.startswith(f"documents/{document.pk}-")]
        assert archive.read(name) == document.file.open("rb").read()
    listed = rows(archive, "documents.csv")
    assert {row["nom"] for row in listed} == set(durand_documents.values_list("label", flat=True))

    # Invoices: one PDF each.
    invoices = Invoice.objects.filter(famille__name="DURAND", commune__slug=CSP)
    assert invoices.exists()
    for invoice in invoices:
        pdf = archive.read(f"factures/{invoice.regie.code}-{invoice.number}.pdf")
        assert pdf.startswith(b"%PDF")
    assert {row["numéro"] for row in rows(archive, "factures.csv")} == {
        str(number) for number in invoices.values_list("number", flat=True)
    }

    # Bookings, with the child and the unit.
    bookings = rows(archive, "reservations.csv")
    assert bookings and {"Léa", "Hugo"} & {row["prénoms"] for row in bookings}
    assert all(row["état"] for row in bookings)

    # The rest of the kinds.
    for name in (
        "compte_et_foyers.json",
        "journal.csv",
        "historique_coordonnees.csv",
        "quotients_familiaux.csv",
        "demandes.json",
        "inscriptions.csv",
        "absences.csv",
        "presences.csv",
        "paiements.csv",
        "paiements_en_ligne.csv",
        "mandats_prelevement.csv",
        "echeanciers.csv",
        "consentements.json",
        "connexions.csv",
        "LISEZMOI.txt",
    ):
        assert name in names, name
    account = json.loads(archive.read("compte_et_foyers.json"))
    assert account["account"]["email"] == families_demo.CITIZEN_EMAIL
    # Nothing of another family.
    for name in names:
        if name.endswith((".csv", ".json")):
            body = archive.read(name)
            for foreign in ("LEROY", "Inès", "sophie.martin"):
                assert foreign.encode() not in body, (name, foreign)


# --- Who downloads, and for how long ------------------------------------------------------------


@pytest.fixture
def citizen(db, private_root):
    from parvis.families.tests.factories import CitizenFactory, FamilyAccessFactory

    user = CitizenFactory()
    FamilyAccessFactory(user=user, famille__commune=user.commune)
    return user


def ready_export(user, capture) -> DataExport:
    with capture(execute=True):
        export = services.request_export(user=user, commune=user.commune)
    export.refresh_from_db()
    assert export.status == ExportStatus.PRETE
    return export


def archive_url(export):
    return reverse(
        "accounts:archive_donnees", kwargs={"commune": export.commune.slug, "pk": export.pk}
    )


def test_only_its_account_downloads_an_archive(client, citizen, django_capture_on_commit_callbacks):
    from parvis.families.tests.factories import CitizenFactory

    export = ready_export(citizen, django_capture_on_commit_callbacks)
    assert client.get(archive_url(export)).status_code == 302  # to the login
    client.force_login(CitizenFactory(commune=citizen.commune), backend=BACKEND)
    assert client.get(archive_url(export)).status_code == 404
    client.force_login(citizen, backend=BACKEND)
    assert client.get(archive_url(export)).status_code == 200


def test_an_archive_past_its_days_is_gone(client, citizen, django_capture_on_commit_callbacks):
    export = ready_export(citizen, django_capture_on_commit_callbacks)
    client.force_login(citizen, backend=BACKEND)
    path = export.file.path
    # The last second it may be downloaded, then no more: the daily job deletes the file.
    with time_machine.travel(export.expires_at - timedelta(seconds=1), tick=False):
        assert client.get(archive_url(export)).status_code == 200
    with time_machine.travel(export.expires_at, tick=False):
        assert client.get(archive_url(export)).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_exports(now=export.expires_at - timedelta(seconds=1)) == 0
        assert services.expire_exports(now=export.expires_at) == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIREE and not export.file
    assert not Path(path).exists()
    assert list(export.history.values_list("to_status", flat=True)) == [
        ExportStatus.EN_PREPARATION,
        ExportStatus.PRETE,
        ExportStatus.EXPIREE,
    ]


def test_two_clicks_make_one_export_and_a_pending_one_has_no_link(client, citizen):
    client.force_login(citizen, backend=BACKEND)
    path = reverse("accounts:telecharger_donnees", kwargs={"commune": citizen.commune.slug})
    client.post(path)  # the task waits for the commit, which the test never makes
    client.post(path)
    export = DataExport.objects.get(user=citizen)
    assert export.status == ExportStatus.EN_PREPARATION
    page = client.get(path).content.decode()
    assert "Une archive est en préparation." in page and "Préparer mes données" not in page
    assert client.get(archive_url(export)).status_code == 404


def test_a_failed_build_says_so(citizen, django_capture_on_commit_callbacks, monkeypatch):
    def broken(**kwargs):
        raise OSError("disque plein")

    monkeypatch.setattr(services.selectors, "export_entries", broken)
    with django_capture_on_commit_callbacks(execute=True):
        export = services.request_export(user=citizen, commune=citizen.commune)
    export.refresh_from_db()
    assert export.status == ExportStatus.ECHOUEE and "disque plein" in export.error


def test_an_export_whose_worker_died_is_asked_anew(citizen):
    first = services.request_export(user=citizen, commune=citizen.commune)  # never built
    assert services.request_export(user=citizen, commune=citizen.commune) == first
    later = first.requested_at + services.STALE_AFTER + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        second = services.request_export(user=citizen, commune=citizen.commune)
    assert second != first
    first.refresh_from_db()
    assert first.status == ExportStatus.ECHOUEE


def test_the_page_and_the_request_cost_a_few_queries(
    client, citizen, django_assert_max_num_queries
):
    client.force_login(citizen, backend=BACKEND)
    path = reverse("accounts:telecharger_donnees", kwargs={"commune": citizen.commune.slug})
    with django_assert_max_num_queries(8) as none:
        client.get(path)
    for _n in range(5):
        DataExport.objects.create(commune=citizen.commune, user=citizen, status="echouee")
    with django_assert_max_num_queries(len(none.captured_queries)):
        assert client.get(path).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.post(path).status_code == 302
