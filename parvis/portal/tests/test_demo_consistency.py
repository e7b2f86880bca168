"""The demo data never contradicts itself in front of an agent: a key is used after it was made,
an account confirmed after it was opened, an absence « justifiée — certificat médical reçu » has
its certificate (a real stored file), and the family journal reads it in French."""

from datetime import date, datetime, time

import pytest
import time_machine
from django.utils import timezone

from parvis.accounts.models import AuditEntry, User
from parvis.activities.models import Absence
from parvis.families.models import Famille, FamilyAccess, ServiceKey
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.portal.tests.test_pages import text_of

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 3)
CSP = "carrieres-sous-poissy"


@pytest.fixture
def demo(mailoutbox):
    with time_machine.travel(datetime.combine(TODAY, time(9)), tick=False):
        for loader in LOADERS:
            loader()
        # Loaded twice, as `make run` does on every start: nothing drifts.
        for loader in LOADERS:
            loader()


def test_keys_are_used_and_revoked_after_they_were_made(demo):
    keys = list(ServiceKey.objects.all())
    assert any(key.used_at for key in keys)
    for key in keys:
        assert key.used_at is None or key.used_at >= key.created_at, key.hint
        assert key.revoked_at is None or key.revoked_at >= key.created_at, key.hint
    for access in FamilyAccess.objects.exclude(key=None).select_related("key"):
        assert access.created_at >= access.key.created_at
        assert access.key.used_at is None or access.created_at <= timezone.now()


def test_accounts_are_confirmed_and_used_after_they_were_opened(demo):
    for user in User.objects.filter(is_staff=False):
        for moment in (user.email_confirmed_at, user.last_login, user.previous_login):
            assert moment is None or moment >= user.date_joined, user.username


def test_an_absence_justified_by_a_certificate_has_it_stored(demo):
    said = Absence.objects.filter(justification__icontains="certificat").select_related(
        "certificate", "child"
    )
    assert said.exists()
    for absence in said:
        certificate = absence.certificate
        assert certificate is not None, absence
        assert certificate.famille_id == absence.famille_id
        assert certificate.personne_id == absence.child_id
        assert certificate.file.storage.exists(certificate.file.name)
        assert certificate.file.read(5) == b"%PDF-"
        # Received after the day it justifies, within the commune's hours.
        received = timezone.localtime(absence.certificate_at)
        assert received.date() > absence.first_day
        hours = absence.commune.absence_certificate_hours
        start = timezone.make_aware(datetime.combine(absence.first_day, time()))
        assert (absence.certificate_at - start).total_seconds() <= hours * 3600


def test_the_agents_read_it_without_contradiction(client, demo):
    client.force_login(User.objects.get(username="csp-enfance"))
    durand = Famille.objects.get(commune__slug=CSP, name="DURAND")
    page = text_of(client.get(f"/{CSP}/guichet/familles/{durand.number}/"))
    assert "Créée le 20/12/2021 10:30" in page
    assert "Utilisée le 03/01/2022 18:05" in page
    absence = Absence.objects.get(famille=durand, justified=True)
    detail = text_of(client.get(f"/{CSP}/guichet/activites/absences/{absence.pk}/"))
    first = f"{absence.first_day:%d/%m/%Y}"
    received = f"{absence.certificate_at.astimezone(timezone.get_current_timezone()):%d/%m/%Y}"
    assert f"Signalée le {first} à 07:45" in detail
    assert f"Certificat reçu le {received} à 08:30 (déposé) — Voir le certificat" in detail
    assert "✓ justifiée — certificat reçu dans les 72 h" in detail
    # The journal tells the certificate in French.
    assert "Justificatif d'absence déposé" in page
    assert "certificat médical : — → joint" in page


def test_the_journal_dates_the_certificate_when_it_was_received(demo):
    """The family journal's « Justificatif d'absence déposé » is dated the morning the file was
    received, like the absence's « Certificat reçu le »: not the day the demo was loaded."""
    absence = Absence.objects.get(famille__commune__slug=CSP, certificate__isnull=False)
    entries = AuditEntry.objects.filter(action="absence.certificate", target_id=str(absence.pk))
    assert entries.count() == 1
    assert entries.get().at == absence.certificate_at
    assert absence.certificate.uploaded_at == absence.certificate_at
