"""Issue 20 §3 in Chromium, with axe on every page, on a desktop and on a 360 px phone:
Françoise DURAND asks for her data from « Modification de votre espace », downloads the ZIP and
finds a document, an invoice PDF and a booking in it; the commune's administrator reads the
retention report, turns the deletions on, and the daily run deletes the expired document and
nothing else; the registre des traitements."""

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from parvis.billing.models import Invoice
from parvis.communes.demo import DEMO_PASSWORD
from parvis.families.models import Document, DocumentType, Famille
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible, main_nav

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
GUICHET = f"{CSP}/guichet/"


@pytest.fixture
def full_demo_site(demo_site):
    for loader in LOADERS[1:]:  # demo_site loaded the communes
        loader()
    return demo_site


def check(page, *, phone: bool) -> None:
    assert_accessible(page)
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def log_in_citizen(page) -> None:
    page.goto(f"{CSP}/connexion/")
    page.get_by_label("Identifiant").fill("francoise.durand@example.fr")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Madame DURAND")


def download_data(page, *, phone: bool) -> None:
    log_in_citizen(page)
    page.goto(f"{CSP}/mon-espace/modifier/")
    page.get_by_role("link", name="Télécharger mes données").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Télécharger mes données")
    check(page, phone=phone)
    page.get_by_role("button", name="Préparer mes données").click()
    expect(page.get_by_text("Votre archive est en préparation.")).to_be_visible()
    link = page.get_by_role("link", name=re.compile(r"^Télécharger l'archive du "))
    expect(link).to_be_visible()  # the task ran after the commit (immediate backend)
    check(page, phone=phone)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    names = archive.namelist()

    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    document = Document.objects.filter(famille=durand).first()
    [name] = [n for n in names if n.startswith(f"documents/{document.pk}-")]
    assert archive.read(name) == document.file.open("rb").read()
    invoice = Invoice.objects.filter(famille=durand).first()
    assert archive.read(f"factures/{invoice.regie.code}-{invoice.number}.pdf").startswith(b"%PDF")
    bookings = list(
        csv.DictReader(
            io.StringIO(archive.read("reservations.csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    assert any(row["prénoms"] in ("Léa", "Hugo") and row["jour"] for row in bookings)


def plant_expired_document() -> tuple[Document, Document]:
    """A proof of address whose validity ended two years ago (due) and one that ended
    yesterday (kept)."""
    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    today = timezone.localdate()
    made = []
    for label, valid_until in (
        ("Quittance 2024", today - timedelta(days=730)),
        ("Quittance récente", today - timedelta(days=1)),
    ):
        document = Document(
            commune=durand.commune, famille=durand, doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
            label=label, original_name="quittance.pdf", content_type="application/pdf", size=8,
            valid_until=valid_until,
        )  # fmt: skip
        document.file.save("quittance.pdf", ContentFile(b"%PDF-1.4"), save=False)
        document.save()
        made.append(document)
    return made[0], made[1]


def administrator_applies_retention(page, *, phone: bool) -> None:
    due, kept = plant_expired_document()
    others = set(Document.objects.exclude(pk__in=[due.pk, kept.pk]).values_list("pk", flat=True))
    page.goto(f"{GUICHET}connexion/")
    page.get_by_label("Identifiant").fill("admin-carrieres-sous-poissy")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(GUICHET)}$"))
    main_nav(page).get_by_role("link", name="Données personnelles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Durées de conservation des données personnelles"
    )
    expect(page.get_by_text("Simulation : rien n'est encore supprimé.")).to_be_visible()
    expect(page.locator('[data-kind="documents_expires"]')).to_have_text("1")
    check(page, phone=phone)
    # The nightly job before the administrator turns it on: a report, nothing deleted.
    call_command("apply_retention", "--commune", "carrieres-sous-poissy")
    assert Document.objects.filter(pk=due.pk).exists()

    page.get_by_role("button", name="Activer la suppression automatique").click()
    expect(page.get_by_text("La suppression automatique est activée")).to_have_count(2)
    check(page, phone=phone)
    call_command("run_periodic", "apply_retention", "--", "--commune", "carrieres-sous-poissy")
    assert not Document.objects.filter(pk=due.pk).exists()
    assert set(Document.objects.values_list("pk", flat=True)) == others | {kept.pk}
    page.reload()
    runs = page.get_by_role("row").filter(has_text="Justificatifs dont la validité a pris fin : 1")
    expect(runs.filter(has_text="Simulation")).to_have_count(1)  # the report of the night before
    expect(runs.filter(has_text="Suppression")).to_have_count(1)  # the run that deleted
    check(page, phone=phone)

    page.get_by_role("link", name="Registre des traitements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registre des traitements")
    expect(page.get_by_role("heading", name="Facturation et encaissement")).to_be_visible()
    check(page, phone=phone)


def test_data_download_and_retention_on_a_desktop(full_demo_site, browser_page, settings):
    settings.PARVIS_PERIODIC_MIN_INTERVAL = 0
    download_data(browser_page, phone=False)
    browser_page.context.clear_cookies()
    administrator_applies_retention(browser_page, phone=False)


def test_data_download_and_retention_on_a_phone(full_demo_site, phone_page, settings):
    settings.PARVIS_PERIODIC_MIN_INTERVAL = 0
    download_data(phone_page, phone=True)
    phone_page.context.clear_cookies()
    administrator_applies_retention(phone_page, phone=True)
