"""« Absent aujourd'hui » on a 360 px phone, with axe on every page: Françoise DURAND opens
« Activités », « Signaler une absence », chooses Léa, « Aujourd'hui », « Maladie », first
attaches a file that is not a certificate (refused next to the field, her other entries kept),
then the photo of the certificate, and reads that the absence is justified, with the booking
concerned; the acknowledgement is e-mailed."""

from datetime import datetime

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import expect

from parvis.activities.models import Absence, BookingStatus, Reservation
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.demarches.tests.test_journey_account_requests import log_in_francoise
from parvis.testing.browser import assert_accessible
from parvis.testing.files import jpeg_bytes

pytestmark = pytest.mark.browser

# Thursday 3 December 2026, 07:45 in Paris: a school day, Léa is booked this morning.
NOW = datetime(2026, 12, 3, 7, 45, tzinfo=PARIS)
JPEG = jpeg_bytes()


@pytest.fixture
def absences_site(demo_site):
    from parvis.communes.models import Commune
    from parvis.families import demo as families_demo
    from parvis.families.models import Personne

    families_demo.load()
    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    activity = make_activity(commune, slug="parcours-absence-peri")
    lea = Personne.objects.get(famille__commune=commune, famille__name="DURAND", first_names="Léa")
    register(lea, activity)
    Reservation.objects.create(
        commune=commune, famille=lea.famille, child=lea, unit=activity.units.get(),
        day=NOW.date(), status=BookingStatus.RESERVEE,
    )  # fmt: skip
    with time_machine.travel(NOW, tick=True):
        yield lea


def test_a_parent_says_lea_is_absent_today_with_a_photo_of_the_certificate(
    absences_site, phone_page
):
    lea = absences_site
    page = phone_page
    log_in_francoise(page)

    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("button", name="Menu").click()  # folded on a phone
    menu.get_by_role("link", name="Activités").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activités")
    page.get_by_role("link", name="Signaler une absence").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Signaler une absence")
    expect(page.get_by_label("Du", exact=False).first).to_be_hidden()  # until « Plusieurs jours »
    assert_accessible(page)
    page.get_by_label("Plusieurs jours").check()
    expect(page.get_by_label("Du", exact=False).first).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Léa").check()
    page.get_by_label("Aujourd'hui (jeudi 3 décembre)").check()
    expect(page.get_by_label("Du", exact=False).first).to_be_hidden()
    page.get_by_label("Maladie").check()
    page.get_by_label("Précision").fill("fièvre")
    certificate = page.get_by_label("Certificat médical")
    expect(certificate).to_have_attribute("capture", "environment")
    certificate.set_input_files(
        {"name": "note.txt", "mimeType": "text/plain", "buffer": b"pas un certificat"}
    )
    page.get_by_role("button", name="Signaler l'absence").click()

    expect(page.get_by_role("alert")).to_contain_text("corrigez les points suivants")
    expect(page.locator("#id_certificat_error")).to_contain_text(
        "« note.txt » n'est ni un PDF, ni une image JPEG ou PNG"
    )
    expect(page.get_by_label("Précision")).to_have_value("fièvre")
    expect(page.get_by_label("Maladie")).to_be_checked()
    expect(page.get_by_label("Aujourd'hui (jeudi 3 décembre)")).to_be_checked()
    assert not Absence.objects.exists()
    assert_accessible(page)

    page.get_by_label("Certificat médical").set_input_files(
        {"name": "certificat.jpg", "mimeType": "image/jpeg", "buffer": JPEG}
    )
    page.get_by_role("button", name="Signaler l'absence").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Absence de Léa")
    expect(page.get_by_role("status")).to_contain_text(
        "L'absence de Léa est enregistrée. Cette absence est justifiée : certificat reçu dans "
        "les 72 h."
    )
    expect(page.get_by_text("justifiée — certificat reçu dans les 72 h")).to_be_visible()
    expect(
        page.get_by_text("jeudi 03/12/2026 — Accueil Périscolaire Maternelle, Acc Matin")
    ).to_be_visible()
    assert_accessible(page)

    absence = Absence.objects.get()
    assert absence.child == lea
    assert absence.justified is True
    assert absence.certificate.original_name == "certificat.jpg"
    assert Reservation.objects.filter(child=lea, day=NOW.date()).exists()
    (message,) = [m for m in mail.outbox if "absence de Léa" in m.subject]
    assert "Cette absence est justifiée (certificat reçu dans les 72 h)" in message.body

    page.get_by_role("link", name="Retour aux absences").click()
    expect(page.get_by_role("heading", name="Absences signalées")).to_be_visible()
    expect(page.get_by_text("1 réservation concernée")).to_be_visible()
    assert_accessible(page)
