"""Issue 18 §2: every table of a commune's data carries commune_id; on PostgreSQL the database
refuses a row that points to another commune's row (parvis.communes.distribution)."""

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.migrations.state import ProjectState

from parvis.communes.distribution import (
    EnsureCommuneKeys,
    built_columns,
    is_commune_table,
    statements,
)
from parvis.communes.models import CommuneChild
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import CitizenFactory
from parvis.rgpd.models import DataExport, ExportStatus, ExportStatusChange

# The platform's tables: no commune's data, replicated whole on every node of a sharded
# PostgreSQL (« reference tables », README « Towards a distributed PostgreSQL (Citus) »).
# accounts_user is a reference table (the operator's account has no commune, the administration
# finds accounts by username); accounts_attempt and the platform's journal stay on the
# coordinator (README « Towards a distributed PostgreSQL (Citus) »).
GLOBAL = {
    "communes.commune": "the list of communes itself",
    "demarches.libraryentry": "the operator's library of procedures, shared by all communes",
    "background.periodicrun": "the periodic commands' runs, one per host and job",
    "background.outgoingemail": "the mail queue, worked by one worker for the whole platform",
    "accounts.user": "the operator has no commune (commune_id is nullable)",
    "accounts.agent": "a proxy of accounts.user",
    "accounts.attempt": "the administration's attempts belong to no commune",
    "accounts.platformauditentry": "the journal of what concerns no commune",
}


def export_of(commune) -> DataExport:
    return DataExport.objects.create(commune=commune, user=CitizenFactory(commune=commune))


def parvis_models():
    return [m for m in apps.get_models() if m.__module__.startswith("parvis.")]


def test_every_parvis_table_is_a_commune_table_or_a_declared_global_one():
    others = {m._meta.label_lower for m in parvis_models() if not is_commune_table(m)}
    assert others == set(GLOBAL)


def test_a_child_row_takes_its_commune_from_its_parent_when_saved(db):
    export = export_of(CommuneFactory())
    change = ExportStatusChange.objects.create(export=export, to_status=ExportStatus.PRETE)
    assert change.commune_id == export.commune_id
    # Unloaded parent (only its id): read from the database.
    bare = ExportStatusChange(export_id=export.pk, to_status=ExportStatus.PRETE)
    bare.save()
    assert bare.commune_id == export.commune_id


def test_bulk_created_child_rows_take_their_commune_loaded_or_in_one_query(
    db, django_assert_num_queries
):
    first = export_of(CommuneFactory())
    second = export_of(CommuneFactory())
    rows = [
        ExportStatusChange(export=first, to_status=ExportStatus.PRETE),
        ExportStatusChange(export_id=second.pk, to_status=ExportStatus.PRETE),
        ExportStatusChange(export_id=second.pk, to_status=ExportStatus.EXPIREE),
    ]
    # One query for the unloaded parents, one INSERT (no RETURNING-less backend here).
    with django_assert_num_queries(2):
        ExportStatusChange.objects.bulk_create(rows)
    assert [row.commune_id for row in rows] == [first.commune_id] + [second.commune_id] * 2
    explicit = ExportStatusChange(
        commune_id=first.commune_id, export=first, to_status=ExportStatus.PRETE
    )
    with django_assert_num_queries(1):
        ExportStatusChange.objects.bulk_create([explicit])


def test_every_child_model_names_a_parent_that_carries_the_commune():
    for model in parvis_models():
        if issubclass(model, CommuneChild):
            parent = model._meta.get_field(model.commune_parent).related_model
            assert is_commune_table(parent), model


postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="composite keys are PostgreSQL's"
)


# Single-column unique constraints of commune tables that may stay so, with the reason (Citus
# refuses them on a distributed table): none.
SINGLE_COLUMN_ALLOWED: dict[str, str] = {}


def test_every_single_column_unique_field_of_a_commune_table_is_rebuilt_with_the_commune():
    """From the models' metadata: a new unique=True field or one-to-one of a commune table is
    among what EnsureCommuneKeys builds as (column, commune_id)."""
    built = {(s.table, s.columns) for s in statements(apps) if s.kind == "column"}
    found = set()
    for model in parvis_models():
        if not is_commune_table(model):
            continue
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key and field.column != "commune_id":
                found.add((model._meta.db_table, (field.column, "commune_id")))
    assert {
        ("payments_transaction", ("reference", "commune_id")),
        ("activities_bookingpreferences", ("feed_token", "commune_id")),
        ("families_servicekey", ("digest", "commune_id")),
        ("payments_creditorsettings", ("regie_id", "commune_id")),
    } <= found
    assert found == built


postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="composite keys are PostgreSQL's"
)


def _single_column_uniques() -> set[str]:
    """« table.column » of every unique index (constraint or not) on one column of a commune
    table, the primary keys aside, read from the database."""
    tables = [m._meta.db_table for m in parvis_models() if is_commune_table(m)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indisunique AND NOT i.indisprimary AND i.indnatts = 1 "
            "AND t.relname = ANY(%s)",
            [tables],
        )
        return {f"{table}.{column}" for table, column in cursor.fetchall()}


@postgresql
def test_no_commune_table_has_a_unique_column_without_the_commune(db):
    found = _single_column_uniques()
    # A commune's own one-to-one (its FranceConnect client) is unique on commune_id itself.
    assert "accounts_franceconnectconfig.commune_id" in found
    others = {name for name in found if not name.endswith(".commune_id")}
    assert others == set(SINGLE_COLUMN_ALLOWED)


@postgresql
def test_every_key_is_built_on_its_columns_and_validated(db):
    """Reads the columns of each unique index and foreign key from pg_index / pg_constraint
    (not only their names): the keys (commune_id, id), the uniques led by commune_id, the
    composite foreign keys validated and pointing to their parent's (commune_id, id)."""
    wanted = statements(apps)
    assert len(wanted) > 100
    wrong = [
        (s.name, s.columns, built_columns(connection, s.name))
        for s in wanted
        if built_columns(connection, s.name) != list(s.columns)
    ]
    assert wrong == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.conname, f.convalidated, p.relname, "
            "(SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(f.confkey) "
            "WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = f.confrelid "
            "AND a.attnum = k.attnum) FROM pg_constraint f JOIN pg_class p ON p.oid = f.confrelid "
            "WHERE f.contype = 'f' AND f.conname LIKE %s",
            ["%commune_fk%"],
        )
        found = {name: (valid, parent, list(cols)) for name, valid, parent, cols in cursor}
    for statement in wanted:
        if statement.kind == "foreign":
            assert found[statement.name] == (True, statement.references, ["commune_id", "id"])


@postgresql
def test_unique_constraints_lead_with_commune_id(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(%s::regclass), pg_get_indexdef(%s::regclass), "
            "pg_get_indexdef(%s::regclass)",
            [
                "invoice_number_per_regie",
                "mandate_rum_unique",
                "payments_transaction_reference_commune_uniq",
            ],
        )
        number, rum, reference = cursor.fetchone()
    assert "(commune_id, regie_id, number)" in number
    assert "(commune_id, regie_id, rum) WHERE" in rum
    assert "(reference, commune_id)" in reference


@postgresql
def test_every_foreign_key_column_of_a_commune_table_leads_an_index(db):
    """PostgreSQL checks a foreign key on the parent's delete by the column alone (no
    commune_id): without an index led by it, deleting a draft démarche or an account scans the
    table. The single-column uniques rebuilt with the commune keep the column first for that."""
    wanted = {
        (model._meta.db_table, field.column)
        for model in parvis_models()
        if is_commune_table(model)
        for field in model._meta.concrete_fields
        if field.is_relation and field.db_constraint
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indisvalid AND i.indpred IS NULL"
        )
        led = set(cursor.fetchall())
    assert sorted(wanted - led) == []


@postgresql
def test_a_run_over_a_single_column_unique_built_in_the_other_order_rebuilds_it(db):
    """A database where the key of a single-column unique is (commune_id, column) under its name
    (the order of an earlier draft): the next EnsureCommuneKeys swaps in (column, commune_id),
    uniqueness kept throughout (the constraint owns its index: dropping the index first fails)."""
    wanted = next(s for s in statements(apps) if s.kind == "column")
    column = wanted.columns[0]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{wanted.table}" DROP CONSTRAINT "{wanted.name}"')
        cursor.execute(
            f'ALTER TABLE "{wanted.table}" ADD CONSTRAINT "{wanted.name}" '
            f'UNIQUE ("commune_id", "{column}")'
        )
    assert built_columns(connection, wanted.name) == ["commune_id", column]
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=True) as editor:
        EnsureCommuneKeys().database_forwards("rgpd", editor, state, state)
    assert built_columns(connection, wanted.name) == [column, "commune_id"]


def _keys_present() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype IN ('f', 'u') "
            "UNION SELECT relname FROM pg_class WHERE relkind = 'i'"
        )
        return {row[0] for row in cursor.fetchall()}


@postgresql
def test_reversing_a_later_run_leaves_the_keys_an_earlier_one_built(db):
    state = ProjectState.from_apps(apps)
    names = {statement.name for statement in statements(apps)}
    assert names <= _keys_present()
    with connection.schema_editor(atomic=True) as editor:
        EnsureCommuneKeys().database_backwards("rgpd", editor, state, state)
    assert names <= _keys_present()
    # The first run, reversed, drops them all and makes the columns unique on their own again.
    with connection.schema_editor(atomic=True) as editor:
        EnsureCommuneKeys(first=True).database_backwards("rgpd", editor, state, state)
    rebuilt = [s for s in statements(apps) if s.kind == "unique"]  # back under their names
    assert (names - {s.name for s in rebuilt}) & _keys_present() == set()
    assert [s.name for s in rebuilt if built_columns(connection, s.name)[0] == "commune_id"] == []
    assert "payments_transaction.reference" in _single_column_uniques()
    with connection.schema_editor(atomic=True) as editor:
        EnsureCommuneKeys().database_forwards("rgpd", editor, state, state)
    assert names <= _keys_present()
    assert {n for n in _single_column_uniques() if not n.endswith(".commune_id")} == set()


@postgresql
def test_every_foreign_key_between_commune_tables_has_its_composite_twin(db):
    """Fails when a migration adds a table or a foreign key without running
    EnsureCommuneKeys again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype IN ('f', 'u') "
            "UNION SELECT relname FROM pg_class WHERE relkind = 'i'"
        )
        present = {row[0] for row in cursor.fetchall()}
    wanted = {statement.name for statement in statements(apps)}
    assert len(wanted) > 100
    assert wanted - present == set()


@postgresql
def test_the_database_refuses_a_row_pointing_to_another_communes_parent(db):
    export = export_of(CommuneFactory())
    elsewhere = CommuneFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportStatusChange.objects.create(
            commune=elsewhere, export=export, to_status=ExportStatus.PRETE
        )
        connection.check_constraints()  # the keys are deferred to the commit
