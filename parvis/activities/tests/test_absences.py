"""The families' absences: « Signaler une absence » for today, tomorrow or a few days (bookings
kept, audit row, acknowledgement e-mailed with the bookings and until when a certificate can be
sent), the refusals (a past day, too long, an overlap, a refused file: the other entries stay and
nothing is created), the certificate sent later (justified only within the delay), the agents'
decision service, who may see what (another family, another commune → 404), and the query count
of the list."""

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities import services_absences as services
from parvis.activities.models import Absence, BookingStatus, Reservation
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import Document, DocumentStatus, DocumentType
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
)
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
# Thursday 19 November 2026, 08:00 in Paris. A certificate counts until Sunday 22, 00:00.
NOW = datetime(2026, 11, 19, 8, 0, tzinfo=PARIS)
TODAY = date(2026, 11, 19)
TOMORROW = date(2026, 11, 20)
DEADLINE = datetime(2026, 11, 22, 0, 0, tzinfo=PARIS)
PDF = pdf_bytes("certificat")


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def pdf(name="certificat.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family():
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune, name="DURAND")
    child = ChildFactory(famille=famille, first_names="Léa")
    access = FamilyAccessFactory(famille=famille, user__email="francoise@example.fr")
    activity = make_activity(commune)
    register(child, activity)
    unit = activity.units.get()
    booking = Reservation.objects.create(
        commune=commune, famille=famille, child=child, unit=unit, day=TODAY,
        status=BookingStatus.RESERVEE,
    )  # fmt: skip
    return {
        "commune": commune, "famille": famille, "child": child, "user": access.user,
        "activity": activity, "unit": unit, "booking": booking,
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def url(family, pk=None):
    if pk is None:
        return reverse("activities:absences", kwargs={"commune": family["commune"].slug})
    return reverse("activities:absence", kwargs={"commune": family["commune"].slug, "pk": pk})


def post(client, family, **fields):
    data = {
        "child": family["child"].pk, "quand": "aujourdhui", "reason": "maladie",
        "comment": "", **fields,
    }  # fmt: skip
    return client.post(url(family), {k: v for k, v in data.items() if v is not None})


def declare(family, **kwargs):
    arguments = {
        "famille": family["famille"], "child": family["child"], "first_day": TODAY,
        "last_day": TODAY, "reason": "maladie", "comment": "", "actor": family["user"],
        **kwargs,
    }  # fmt: skip
    return services.declare_absence(**arguments)


# --- Declaring -----------------------------------------------------------------------------------


def test_the_form_offers_the_households_children_today_tomorrow_and_several_days(logged, family):
    response = logged.get(url(family))
    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(response)
    assert "Signaler une absence" in text
    assert "Léa" in text
    assert "Aujourd'hui (jeudi 19 novembre)" in text
    assert "Demain (vendredi 20 novembre)" in text
    assert "Plusieurs jours" in text
    assert 'type="file"' in html
    assert 'accept="image/*,application/pdf"' in html
    assert 'capture="environment"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "au plus tard 72 heures après le début du premier jour" in text


def test_activites_links_to_signaler_une_absence(logged, family):
    response = logged.get(reverse("activities:index", kwargs={"commune": family["commune"].slug}))
    assert url(family) in response.content.decode()
    assert "Signaler une absence" in text_of(response)


def test_absent_today_is_recorded_bookings_kept_audited_and_acknowledged(
    logged, family, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(logged, family, comment="fièvre")
    absence = Absence.objects.get()
    assert response.status_code == 302
    assert response.url == url(family, absence.pk)
    assert (absence.first_day, absence.last_day) == (TODAY, TODAY)
    assert absence.child == family["child"] and absence.famille == family["famille"]
    assert absence.comment == "fièvre"
    assert absence.declared_by == family["user"]
    assert absence.justified is False
    assert absence.justification == "sans certificat"
    assert Reservation.objects.filter(pk=family["booking"].pk).exists()  # billing needs it

    entry = AuditEntry.objects.get(action="absence.declare")
    assert entry.actor == family["user"]
    assert entry.famille_id == family["famille"].pk
    assert entry.target_id == str(absence.pk)
    assert entry.changes["justified"] == [None, False]

    (message,) = mail.outbox
    assert message.to == ["francoise@example.fr"]
    assert "absence de Léa signalée" in message.subject
    body = message.body
    assert "L'absence de Léa le jeudi 19 novembre 2026 est enregistrée." in body
    assert "jeudi 19/11/2026, Accueil Périscolaire Maternelle, Acc Matin (PERI_AM_M)" in body
    assert "Cette absence n'est pas justifiée : sans certificat." in body
    assert "jusqu'au dimanche 22 novembre 2026 à 00:00" in body
    assert f"http://testserver{url(family, absence.pk)}" in body
    assert "&#x27;" not in body  # plain text, not escaped

    page = logged.get(response.url)
    text = text_of(page)
    assert "L'absence de Léa est enregistrée." in text
    assert "non justifiée — sans certificat" in text
    assert "jeudi 19/11/2026 — Accueil Périscolaire Maternelle, Acc Matin (PERI_AM_M)" in text
    assert "Ajouter un certificat" in text


def test_absent_tomorrow(logged, family):
    post(logged, family, quand="demain")
    absence = Absence.objects.get()
    assert (absence.first_day, absence.last_day) == (TOMORROW, TOMORROW)


def test_several_days(logged, family):
    response = post(logged, family, quand="plusieurs", du="2026-11-23", au="2026-11-27")
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.first_day, absence.last_day) == (date(2026, 11, 23), date(2026, 11, 27))


def test_du_au_are_ignored_unless_plusieurs_jours(logged, family):
    post(logged, family, quand="demain", du="2026-12-01", au="2026-12-04")
    absence = Absence.objects.get()
    assert (absence.first_day, absence.last_day) == (TOMORROW, TOMORROW)


def test_a_past_day_is_refused_next_to_the_field_and_nothing_is_created(logged, family):
    response = post(logged, family, quand="plusieurs", du="2026-11-18", au="2026-11-19")
    assert response.status_code == 200
    form = response.context["form"]
    assert "Le 18/11/2026 est passé" in form.errors["du"][0]
    assert not Absence.objects.exists()
    with pytest.raises(ValidationError) as refused:
        declare(family, first_day=TODAY - timedelta(days=1))
    assert "first_day" in refused.value.message_dict
    assert not Absence.objects.exists()


def test_plusieurs_jours_needs_both_days_and_in_order(logged, family):
    response = post(logged, family, quand="plusieurs", du="2026-11-23")
    assert response.context["form"].errors["au"] == ["Indiquez le dernier jour d'absence."]
    response = post(logged, family, quand="plusieurs", du="2026-11-27", au="2026-11-23")
    assert "premier jour ou après" in response.context["form"].errors["au"][0]
    response = post(logged, family, quand="plusieurs", du="2026-11-23", au="2026-12-24")
    assert "au plus 31 jours" in response.context["form"].errors["au"][0]
    assert not Absence.objects.exists()


def test_31_days_are_accepted_32_are_not(family):
    with pytest.raises(ValidationError) as refused:
        declare(family, last_day=TODAY + timedelta(days=31))
    assert "last_day" in refused.value.message_dict
    absence = declare(family, last_day=TODAY + timedelta(days=30))
    assert (absence.last_day - absence.first_day).days + 1 == 31


def test_an_overlap_with_another_absence_is_refused_clearly(logged, family):
    declare(family, first_day=TOMORROW, last_day=date(2026, 11, 24))
    response = post(logged, family, quand="plusieurs", du="2026-11-24", au="2026-11-26")
    assert response.status_code == 200
    (error,) = response.context["form"].errors["du"]
    assert error == (
        "Une absence de Léa est déjà signalée du 20/11/2026 au 24/11/2026 : choisissez "
        "d'autres jours, ou ajoutez le certificat à cette absence."
    )
    assert Absence.objects.count() == 1
    # The day after it is free.
    response = post(logged, family, quand="plusieurs", du="2026-11-25", au="2026-11-26")
    assert response.status_code == 302


def test_another_childs_absence_does_not_overlap(family):
    brother = ChildFactory(famille=family["famille"], first_names="Hugo")
    declare(family)
    declare(family, child=brother)
    assert Absence.objects.count() == 2


def test_a_child_of_another_household_is_refused(logged, family):
    stranger = ChildFactory(famille=FamilleFactory(commune=family["commune"]))
    response = post(logged, family, child=stranger.pk)
    assert "child" in response.context["form"].errors
    with pytest.raises(ValidationError):
        declare(family, child=stranger)
    assert not Absence.objects.exists()


def test_a_missing_reason_is_said_next_to_it_and_entries_stay(logged, family):
    response = post(logged, family, reason=None, comment="rendez-vous")
    assert response.context["form"].errors["reason"] == ["Choisissez le motif de l'absence."]
    assert "rendez-vous" in response.content.decode()


# --- The certificate -----------------------------------------------------------------------------


def test_with_a_certificate_from_the_phone_it_is_justified(logged, family):
    response = logged.post(
        url(family),
        {"child": family["child"].pk, "quand": "aujourdhui", "reason": "maladie",
         "certificat": pdf()},
    )  # fmt: skip
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert absence.justified is True
    assert absence.justification == "certificat reçu dans les 72 h"
    assert absence.certificate_at == NOW
    document = absence.certificate
    assert document.doc_type == DocumentType.CERTIFICAT_MEDICAL
    assert document.personne == family["child"]
    assert document.famille == family["famille"]
    assert document.service == family["activity"].service  # its agents see it
    assert document.status == DocumentStatus.DEPOSE
    text = text_of(logged.get(response.url))
    assert "justifiée — certificat reçu dans les 72 h" in text
    assert "Ajouter un certificat" not in text


def test_a_refused_file_keeps_the_other_entries_and_creates_nothing(logged, family):
    response = logged.post(
        url(family),
        {"child": family["child"].pk, "quand": "plusieurs", "du": "2026-11-23",
         "au": "2026-11-24", "reason": "maladie", "comment": "angine",
         "certificat": SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")},
    )  # fmt: skip
    assert response.status_code == 200
    (error,) = response.context["form"].errors["certificat"]
    assert "n'est ni un PDF, ni une image JPEG ou PNG" in error
    html = response.content.decode()
    assert "angine" in html
    assert 'value="2026-11-23"' in html and 'value="2026-11-24"' in html
    assert re.search(r'value="plusieurs"[^>]*checked', html)
    assert re.search(r'value="maladie"[^>]*checked', html)
    assert not Absence.objects.exists()
    assert not Document.objects.exists()


def test_a_refusal_of_the_store_goes_next_to_the_file(logged, family, settings):
    settings.FAMILY_DOCUMENTS_QUOTA = 5  # smaller than the file
    response = logged.post(
        url(family),
        {"child": family["child"].pk, "quand": "aujourdhui", "reason": "maladie",
         "certificat": pdf()},
    )  # fmt: skip
    assert response.status_code == 200
    assert "espace de stockage est plein" in response.context["form"].errors["certificat"][0]
    assert not Absence.objects.exists()
    assert not Document.objects.exists()


def test_a_later_certificate_within_the_delay_makes_it_justified(
    logged, family, django_capture_on_commit_callbacks
):
    absence = declare(family)
    with (
        time_machine.travel(DEADLINE - timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = logged.post(url(family, absence.pk), {"certificat": pdf()})
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.justified is True
    assert absence.certificate.personne == family["child"]
    assert AuditEntry.objects.filter(action="absence.certificate").count() == 1
    (message,) = mail.outbox
    assert "certificat reçu" in message.subject
    assert "Cette absence est justifiée (certificat reçu dans les 72 h)" in message.body


def test_a_certificate_at_the_very_deadline_counts(family):
    absence = declare(family)
    with time_machine.travel(DEADLINE, tick=False):
        absence = services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert absence.justified is True


def test_a_later_certificate_after_the_delay_does_not(logged, family):
    absence = declare(family)
    with time_machine.travel(DEADLINE + timedelta(minutes=1), tick=False):
        page = text_of(logged.get(url(family, absence.pk)))
        assert "ne rend pas cette absence justifiée" in page
        logged.post(url(family, absence.pk), {"certificat": pdf()})
    absence.refresh_from_db()
    assert absence.certificate is not None
    assert absence.justified is False
    assert absence.justification == (
        "certificat reçu après le délai de 72 h (le dimanche 22 novembre 2026 à 00:01)"
    )


def test_the_communes_minimum_of_days(family):
    commune = family["commune"]
    commune.absence_min_days = 3
    commune.absence_certificate_hours = 48
    commune.save()
    short = declare(family, certificate_upload=pdf())
    assert short.justified is False
    assert short.justification == (
        "absence de 1 jour : la commune rembourse à partir de 3 jours consécutifs"
    )
    long = declare(
        family, first_day=date(2026, 11, 23), last_day=date(2026, 11, 25), certificate_upload=pdf()
    )
    assert long.justified is True
    assert long.justification == "certificat reçu dans les 48 h"


def test_a_second_certificate_is_refused_unless_the_first_was_refused(family):
    absence = declare(family, certificate_upload=pdf())
    with pytest.raises(ValidationError):
        services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert Document.objects.count() == 1
    Document.objects.update(status=DocumentStatus.REFUSE)
    absence.refresh_from_db()
    updated = services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert updated.certificate_id != absence.certificate_id
    assert Document.objects.count() == 2


def test_a_late_certificate_never_unjustifies_an_agents_decision(family):
    absence = declare(family, reason="autre")
    agent = AgentFactory(commune=family["commune"])
    services.set_justified(absence=absence, justified=True, reason="grève", actor=agent)
    with time_machine.travel(DEADLINE + timedelta(hours=1), tick=False):
        updated = services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert updated.certificate is not None
    assert updated.justified is True
    assert updated.justification == "grève"


def test_the_certificate_form_needs_a_file(logged, family):
    absence = declare(family)
    response = logged.post(url(family, absence.pk), {})
    assert response.context["form"].errors["certificat"] == [
        "Choisissez la photo ou le PDF du certificat."
    ]


# --- The agents' decision (service) --------------------------------------------------------------


def test_set_justified_needs_a_reason_and_is_audited_and_told(
    family, django_capture_on_commit_callbacks
):
    absence = declare(family, reason="autre")
    agent = AgentFactory(commune=family["commune"])
    with pytest.raises(ValidationError) as refused:
        services.set_justified(absence=absence, justified=True, reason="  ", actor=agent)
    assert "reason" in refused.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        services.set_justified(
            absence=absence, justified=True, reason="sortie scolaire", actor=agent
        )
    absence.refresh_from_db()
    assert (absence.justified, absence.justification) == (True, "sortie scolaire")
    entry = AuditEntry.objects.get(action="absence.decision")
    assert entry.actor == agent
    assert entry.changes["justified"] == [False, True]
    (message,) = mail.outbox
    assert message.to == ["francoise@example.fr"]
    assert "Cette absence est justifiée (sortie scolaire)" in message.body


# --- Who sees what -------------------------------------------------------------------------------


def test_the_list_says_each_state_in_words(logged, family):
    declare(family, certificate_upload=pdf())
    declare(family, first_day=date(2026, 11, 23), last_day=date(2026, 11, 24), reason="famille")
    text = text_of(logged.get(url(family)))
    assert "Absences signalées" in text
    assert "✓ justifiée — certificat reçu dans les 72 h" in text
    assert "✗ non justifiée — sans certificat (motif : raison familiale)" in text
    assert "du lundi 23 novembre 2026 au mardi 24 novembre 2026" in text


def test_another_familys_absence_is_404(client, family):
    absence = declare(family)
    other = FamilyAccessFactory(famille=FamilleFactory(commune=family["commune"]))
    client.force_login(other.user, backend=BACKEND)
    assert client.get(url(family, absence.pk)).status_code == 404
    assert client.post(url(family, absence.pk), {"certificat": pdf()}).status_code == 404
    assert "Léa" not in text_of(client.get(url(family)))
    absence.refresh_from_db()
    assert absence.certificate is None


def test_another_communes_absence_is_404_under_this_communes_address(client, family):
    absence = declare(family)
    elsewhere = CommuneFactory()
    other = FamilyAccessFactory(famille=FamilleFactory(commune=elsewhere))
    client.force_login(other.user, backend=BACKEND)
    address = reverse("activities:absence", kwargs={"commune": elsewhere.slug, "pk": absence.pk})
    assert client.get(address).status_code == 404
    assert client.post(address, {"certificat": pdf()}).status_code == 404


def test_anonymous_visitors_log_in_first(client, family):
    response = client.get(url(family))
    assert response.status_code == 302
    assert "connexion" in response.url


def test_unknown_or_malformed_absence_is_404(logged, family):
    assert logged.get(url(family, 999999)).status_code == 404


def test_the_list_costs_the_same_whatever_the_number_of_absences(
    logged, family, django_assert_max_num_queries
):
    declare(family, certificate_upload=pdf())
    with django_assert_max_num_queries(20) as few:
        logged.get(url(family))
    for n in range(8):
        first = date(2026, 11, 23) + timedelta(days=2 * n)
        declare(family, first_day=first, last_day=first, certificate_upload=pdf())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = logged.get(url(family))
    assert len(response.context["absences"]) == 9


def test_the_list_is_paginated(logged, family):
    for n in range(21):
        first = TODAY + timedelta(days=n)
        declare(family, first_day=first, last_day=first)
    response = logged.get(url(family))
    assert len(response.context["absences"]) == 20
    assert "Page 1 sur 2" in text_of(response)
    assert len(logged.get(url(family), {"page": 2}).context["absences"]) == 1
