from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from parvis.demarches import services
from parvis.demarches.models import Demande
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


def test_abandoned_drafts_go_and_the_others_stay(capsys):
    procedure = ProcedureFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        anonymous_old = services.start_draft(procedure=procedure, draft_key="a")
        citizen = CitizenFactory(commune=procedure.commune)
        account_draft = services.start_draft(procedure=procedure, user=citizen)
        submitted = services.start_draft(procedure=procedure, draft_key="b")
        services.submit(demande=submitted, contact_name="A", contact_email="a@example.fr")
    with time_machine.travel(start + timedelta(days=2, minutes=1), tick=False):
        anonymous_fresh = services.start_draft(procedure=procedure, draft_key="c")
        call_command("purge_drafts")
    remaining = set(Demande.objects.values_list("pk", flat=True))
    assert anonymous_old.pk not in remaining
    assert {account_draft.pk, submitted.pk, anonymous_fresh.pk} <= remaining
    assert "1 brouillon(s) supprimé(s)." in capsys.readouterr().out
