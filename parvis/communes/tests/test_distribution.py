"""Issue 18 §2: every table of a commune's data carries commune_id; on PostgreSQL the database
refuses a row that points to another commune's row (parvis.communes.distribution)."""

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from parvis.communes.distribution import is_commune_table, statements
from parvis.communes.models import CommuneChild
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import CitizenFactory
from parvis.rgpd.models import DataExport, ExportStatus, ExportStatusChange

# The platform's tables: no commune's data, replicated whole on every node of a sharded
# PostgreSQL (« reference tables », README « Towards a distributed PostgreSQL (Citus) »).
# accounts.* with a nullable commune: the operator's account, the administration's attempts and
# its journal belong to no commune (the README says what remains for them).
GLOBAL = {
    "communes.commune": "the list of communes itself",
    "demarches.libraryentry": "the operator's library of procedures, shared by all communes",
    "background.periodicrun": "the periodic commands' runs, one per host and job",
    "background.outgoingemail": "the mail queue, worked by one worker for the whole platform",
    "accounts.user": "the operator has no commune (commune_id is nullable)",
    "accounts.agent": "a proxy of accounts.user",
    "accounts.attempt": "the administration's attempts belong to no commune",
    "accounts.auditentry": "the operator's actions belong to no commune",
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


@postgresql
def test_unique_constraints_lead_with_commune_id(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(%s::regclass), pg_get_indexdef(%s::regclass)",
            ["invoice_number_per_regie", "mandate_rum_unique"],
        )
        number, rum = cursor.fetchone()
    assert "(commune_id, regie_id, number)" in number
    assert "(commune_id, regie_id, rum) WHERE" in rum
