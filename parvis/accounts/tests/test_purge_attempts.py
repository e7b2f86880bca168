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
