"""Periodic jobs may start on every host at the same minute: one runs (a PostgreSQL advisory
lock per job), the others say so and exit 0; every run is recorded, failures too; the commands
cover every commune unless `--commune` names one."""

import logging
import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from parvis.background import selectors
from parvis.background.models import PeriodicRun
from parvis.background.periodic import PeriodicCommand, lock_key, periodic_run
from parvis.billing.models import Regie
from parvis.communes.tests.factories import CommuneFactory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_run_is_recorded_with_its_host_and_summary():
    output = run("purge_attempts")
    [record] = PeriodicRun.objects.all()
    assert record.job == "purge_attempts"
    assert record.status == "succeeded"
    assert record.summary == output.strip()
    assert record.summary.startswith("0 tentative(s) supprimée(s)")
    assert record.host and record.pid
    assert record.started_at <= record.finished_at


@pytest.mark.django_db
def test_a_failed_run_is_recorded_and_logged_at_error(caplog):
    # The month has not ended: refused, the command fails (the timer sees it) and says why.
    with pytest.raises(CommandError, match="Ce mois n'est pas terminé"):
        call_command("run_invoicing", "--month", timezone.localdate().strftime("%Y-%m"))
    [record] = PeriodicRun.objects.all()
    assert (record.job, record.status) == ("run_invoicing", "failed")
    assert record.finished_at is not None
    assert "CommandError: Ce mois n'est pas terminé" in record.summary
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith("Periodic job run_invoicing failed on ")


@pytest.mark.django_db
def test_without_commune_a_command_covers_every_commune_and_with_it_one():
    for slug in ("aubergenville", "villebois"):
        Regie.objects.create(commune=CommuneFactory(slug=slug), name="Régie", code="ENF")
    assert (
        run("run_invoicing", "--preview", "--month", "2026-01").splitlines()
        == [
            "ENF 2026-01 (aperçu) : 0 facture(s) à émettre, 0,00 €.",
        ]
        * 2
    )
    assert run("send_penalty_warnings", "--month", "2026-01") == (
        "ENF 2026-01 : 0 avertissement(s) envoyé(s).\n" * 2
    )
    assert run("run_invoicing", "--commune", "villebois", "--preview", "--month", "2026-01") == (
        "ENF 2026-01 (aperçu) : 0 facture(s) à émettre, 0,00 €.\n"
    )
    with pytest.raises(CommandError, match="Commune inconnue : nulle-part"):
        run("send_penalty_warnings", "--commune", "nulle-part")
    summaries = [r.summary for r in PeriodicRun.objects.order_by("started_at", "pk")]
    assert [len(s.splitlines()) for s in summaries] == [2, 2, 1, 1]


@pytest.mark.django_db
def test_run_periodic_wraps_djangos_commands_and_passes_parvis_own_on(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert run("run_periodic", "clearsessions") == ""
    run("run_periodic", "prune_db_task_results", "--", "--min-age-days", "7")
    assert run("run_periodic", "purge_drafts") == "0 brouillon(s) supprimé(s).\n"
    assert [(r.job, r.status) for r in selectors.last_runs()] == [
        ("clearsessions", "succeeded"),
        ("prune_db_task_results", "succeeded"),
        ("purge_drafts", "succeeded"),
    ]
    # The job's own options reach it: a wrong one fails the run, recorded.
    with pytest.raises(CommandError, match="min-age-days"):
        run("run_periodic", "prune_db_task_results", "--", "--min-age-days", "jamais")
    assert selectors.last_runs()[1].status == "failed"
    with pytest.raises(CommandError, match="Commande inconnue : nulle"):
        run("run_periodic", "nulle")
    with pytest.raises(CommandError, match="check n'est pas une tâche périodique"):
        run("run_periodic", "check")


@pytest.mark.django_db
def test_last_runs_gives_the_latest_run_of_each_job():
    now = timezone.now()
    for job, minutes, status in [
        ("expire_offers", 10, "failed"),
        ("expire_offers", 5, "succeeded"),
        ("purge_drafts", 60, "succeeded"),
    ]:
        PeriodicRun.objects.create(
            job=job, host="a", started_at=now - timedelta(minutes=minutes), status=status
        )
    assert [(r.job, r.status) for r in selectors.last_runs()] == [
        ("expire_offers", "succeeded"),
        ("purge_drafts", "succeeded"),
    ]


def test_each_job_has_its_own_stable_lock_key():
    # The same on every host and in every process (Python's hash() is not).
    assert lock_key("expire_offers") == lock_key("expire_offers") != lock_key("purge_drafts")
    assert -(2**63) <= lock_key("expire_offers") < 2**63
    assert lock_key("purge_drafts") == -5907102750859572046


# --- Two hosts at the same minute (PostgreSQL's advisory locks) --------------------------------


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="advisory locks are PostgreSQL's; SQLite serves one host, where no lock is taken",
)


class Blocking(PeriodicCommand):
    """A job that holds its lock until told to finish."""

    job = "test_blocking"

    def __init__(self, started: threading.Event, finish: threading.Event):
        super().__init__()
        self.started, self.finish = started, finish

    def run(self, *args, **options) -> str:
        self.started.set()
        assert self.finish.wait(10)
        return "fini"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_hosts_starting_the_same_job_run_it_once():
    started, finish = threading.Event(), threading.Event()
    outputs, errors = {}, []

    def host(name: str, wait_for: threading.Event | None):
        try:
            if wait_for is not None:
                assert wait_for.wait(10)
            out = StringIO()
            call_command(Blocking(started, finish), stdout=out)
            outputs[name] = out.getvalue()
        except BaseException as error:  # seen by the test's thread
            errors.append(error)
        finally:
            if wait_for is not None:
                finish.set()  # the second host is done: the first may end
            connection.close()

    first = threading.Thread(target=host, args=("a", None))
    second = threading.Thread(target=host, args=("b", started))
    first.start()
    second.start()
    first.join(20)
    second.join(20)
    assert errors == []
    assert outputs == {
        "a": "fini\n",
        "b": "test_blocking : déjà en cours sur une autre machine, rien à faire ici.\n",
    }
    [record] = PeriodicRun.objects.all()
    assert (record.job, record.status, record.summary) == ("test_blocking", "succeeded", "fini")
    # The lock is released at the end: the next run runs.
    finish.set()
    assert run(Blocking(threading.Event(), finish)) == "fini\n"
    assert PeriodicRun.objects.count() == 2


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_run_left_running_by_a_dead_process_is_marked_interrupted():
    dead = PeriodicRun.objects.create(job="purge_drafts", host="a", started_at=timezone.now())
    with periodic_run("purge_drafts"):
        pass
    dead.refresh_from_db()
    assert (dead.status, dead.finished_at is not None) == ("interrupted", True)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's behaviour")
@pytest.mark.django_db
def test_on_sqlite_a_job_runs_without_a_lock():
    with periodic_run("purge_drafts"), periodic_run("purge_drafts"):
        pass
    assert PeriodicRun.objects.filter(status="succeeded").count() == 2


@pytest.mark.django_db
def test_a_regie_that_cannot_be_billed_does_not_stop_the_others(monkeypatch):
    from parvis.billing import invoicing
    from parvis.billing.management.commands import run_invoicing

    for slug in ("aubergenville", "villebois"):
        Regie.objects.create(commune=CommuneFactory(slug=slug), name="Régie", code="ENF")
    billed = []

    def issue_run(*, regie, month, actor):
        if regie.commune.slug == "aubergenville":
            error = invoicing.MissingTariff.__new__(invoicing.MissingTariff)
            ValueError.__init__(error, "Aucun tarif pour Cantine.")
            raise error
        billed.append(regie.commune.slug)
        return SimpleNamespace(invoice_count=3, total=Decimal("12.30"))

    monkeypatch.setattr(run_invoicing, "issue_run", issue_run)
    with pytest.raises(CommandError) as raised:
        call_command("run_invoicing", "--month", "2026-01")
    assert billed == ["villebois"]
    assert str(raised.value).splitlines() == [
        "ENF 2026-01 : 3 facture(s), 12,30 €.",
        "aubergenville ENF : Aucun tarif pour Cantine.",
    ]
    assert PeriodicRun.objects.get().status == "failed"


@pytest.mark.django_db
def test_purge_emails_forgets_sent_ones_after_30_days_and_failed_ones_after_90():
    from parvis.background.models import OutgoingEmail

    now = timezone.now()
    kept = []
    for status, days, stays in [
        ("sent", 31, False),
        ("sent", 29, True),
        ("failed", 91, False),
        ("failed", 89, True),
        ("queued", 200, True),
    ]:
        row = OutgoingEmail.objects.create(to=["a@example.fr"], subject="s", status=status)
        OutgoingEmail.objects.filter(pk=row.pk).update(created_at=now - timedelta(days=days))
        if stays:
            kept.append(row.pk)
    assert run("purge_emails") == "1 e-mail(s) envoyé(s) et 1 en échec supprimé(s).\n"
    assert sorted(OutgoingEmail.objects.values_list("pk", flat=True)) == kept


@pytest.mark.django_db
def test_a_job_another_host_has_just_run_is_not_run_again(settings):
    # Every host's timer fires at the same second, but the second host may take the lock after
    # the first has finished a job of a few milliseconds: the minimum interval stops it there.
    settings.PARVIS_PERIODIC_MIN_INTERVAL = 60
    first = run("purge_attempts")
    assert first.startswith("0 tentative(s) supprimée(s)")
    assert run("purge_attempts").strip() == (
        "purge_attempts : vient d'être fait sur une autre machine, rien à faire ici."
    )
    assert run("run_periodic", "clearsessions") == ""  # another job: runs
    assert "vient d'être fait" in run("run_periodic", "clearsessions")
    assert PeriodicRun.objects.filter(job="purge_attempts").count() == 1
    # 61 seconds later (the next timer is 5 minutes away at the soonest), it runs again.
    PeriodicRun.objects.update(started_at=timezone.now() - timedelta(seconds=61))
    assert run("purge_attempts").startswith("0 tentative(s)")
    assert PeriodicRun.objects.filter(job="purge_attempts").count() == 2


@pytest.mark.django_db
def test_a_failed_run_moments_ago_does_not_stop_the_next(settings):
    settings.PARVIS_PERIODIC_MIN_INTERVAL = 60
    PeriodicRun.objects.create(
        job="purge_attempts", host="a", pid=1, started_at=timezone.now(), status="failed"
    )
    assert run("purge_attempts").startswith("0 tentative(s)")
