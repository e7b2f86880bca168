"""Closing a day at once (close_day: the admin's closure) costs its request the same queries
whatever the number of families told (issue 17 §4: the e-mails are queued together, in one
statement and one task). The guichet's closing is a background job whose batches cost the same
whatever their length: guichet/test_fermeture.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis import mail as parvis_mail
from parvis.activities.models import Reservation
from parvis.activities.services_instruction import close_day
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_offres import MONDAY, NOW, Family
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db


class Queued:
    """Stands for the batch task: records what would be sent (the worker's queries are not the
    request's)."""

    def __init__(self):
        self.batches = []

    def enqueue(self, *, email_ids):
        self.batches.append(email_ids)


def queries_of_closing(families: int, capture, monkeypatch) -> tuple[int, list]:
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=families + 5, slug=f"peri-{families}")
    for n in range(families):
        person = Family(commune, f"FAMILLE{n}")
        register(person.child, activity)
        person.book(activity, add=[MONDAY], now=NOW)
    queued = Queued()
    monkeypatch.setattr(parvis_mail, "send_emails", queued)
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        close_day(commune=commune, activity=activity, day=MONDAY, reason="Grève", actor=None)
    assert not Reservation.objects.filter(unit__activity=activity, day=MONDAY).exists()
    return len(queries), queued.batches


def test_closing_a_day_costs_the_same_for_2_or_12_families(
    django_capture_on_commit_callbacks, monkeypatch
):
    few, few_batches = queries_of_closing(2, django_capture_on_commit_callbacks, monkeypatch)
    many, many_batches = queries_of_closing(12, django_capture_on_commit_callbacks, monkeypatch)
    assert few == many
    assert [len(batch) for batch in few_batches + many_batches] == [2, 12]
