from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from parvis.accounts.models import Attempt
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db


def test_attempts_older_than_the_retention_are_deleted_and_recent_ones_kept(capsys):
    commune = CommuneFactory()
    now = timezone.now()
    old = Attempt.objects.create(commune=commune, kind="login", identifier="a@b.fr",
                                 at=now - timedelta(days=30, minutes=1))  # fmt: skip
    recent = Attempt.objects.create(commune=commune, kind="login", identifier="a@b.fr",
                                    at=now - timedelta(days=29, hours=23))  # fmt: skip
    call_command("purge_attempts")
    assert not Attempt.objects.filter(pk=old.pk).exists()
    assert Attempt.objects.filter(pk=recent.pk).exists()
    assert "1 tentative(s) supprimée(s)" in capsys.readouterr().out


def test_the_administrations_attempts_are_left_to_the_platforms_retention(settings):
    """PARVIS_ADMIN_ATTEMPTS_DAYS (apply_retention) rules the /admin/ door's attempts: 90 days
    set, an attempt of 40 days stays after purge_attempts, a commune's of 40 days goes."""
    settings.PARVIS_ADMIN_ATTEMPTS_DAYS = 90
    commune = CommuneFactory()
    at = timezone.now() - timedelta(days=40)
    admin = Attempt.objects.create(commune=None, kind="admin_login", identifier="op", at=at)
    door = Attempt.objects.create(commune=commune, kind="login", identifier="a@b.fr", at=at)
    call_command("purge_attempts")
    assert Attempt.objects.filter(pk=admin.pk).exists()
    assert not Attempt.objects.filter(pk=door.pk).exists()
