"""Issue 23: on PostgreSQL a commune table keeps one foreign key per reference, the composite
(commune_id, x_id) one; Django's single-column twin is dropped (rgpd 0007,
parvis.communes.distribution.DropTwinnedForeignKeys): it checked the same rows a second time at
every commit. The database still refuses what it refused."""

from datetime import date

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState

from parvis.activities.models import BookingEvent, BookingStatus, Reservation
from parvis.activities.tests.factories import make_activity
from parvis.communes.distribution import (
    DropCoveredCommuneKey,
    DropTwinnedForeignKeys,
    DropUncheckedCommuneKeys,
    EnsureCommuneKeys,
    index_columns,
    single_foreign_keys,
    statements,
)
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import Personne
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
)
from parvis.rgpd.models import DataExport, ExportStatus, ExportStatusChange

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="composite keys are PostgreSQL's"
)


def twinned() -> list[tuple[str, str, str]]:
    """(table, column, parent) of every foreign key that has a composite twin."""
    return [(s.table, s.columns[1], s.references) for s in statements(apps) if s.kind == "foreign"]


def singles_left() -> list[tuple[str, str, list[str]]]:
    found = []
    for table, column, parent in twinned():
        names = single_foreign_keys(connection, table, column, parent)
        if names:
            found.append((table, column, names))
    return found


def foreign_keys_of(table: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.contype = 'f' AND c.conrelid = %s::regclass GROUP BY c.oid",
            [table],
        )
        return sorted(list(row[0]) for row in cursor.fetchall())


@postgresql
def test_no_foreign_key_between_commune_tables_is_checked_twice(db):
    """Fails when a migration adds a foreign key between commune tables without running
    EnsureCommuneKeys and DropTwinnedForeignKeys again."""
    assert len(twinned()) > 50
    assert singles_left() == []


@postgresql
def test_a_booking_is_checked_once_per_parent_and_its_history_not_at_all(db):
    """The hot tables of « Valider »: a booking's one composite key per parent (its commune's
    existence checked through the child's); the history, written from the bookings' values,
    none (each key was a trigger per row: README « The rush, a third evening »)."""
    assert foreign_keys_of("activities_reservation") == [
        ["commune_id", "child_id"],
        ["commune_id", "famille_id"],
        ["commune_id", "unit_id"],
    ]
    assert foreign_keys_of("activities_bookingevent") == []
    # The models keep their foreign keys: the deletion collector, forms and SQLite as before.
    assert {f.name for f in Reservation._meta.concrete_fields if f.is_relation} == {
        "commune", "famille", "child", "unit",
    }  # fmt: skip
    assert {f.name for f in BookingEvent._meta.concrete_fields if f.is_relation} == {
        "commune", "famille", "child", "unit", "actor",
    }  # fmt: skip
    assert not any(f.db_constraint for f in BookingEvent._meta.concrete_fields if f.is_relation)


def booking_world():
    child = ChildFactory()
    unit = make_activity(child.commune).units.get()
    return child, unit


def _book(child, unit, **overrides) -> None:
    fields = {
        "commune_id": child.commune_id, "famille_id": child.famille_id, "child_id": child.pk,
        "unit_id": unit.pk, "day": date(2027, 1, 5), "status": BookingStatus.RESERVEE,
        **overrides,
    }  # fmt: skip
    Reservation.objects.bulk_create([Reservation(**fields)])
    connection.check_constraints()  # the keys are deferred to the commit


def test_a_booking_in_a_commune_that_does_not_exist_is_still_refused(db):
    """On PostgreSQL its own key to the commune is gone and its key to the child refuses it
    (the keys to the family and the unit set aside here, so that only the child's answers);
    SQLite keeps Django's key to the commune."""
    if connection.vendor == "postgresql":  # before any row: no check pending on them
        assert ["commune_id"] not in foreign_keys_of("activities_reservation")
        with connection.cursor() as cursor:  # undone with the test's transaction
            for column in ("famille_id", "unit_id"):
                cursor.execute(
                    "ALTER TABLE activities_reservation DROP CONSTRAINT "
                    f"activities_reservation_{column}_commune_fk"
                )
        assert foreign_keys_of("activities_reservation") == [["commune_id", "child_id"]]
    child, unit = booking_world()
    with pytest.raises(IntegrityError), transaction.atomic():
        _book(child, unit, commune_id=child.commune_id + 10_000)
    _book(child, unit)
    assert Reservation.objects.filter(child=child).count() == 1


@postgresql
def test_a_booking_in_another_commune_than_its_parents_is_refused(db):
    child, unit = booking_world()
    other = CommuneFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        _book(child, unit, commune_id=other.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        _book(child, unit, unit_id=make_activity(other, slug="autre").units.get().pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        _book(child, unit, unit_id=unit.pk + 10_000)


def _event(person, unit, actor=None) -> BookingEvent:
    return BookingEvent.objects.create(
        commune_id=person.commune_id, famille_id=person.famille_id, child=person, unit=unit,
        day=date(2027, 1, 5), action="added", status=BookingStatus.RESERVEE, actor=actor,
    )  # fmt: skip


def test_the_history_goes_with_its_parents_and_forgets_a_deleted_actor(db):
    """Without database keys, Django's collector still deletes the history with its child, its
    family (a row of the other household of a shared custody: its child is not deleted) or its
    unit, and clears the actor of an account deleted (on PostgreSQL and SQLite alike)."""
    child, unit = booking_world()
    other, other_unit = booking_world()
    agent = AgentFactory(commune=child.commune)
    kept = _event(other, other_unit, actor=agent)
    _event(child, unit, actor=agent)
    agent.delete()
    assert list(BookingEvent.objects.values_list("actor_id", flat=True)) == [None, None]
    child.delete()
    assert list(BookingEvent.objects.all()) == [kept]

    # The family's own history: the other household of a shared custody books for a child
    # whose row belongs to the first family.
    second = ChildFactory(famille=FamilleFactory(commune=other.commune))
    theirs = BookingEvent.objects.create(
        commune_id=other.commune_id, famille_id=second.famille_id, child=other,
        unit=other_unit, day=date(2027, 1, 6), action="added", status=BookingStatus.RESERVEE,
    )  # fmt: skip
    second.famille.delete()
    assert not BookingEvent.objects.filter(pk=theirs.pk).exists()
    assert BookingEvent.objects.filter(pk=kept.pk).exists()

    other_unit.delete()
    assert not BookingEvent.objects.exists()
    assert Personne.objects.filter(pk=other.pk).exists()


@postgresql
def test_each_key_of_a_booking_leads_one_index_and_no_more(db):
    """An index a booking written maintains for nothing was one more cost at each of them:
    each key column (what a deletion of the parent looks up) leads exactly one index."""
    indexes = index_columns(connection, "activities_reservation")
    for column in ("commune_id", "famille_id", "child_id", "unit_id"):
        assert len([cols for cols in indexes if cols[0] == column]) == 1, (column, indexes)
    assert len(indexes) == 5  # the four and the primary key


@postgresql
def test_the_commune_key_stays_where_nothing_covers_it(db):
    """DropCoveredCommuneKey never drops the only check of a table's commune, nor its only
    index on it: communes' services have no composite key."""
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=True) as editor:
        DropCoveredCommuneKey(model_name="service").database_forwards(
            "communes", editor, state, state
        )
    assert foreign_keys_of("communes_service") == [["commune_id"]]
    assert ["commune_id"] in index_columns(connection, "communes_service")


@postgresql
def test_reversing_the_history_keys_builds_only_that_models_keys(db):
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=True) as editor:
        DropUncheckedCommuneKeys(model_name="reservation").database_backwards(
            "activities", editor, state, state
        )
    assert foreign_keys_of("activities_bookingevent") == []
    with connection.schema_editor(atomic=True) as editor:
        DropUncheckedCommuneKeys(model_name="bookingevent").database_backwards(
            "activities", editor, state, state
        )
    assert foreign_keys_of("activities_bookingevent") == [
        ["commune_id", "child_id"], ["commune_id", "famille_id"], ["commune_id", "unit_id"],
    ]  # fmt: skip
    with connection.schema_editor(atomic=True) as editor:
        DropUncheckedCommuneKeys(model_name="bookingevent").database_forwards(
            "activities", editor, state, state
        )
    assert foreign_keys_of("activities_bookingevent") == []


def export_of(commune) -> DataExport:
    return DataExport.objects.create(commune=commune, user=CitizenFactory(commune=commune))


@postgresql
def test_a_missing_parent_is_still_refused(db):
    export = export_of(CommuneFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportStatusChange.objects.create(
            commune_id=export.commune_id, export_id=export.pk + 10_000,
            to_status=ExportStatus.PRETE,
        )  # fmt: skip
        connection.check_constraints()  # the keys are deferred to the commit


@postgresql
def test_a_referenced_parent_still_cannot_be_deleted_behind_the_orm(db):
    export = export_of(CommuneFactory())
    ExportStatusChange.objects.create(export=export, to_status=ExportStatus.PRETE)
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute('DELETE FROM "rgpd_dataexport" WHERE "id" = %s', [export.pk])
        connection.check_constraints()


@postgresql
def test_the_orm_deletion_cascades_as_before(db):
    export = export_of(CommuneFactory())
    ExportStatusChange.objects.create(export=export, to_status=ExportStatus.PRETE)
    export.delete()
    assert not ExportStatusChange.objects.filter(export_id=export.pk).exists()


@postgresql
def test_reversed_it_adds_back_djangos_keys_validated_then_drops_them_again(db):
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=True) as editor:
        DropTwinnedForeignKeys().database_backwards("rgpd", editor, state, state)
    restored = {(t, c): single_foreign_keys(connection, t, c, p) for t, c, p in twinned()}
    assert all(len(names) == 1 for names in restored.values())
    # Under Django's own names (what a later AlterField would look for).
    model = Reservation
    field = model._meta.get_field("child")
    with connection.schema_editor(atomic=True) as editor:
        expected = editor._fk_constraint_name(model, field, "_fk_%(to_table)s_%(to_column)s")
        assert restored[("activities_reservation", "child_id")] == [str(expected).strip('"')]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
        )
        assert cursor.fetchone()[0] == 0
    with connection.schema_editor(atomic=True) as editor:
        DropTwinnedForeignKeys().database_forwards("rgpd", editor, state, state)
    assert singles_left() == []


@postgresql
def test_a_composite_key_not_validated_keeps_its_single_twin(db):
    """Never the only check of a column: a composite key added NOT VALID (a run interrupted
    before its VALIDATE) leaves Django's single-column key in place."""
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=True) as editor:
        DropTwinnedForeignKeys().database_backwards("rgpd", editor, state, state)
    statement = next(
        s for s in statements(apps) if s.kind == "foreign" and s.table == "activities_reservation"
    )
    table, column, parent = statement.table, statement.columns[1], statement.references
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{statement.name}"')
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{statement.name}" FOREIGN KEY '
            f'("commune_id", "{column}") REFERENCES "{parent}" ("commune_id", "id") '
            "DEFERRABLE INITIALLY DEFERRED NOT VALID"
        )
    with connection.schema_editor(atomic=True) as editor:
        DropTwinnedForeignKeys().database_forwards("rgpd", editor, state, state)
    left = singles_left()
    assert [(t, c) for t, c, _names in left] == [(statement.table, statement.columns[1])]
    with connection.schema_editor(atomic=True) as editor:
        EnsureCommuneKeys().database_forwards("rgpd", editor, state, state)  # validates it
        DropTwinnedForeignKeys().database_forwards("rgpd", editor, state, state)
    assert singles_left() == []


def test_nothing_to_do_on_sqlite_whose_keys_are_djangos(db):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's")
    state = ProjectState.from_apps(apps)

    class Editor:  # SQLite's schema editor refuses to open inside the test's transaction
        executed: list[str] = []

        def __init__(self):
            self.connection = connection

        def execute(self, sql, params=()):
            self.executed.append(sql)

    editor = Editor()
    DropTwinnedForeignKeys().database_forwards("rgpd", editor, state, state)
    DropTwinnedForeignKeys().database_backwards("rgpd", editor, state, state)
    assert editor.executed == []
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_key_list(activities_reservation)")
        referenced = {row[2] for row in cursor.fetchall()}
    assert {"families_personne", "families_famille", "activities_unit"} <= referenced


@postgresql
def test_the_migration_goes_backwards_and_forwards(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([("activities", "0008_closure_once")])
    # Before activities 0009: the history's keys as every table's, the booking's to the commune.
    history = foreign_keys_of("activities_bookingevent")
    assert history == [
        ["actor_id"], ["commune_id"],
        ["commune_id", "child_id"], ["commune_id", "famille_id"], ["commune_id", "unit_id"],
    ]  # fmt: skip
    assert ["commune_id"] in foreign_keys_of("activities_reservation")
    for column in ("commune_id", "famille_id", "unit_id"):
        assert [column] in index_columns(connection, "activities_reservation"), column
    executor = MigrationExecutor(connection)
    target = [("rgpd", "0006_commune_keys_unique_columns")]
    executor.migrate(target)
    assert len(singles_left()) == len(twinned())
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert singles_left() == []
    assert foreign_keys_of("activities_bookingevent") == []
    assert ["commune_id"] not in foreign_keys_of("activities_reservation")
    assert len(index_columns(connection, "activities_reservation")) == 5
