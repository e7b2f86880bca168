"""Issue 18 §2: in a commune's scope, the rows Django's deletion collector deletes by their ids
(model.delete(), queryset.delete() of rows with relations) say the commune too, so a deletion
goes to one node on Citus, and deletes nothing of another commune."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.communes import tenancy
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.models import Demande, DemandeCounter
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.testing.commune_sql import offences

pytestmark = pytest.mark.django_db


def _deletes(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE")]


def test_a_rows_delete_in_its_communes_scope_says_the_commune():
    counter = DemandeCounter.objects.create(commune=CommuneFactory(), year=2026)
    with tenancy.scope(counter.commune_id), CaptureQueriesContext(connection) as captured:
        assert counter.delete()[0] == 1
    [delete] = _deletes(captured)
    assert offences(delete) == []
    assert not DemandeCounter.objects.exists()


def test_a_delete_with_relations_in_scope_says_the_commune_in_every_statement():
    procedure = ProcedureFactory()
    demande = Demande.objects.create(commune=procedure.commune, procedure=procedure)
    with tenancy.scope(demande.commune_id), CaptureQueriesContext(connection) as captured:
        Demande.objects.filter(pk=demande.pk).delete()
    deletes = _deletes(captured)
    assert any('FROM "demarches_demande" WHERE' in sql for sql in deletes), deletes
    assert [o for sql in deletes for o in offences(sql)] == []
    assert not Demande.objects.exists()


def test_in_another_communes_scope_a_row_is_not_deleted():
    counter = DemandeCounter.objects.create(commune=CommuneFactory(), year=2026)
    pk, other = counter.pk, CommuneFactory()
    with tenancy.scope(other.pk):
        assert counter.delete()[0] == 0
    assert DemandeCounter.objects.filter(pk=pk).exists()


def test_without_a_scope_a_delete_is_unchanged():
    counter = DemandeCounter.objects.create(commune=CommuneFactory(), year=2026)
    with CaptureQueriesContext(connection) as captured:
        assert counter.delete()[0] == 1
    [delete] = _deletes(captured)
    assert "commune_id" not in delete
