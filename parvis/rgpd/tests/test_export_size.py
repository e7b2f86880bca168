"""The export of a big household costs the same queries as that of a small one: each kind is read
in a constant number of queries (the files come from the storage, the PDFs from one layout)."""

import zipfile
from datetime import date, timedelta
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.accounts.models import FranceConnectIdentity
from parvis.activities.models import CustodyActivity
from parvis.billing.tests.invoicing_factories import absence, book, child, family, make_world, tick
from parvis.demarches.models import Demande, DemandeMessage, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.models import (
    CustodyRule,
    CustodySide,
    CustodySource,
    Document,
    DocumentType,
    SharedCustody,
)
from parvis.families.tests.factories import CitizenFactory, FamilyAccessFactory
from parvis.rgpd import selectors, services
from parvis.testing.regie import make_invoice

START = date(2026, 9, 1)


def household(world, name, *, children, days, invoices, documents, demandes):
    famille = family(world, name)
    user = CitizenFactory(commune=world.commune)
    FamilyAccessFactory(famille=famille, user=user)
    procedure = ProcedureFactory(commune=world.commune)
    for n in range(children):
        kid = child(world, famille, f"Enfant{n}", date(2018, 1, 1 + n))
        dates = [START + timedelta(days=d) for d in range(days)]
        book(kid, world.am, dates)
        book(kid, world.meal, dates)
        for day in dates[:10]:
            tick(kid, world.am, day, present=True)
        absence(kid, dates[0], justified=False)
    for n in range(invoices):
        make_invoice(world.regie, famille, "12.30", label=f"Mois {n}")
    for n in range(documents):
        document = Document(
            commune=world.commune, famille=famille, doc_type=DocumentType.AUTRE,
            label=f"Pièce {n}", original_name=f"piece{n}.pdf", content_type="application/pdf",
            size=8,
        )  # fmt: skip
        document.file.save(f"p{n}.pdf", ContentFile(b"%PDF-1.4"), save=False)
        document.save()
    for n in range(demandes):
        demande = Demande.objects.create(
            commune=world.commune, procedure=procedure, number=f"{name}-{n}", requester=user,
            famille=famille, status=Status.EN_ATTENTE,
        )  # fmt: skip
        DemandeMessage.objects.create(
            demande=demande, body="Bonjour", author_label="Agent", from_requester=False
        )
    return user


def certified_and_shared(world, user, *, custodies):
    """Issue 20: the account's FranceConnect identity, and `custodies` children of its household
    in shared custody with another (« par activité », a line per activity), plus one child of
    another household shared with it."""
    famille = user.family_accesses.get().famille
    FranceConnectIdentity.objects.create(
        commune=world.commune, user=user, sub=f"sub-{user.pk}", given_name="Françoise Marie",
        family_name="DURAND", birthdate=date(1986, 4, 9), gender="female", birthplace="78123",
    )  # fmt: skip
    other = family(world, f"AUTRE{user.pk}")
    kids = list(famille.members.filter(kind="enfant"))
    for n in range(custodies):
        custody = SharedCustody.objects.create(
            commune=world.commune, child=kids[n % len(kids)] if n < len(kids)
            else child(world, famille, f"Partagé{n}", date(2019, 1, 1 + n)),
            other_famille=other, rule=CustodyRule.PAR_ACTIVITE, since=START,
            source=CustodySource.JUGEMENT,
        )  # fmt: skip
        for activity, side in ((world.peri, CustodySide.FOYER), (world.canteen, CustodySide.AUTRE)):
            CustodyActivity.objects.create(
                commune=world.commune, custody=custody, activity=activity, side=side
            )
    theirs = child(world, other, f"Venu{user.pk}", date(2020, 2, 2))
    SharedCustody.objects.create(
        commune=world.commune, child=theirs, other_famille=famille,
        rule=CustodyRule.SEMAINES_PAIRES, since=START, source=CustodySource.ACCORD,
    )  # fmt: skip


def export_queries(user, commune) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        entries = list(selectors.export_entries(user=user, commune=commune))
    return len(queries), [entry.path for entry in entries]


@pytest.mark.django_db
def test_a_big_household_costs_the_queries_of_a_small_one(private_root):
    world = make_world()
    small = household(world, "PETIT", children=1, days=2, invoices=1, documents=1, demandes=1)
    big = household(world, "GRAND", children=3, days=120, invoices=12, documents=6, demandes=8)
    certified_and_shared(world, small, custodies=1)
    certified_and_shared(world, big, custodies=3)

    small_count, small_paths = export_queries(small, world.commune)
    big_count, big_paths = export_queries(big, world.commune)

    assert big_count == small_count <= 33  # 3 of them the FranceConnect identity and custodies
    assert len([p for p in big_paths if p.startswith("factures/")]) == 12
    assert len([p for p in big_paths if p.startswith("documents/")]) == 6
    assert len(small_paths) < len(big_paths)
    assert "identite_franceconnect.json" in big_paths and "gardes_partagees.csv" in big_paths


@pytest.mark.django_db
def test_the_whole_archive_of_a_big_household(private_root, django_capture_on_commit_callbacks):
    world = make_world()
    user = household(world, "GRAND", children=3, days=150, invoices=6, documents=3, demandes=3)
    with django_capture_on_commit_callbacks(execute=True):
        export = services.request_export(user=user, commune=world.commune)
    export.refresh_from_db()
    with export.file.open("rb") as handle:
        archive = zipfile.ZipFile(BytesIO(handle.read()))
    bookings = archive.read("reservations.csv").decode("utf-8-sig").splitlines()
    assert len(bookings) == 1 + 3 * 150 * 2  # the header, then every booking
    assert export.size == export.file.size
