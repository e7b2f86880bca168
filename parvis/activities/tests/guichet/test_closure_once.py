"""One closure a day per activity (issue 18 §2 review): two clicks at once on « Fermer » used to
write two closures (each checked that none existed, then wrote its own). The database now
refuses the second (closure_once_per_activity_day, closure_once_per_day_for_all) and
open_closure returns the first one: one closure, one job, one audit row."""

# ruff: noqa: F811 (the fixtures imported from test_activites)

import threading

import pytest
from django.db import IntegrityError, connections, transaction

from parvis.accounts.models import AuditEntry
from parvis.activities import services_fermeture, services_instruction
from parvis.activities.models import ActivityClosure, Reservation
from parvis.activities.tests.guichet.test_activites import (  # noqa: F401 (fixtures)
    activity,
    booked_child,
    day,
    unit,
)
from parvis.background.models import Job
from parvis.testing.guichet import make_agent


def closing(commune, activity, day, agent, reason="Grève"):
    return services_fermeture.start_closing(
        commune=commune, activity=activity, day=day, reason=reason, actor=agent
    )


@pytest.mark.django_db
def test_the_database_refuses_a_second_closure_of_the_same_day(commune, activity, day):
    ActivityClosure.objects.create(commune=commune, activity=activity, day=day, reason="A")
    ActivityClosure.objects.create(commune=commune, activity=None, day=day, reason="Tout")
    for other in (activity, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            ActivityClosure.objects.create(commune=commune, activity=other, day=day, reason="B")
    # Another day, or one activity beside « all », is another closure.
    ActivityClosure.objects.create(
        commune=commune, activity=activity, day=day.replace(day=1), reason="C"
    )
    assert ActivityClosure.objects.count() == 3


@pytest.mark.django_db
def test_a_second_click_that_checked_before_the_first_wrote_gets_its_closure_and_job(
    commune, activity, unit, day, monkeypatch, django_assert_max_num_queries
):
    booked_child(commune, activity, unit, day)
    agent = make_agent(commune)
    first = closing(commune, activity, day, agent)
    # The second click read « not closed » before the first one's commit.
    monkeypatch.setattr(services_instruction, "closed_already", lambda **kwargs: False)
    with django_assert_max_num_queries(8):
        second = closing(commune, activity, day, agent, reason="Grève (bis)")
    assert first is not None and second == first
    assert ActivityClosure.objects.get().reason == "Grève"
    assert Job.objects.count() == 1
    assert AuditEntry.objects.filter(action="activite.fermeture").count() == 1


@pytest.mark.django_db
def test_close_day_at_the_same_moment_as_another_leaves_the_first_closure(
    commune, activity, unit, day, monkeypatch
):
    booked_child(commune, activity, unit, day)
    first = services_instruction.close_day(
        commune=commune, activity=activity, day=day, reason="Grève", actor=None
    )
    monkeypatch.setattr(services_instruction, "closed_already", lambda **kwargs: False)
    second = services_instruction.close_day(
        commune=commune, activity=activity, day=day, reason="Autre", actor=None
    )
    assert second == first
    assert AuditEntry.objects.filter(action="activite.fermeture").count() == 1
    assert not Reservation.objects.filter(day=day).exists()


@pytest.mark.django_db
def test_a_click_on_a_day_closed_already_is_told_so(commune, activity, day):
    agent = make_agent(commune)
    closing(commune, activity, day, agent)
    with pytest.raises(services_fermeture.AlreadyClosed):
        closing(commune, activity, day, agent)


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_write_one_closure_and_one_job(
    commune, activity, unit, day, monkeypatch
):
    """Real concurrency (two connections; on PostgreSQL the second INSERT waits on the unique
    index for the first's commit). Both passed the check before either wrote."""
    for index in range(3):
        booked_child(commune, activity, unit, day, name=f"FAMILLE{index}")
    agent = make_agent(commune)
    monkeypatch.setattr(services_instruction, "closed_already", lambda **kwargs: False)
    barrier = threading.Barrier(2)
    jobs, errors = [], []

    def click():
        try:
            barrier.wait()
            jobs.append(closing(commune, activity, day, agent))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ActivityClosure.objects.count() == 1
    assert Job.objects.count() == 1
    assert [job.pk for job in jobs] == [Job.objects.get().pk] * 2
    assert AuditEntry.objects.filter(action="activite.fermeture").count() == 1
