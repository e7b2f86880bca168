"""Issue 18 §2: the communes' journal has a required commune (a table distributed by
commune_id); what concerns no commune goes to the platform's journal. Migration accounts 0011
moves the rows without a commune there, keeping their dates."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from parvis.accounts.models import AuditEntry, PlatformAuditEntry, User
from parvis.accounts.services import audit, audit_many
from parvis.communes.tests.factories import CommuneFactory

BEFORE = [("accounts", "0010_agent_role_concepteur")]
TABLE_MADE = [("accounts", "0011_platform_journal")]
AFTER = [("accounts", "0012_journal_commune_required")]


@pytest.mark.django_db
def test_a_row_of_the_communes_journal_needs_its_commune():
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.create(action="x")


@pytest.mark.django_db
def test_what_concerns_no_commune_goes_to_the_platforms_journal(django_assert_num_queries):
    operator = User.objects.create_superuser("operateur", "op@example.fr", "x")
    commune = CommuneFactory()
    with django_assert_num_queries(1):
        entry = audit(actor=operator, action="account.set_password", commune=None, target=operator)
    assert isinstance(entry, PlatformAuditEntry)
    assert (entry.actor, entry.target_id) == (operator, str(operator.pk))
    with django_assert_num_queries(2):  # one INSERT a journal
        audit_many(
            actor=operator,
            rows=[
                {"action": "a", "commune": commune},
                {"action": "b", "commune": None},
                {"action": "c", "commune": commune, "famille_id": 7},
            ],
        )
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "famille_id")) == [
        ("a", None),
        ("c", 7),
    ]
    assert sorted(PlatformAuditEntry.objects.values_list("action", flat=True)) == [
        "account.set_password",
        "b",
    ]
    with django_assert_num_queries(1):  # the communes' rows only: no query for an empty list
        audit_many(actor=None, rows=[{"action": "d", "commune": commune}])


@pytest.mark.django_db(transaction=True)
def test_0012_moves_the_rows_without_a_commune_with_their_dates_and_goes_back():
    commune = CommuneFactory()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        Entry = old.get_model("accounts", "AuditEntry")
        Entry.objects.create(commune_id=commune.pk, action="famille.create")
        platform = Entry.objects.create(commune_id=None, action="account.set_password")
        at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
        Entry.objects.filter(pk=platform.pk).update(at=at, changes={"x": [1, 2]})
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = MigrationExecutor(connection).loader.project_state(AFTER).apps
        assert list(new.get_model("accounts", "AuditEntry").objects.values_list("action")) == [
            ("famille.create",)
        ]
        moved = new.get_model("accounts", "PlatformAuditEntry").objects.get()
        assert (moved.action, moved.at, moved.changes) == (
            "account.set_password",
            at,
            {"x": [1, 2]},
        )
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        back = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        assert back.get_model("accounts", "AuditEntry").objects.filter(commune=None).count() == 1
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_0012_stopped_halfway_is_finished_by_the_next_migrate(monkeypatch):
    """PostgreSQL: from its first step no row without a commune gets in (old code serving during
    the deploy); if the run stops before the end (here the move fails), `migrate` again moves the
    rows and requires the commune."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs it in one transaction")
    import importlib

    step = importlib.import_module("parvis.accounts.migrations.0012_journal_commune_required")
    commune = CommuneFactory()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(TABLE_MADE)
        old = MigrationExecutor(connection).loader.project_state(TABLE_MADE).apps
        Entry = old.get_model("accounts", "AuditEntry")
        Entry.objects.create(commune_id=None, action="account.set_password")
        real_move = step.move_platform_rows

        def crash(apps, schema_editor):
            raise RuntimeError("the node died")

        monkeypatch.setattr(step.Migration.operations[1], "code", crash)
        with pytest.raises(RuntimeError):
            MigrationExecutor(connection).migrate(AFTER)
        with pytest.raises(IntegrityError), transaction.atomic():
            Entry.objects.create(commune_id=None, action="written by the old code meanwhile")
        Entry.objects.create(commune_id=commune.pk, action="famille.create")
        monkeypatch.setattr(step.Migration.operations[1], "code", real_move)
        MigrationExecutor(connection).migrate(AFTER)
        new = MigrationExecutor(connection).loader.project_state(AFTER).apps
        assert list(new.get_model("accounts", "PlatformAuditEntry").objects.values_list(
            "action", flat=True)) == ["account.set_password"]  # fmt: skip
        assert new.get_model("accounts", "AuditEntry").objects.filter(commune=None).count() == 0
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
