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


# --- Issue 20: the FranceConnect identity and the shared custodies ------------------------------


def archive_of_export(export) -> zipfile.ZipFile:
    with export.file.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def test_the_archive_holds_the_certified_identity_never_a_token(
    citizen, django_capture_on_commit_callbacks
):
    from datetime import date

    from parvis.accounts.models import FranceConnectIdentity

    empty = archive_of_export(ready_export(citizen, django_capture_on_commit_callbacks))
    assert json.loads(empty.read("identite_franceconnect.json")) == {"identite_franceconnect": None}
    FranceConnectIdentity.objects.create(
        commune=citizen.commune, user=citizen, sub="b6048e95bb134ec5b1d1e1fa69f287172e9",
        given_name="Angela Claire Louise", family_name="DUBOIS", birthdate=date(1962, 8, 24),
        gender="female", birthplace="75107", birthcountry="99100",
    )  # fmt: skip
    archive = archive_of_export(ready_export(citizen, django_capture_on_commit_callbacks))
    certified = json.loads(archive.read("identite_franceconnect.json"))["identite_franceconnect"]
    assert certified["prenoms"] == "Angela Claire Louise"
    assert certified["nom_de_naissance"] == "DUBOIS"
    assert certified["date_de_naissance"] == "1962-08-24"
    assert certified["sexe"] == "female"
    assert certified["lieu_de_naissance_code_insee"] == "75107"
    assert certified["pays_de_naissance_code_insee"] == "99100"
    assert certified["identifiant_franceconnect"].startswith("b6048e95")
    assert certified["relie_le"]
    assert not {key for key in certified if "token" in key or "jeton" in key}
    assert "identite_franceconnect.json" in archive.read("LISEZMOI.txt").decode()


def test_the_archive_holds_the_shared_custodies_and_nothing_of_the_other_household(
    citizen, django_capture_on_commit_callbacks
):
    from datetime import date
    from decimal import Decimal

    from parvis.activities.models import CustodyActivity
    from parvis.activities.tests.factories import make_activity
    from parvis.families.models import CustodyRule, CustodySide, CustodySource, SharedCustody
    from parvis.families.tests.factories import ChildFactory, FamilleFactory

    commune = citizen.commune
    mine = citizen.family_accesses.get().famille
    other = FamilleFactory(
        commune=commune, name="ROBERTSON", address="9, impasse des Tilleuls", postal_code="78300",
        city="Poissy",
    )  # fmt: skip
    stranger = FamilleFactory(commune=commune, name="ÉTRANGERS")
    nina = ChildFactory(famille=mine, first_names="Nina", last_name="PETIT")
    SharedCustody.objects.create(
        commune=commune, child=nina, other_famille=other, rule=CustodyRule.POURCENTAGE,
        percent_foyer=Decimal("60.00"), since=date(2026, 9, 1), source=CustodySource.JUGEMENT,
        source_date=date(2026, 6, 3), note="Père : M. ROBERTSON, 06 99 99 99 99",
    )  # fmt: skip
    # A child of the other household, shared with this one: its name only.
    theo = ChildFactory(famille=other, first_names="Théo", last_name="ROBERTSON")
    by_activity = SharedCustody.objects.create(
        commune=commune, child=theo, other_famille=mine, rule=CustodyRule.PAR_ACTIVITE,
        first_side=CustodySide.FOYER, since=date(2026, 9, 1), source=CustodySource.ACCORD,
    )  # fmt: skip
    CustodyActivity.objects.create(
        commune=commune,
        custody=by_activity,
        activity=make_activity(commune, name="Cantine"),
        side=CustodySide.AUTRE,
    )
    # Two households this account has nothing to do with.
    SharedCustody.objects.create(
        commune=commune, child=ChildFactory(famille=stranger, first_names="Inconnu"),
        other_famille=other, rule=CustodyRule.SEMAINES_PAIRES, since=date(2026, 9, 1),
        source=CustodySource.ACCORD,
    )  # fmt: skip

    archive = archive_of_export(ready_export(citizen, django_capture_on_commit_callbacks))
    custodies = rows(archive, "gardes_partagees.csv")
    assert [
        (row["famille"], row["enfant"], row["votre foyer"], row["règle de garde"])
        for row in custodies
    ] == [
        (str(mine.number), "Nina PETIT", "Foyer de l'enfant", "Un pourcentage"),
        (str(mine.number), "Théo ROBERTSON", "Autre foyer", "Par activité"),
    ]
    nina_row, theo_row = custodies
    assert nina_row["part du foyer de l'enfant (%)"] == "60.00"
    assert nina_row["applicable à partir du"] == "2026-09-01"
    assert nina_row["décidée par"] == "Jugement"
    assert nina_row["date de la décision"] == "2026-06-03"
    assert theo_row["foyer qui paie chaque activité"] == "Cantine : Autre foyer"
    assert theo_row["décidée par"] == "Accord des parents"
    # Nothing of the other household beyond the child's name, nor the agent's note.
    body = archive.read("gardes_partagees.csv").decode("utf-8-sig")
    for foreign in (
        "impasse des Tilleuls",
        "78300",
        "Poissy",
        "06 99",
        "Père",
        "Inconnu",
        "ÉTRANGERS",
    ):
        assert foreign not in body, foreign
    # The other household's number as a cell (as a substring, « 2 » is in every « 2026 »).
    assert str(other.number) not in {cell for row in custodies for cell in row.values()}
