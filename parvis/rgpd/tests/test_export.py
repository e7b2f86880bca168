"""« Télécharger mes données »: the archive asked from the page, built by the task, announced by
e-mail, downloadable by its account only while it lasts, holding every kind of data."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
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
