"""Issue 18 §2: the periodic commands work commune by commune, each in its scope
(tenancy.for_each_commune): their cost grows by a bounded number of queries per commune, the
work of each commune sees only it, `--commune` names one; the administration's login attempts,
which belong to no commune, go after the platform's duration (PARVIS_ADMIN_ATTEMPTS_DAYS)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from parvis.accounts.models import Attempt
from parvis.communes import periodic, tenancy
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db

# (command, queries of the run whatever the communes, queries per commune with nothing to do).
# The fixed part: the periodic run's record (its INSERT and UPDATE) and the list of communes;
# on PostgreSQL, the job's lock (taken, released) and the runs left « running » by a dead one.
COSTS = [
    ("expire_offers", 3, 1),
    ("send_booking_reminders", 3, 1),
    ("send_penalty_warnings", 3, 1),
    ("send_plan_reminders", 3, 1),
    ("run_invoicing", 3, 1),
    ("purge_drafts", 3, 1),
    ("settle_direct_debits", 3, 1),
    # Each commune's retention counted (a dry run), recorded, and its expired exports; then
    # the administration's attempts (one DELETE).
    ("apply_retention", 4, 13),
]
LOCK = 3


@pytest.fixture(autouse=True)
def _every_run(settings):
    settings.PARVIS_PERIODIC_MIN_INTERVAL = 0


@pytest.mark.parametrize("communes", [1, 3])
@pytest.mark.parametrize(("job", "fixed", "each"), COSTS)
def test_a_periodic_command_costs_a_bounded_number_of_queries_per_commune(
    job, fixed, each, communes, django_assert_max_num_queries
):
    for _ in range(communes):
        CommuneFactory()
    fixed += LOCK if connection.vendor == "postgresql" else 0
    with django_assert_max_num_queries(fixed + each * communes):
        call_command(job, stdout=StringIO())


# (command, the module attribute its per-commune work calls)
WORK = [
    ("expire_offers", "parvis.activities.management.commands.expire_offers.expire_offers"),
    (
        "send_booking_reminders",
        "parvis.activities.management.commands.send_booking_reminders.send_booking_reminders",
    ),
    (
        "send_plan_reminders",
        "parvis.billing.management.commands.send_plan_reminders.remind_instalments",
    ),
    (
        "settle_direct_debits",
        "parvis.payments.management.commands.settle_direct_debits.settle_due_batches",
    ),
    ("purge_drafts", "parvis.demarches.management.commands.purge_drafts._purge"),
    ("apply_retention", "parvis.rgpd.services.run_retention"),
]


@pytest.mark.parametrize(("job", "target"), WORK)
def test_each_communes_work_runs_in_its_scope_and_one_commune_alone(job, target, monkeypatch):
    real = __import__("importlib").import_module(target.rsplit(".", 1)[0])
    name = target.rsplit(".", 1)[1]
    original = getattr(real, name)
    seen = []

    def spy(*args, **kwargs):
        seen.append(tenancy.current_commune_id())
        return original(*args, **kwargs)

    monkeypatch.setattr(real, name, spy)
    b, a, c = CommuneFactory(slug="b"), CommuneFactory(slug="a"), CommuneFactory(slug="c")
    call_command(job, stdout=StringIO())
    assert seen == [a.pk, b.pk, c.pk]  # by slug, each in its scope
    assert tenancy.current_commune_id() is None
    seen.clear()
    call_command(job, "--commune", "c", stdout=StringIO())
    assert seen == [c.pk]
    with pytest.raises(CommandError, match="Commune inconnue : nulle-part"):
        call_command(job, "--commune", "nulle-part")


def test_the_reminders_are_for_the_communes_online():
    # An offline commune is not served (its reminders neither): the service read it before.
    CommuneFactory(slug="hors-ligne", is_active=False)
    online = CommuneFactory(slug="en-ligne")
    assert [c.pk for c in periodic.communes_named(None, active_only=True)] == [online.pk]


# In UTC: « now − 90 days » in Paris would cross the change of hour.
NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def _attempt(commune, age: timedelta) -> Attempt:
    return Attempt.objects.create(
        commune=commune,
        kind=Attempt.Kind.ADMIN_LOGIN if commune is None else Attempt.Kind.LOGIN,
        identifier="admin",
        at=NOW - age,
    )


@pytest.mark.parametrize("days", [30, 90])
def test_the_administrations_attempts_go_after_the_platforms_duration(settings, days):
    settings.PARVIS_ADMIN_ATTEMPTS_DAYS = days
    commune = CommuneFactory()
    limit = timedelta(days=days)
    kept = [
        _attempt(None, limit - timedelta(days=1)),  # the day before
        _attempt(None, limit),  # not strictly older than « now − duration »
        # A commune's attempts follow its own rule (a dry run until it is turned on).
        _attempt(commune, limit + timedelta(days=1)),
    ]
    _attempt(None, limit + timedelta(days=1))  # the day after
    _attempt(None, limit + timedelta(seconds=1))
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("apply_retention", stdout=out)
    assert "2 tentative(s) de connexion à l'administration supprimée(s)." in out.getvalue()
    assert set(Attempt.objects.all()) == set(kept)


def test_one_communes_retention_leaves_the_administrations_attempts(settings):
    commune = CommuneFactory(slug="seule")
    old = _attempt(None, timedelta(days=settings.PARVIS_ADMIN_ATTEMPTS_DAYS + 1))
    with time_machine.travel(NOW, tick=False):
        call_command("apply_retention", "--commune", commune.slug, stdout=StringIO())
    assert list(Attempt.objects.all()) == [old]
