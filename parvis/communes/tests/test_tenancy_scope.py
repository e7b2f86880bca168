"""The current commune (parvis.communes.tenancy): set for a /<commune>/ request, it puts
commune_id into every query of a commune's table; without it nothing changes."""

from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext

from parvis.background import jobs
from parvis.communes import tenancy
from parvis.communes.middleware import CommuneMiddleware
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import Famille, Personne
from parvis.families.tests.factories import ChildFactory, FamilleFactory
from parvis.rgpd.models import ExportStatusChange
from parvis.testing.commune_sql import commune_tables, offences


def sql(queryset) -> str:
    return str(queryset.query)


def test_without_a_current_commune_queries_are_unchanged():
    assert tenancy.current_commune_id() is None
    assert "commune_id" not in sql(Personne.objects.filter(famille_id=1).only("pk"))


def test_a_current_commune_filters_lists_and_joins():
    with tenancy.scope(7):
        assert tenancy.current_commune_id() == 7
        listed = sql(Personne.objects.filter(famille__name="DURAND").only("pk"))
        # The table's own predicate, and the join's co-located match.
        assert '"families_personne"."commune_id" = 7' in listed
        assert '"families_famille"."commune_id" = ("families_personne"."commune_id")' in listed
        assert '"rgpd_exportstatuschange"."commune_id" = 7' in sql(ExportStatusChange.objects.all())
    assert tenancy.current_commune_id() is None


def test_related_access_and_saves_are_scoped(db):
    famille = FamilleFactory()
    child = ChildFactory(famille=famille)
    other = FamilleFactory()
    with tenancy.scope(famille.commune_id):
        child = Personne.objects.get(pk=child.pk)
        with CaptureQueriesContext(connection) as captured:
            assert child.famille == famille  # forward: the base manager
            assert list(famille.members.all()) == [child]  # reverse: the related manager
            child.save(update_fields=["first_names"])
        assert len(captured.captured_queries) == 3
        assert all('."commune_id" = ' in q["sql"] for q in captured.captured_queries)
        # Another commune's row is out of reach.
        assert not Famille.objects.filter(pk=other.pk).exists()
    assert Famille.objects.filter(pk=other.pk).exists()


def test_exclude_across_a_reverse_relation_works_in_a_scope(db):
    # exclude() asks the join restriction with no alias for the outer side: an unqualified
    # commune_id there was ambiguous with two commune tables in the subquery (OperationalError).
    kept = FamilleFactory(name="DURAND")
    ChildFactory(famille=kept, first_names="Léa")
    dropped = FamilleFactory(commune=kept.commune, name="MARTIN")
    ChildFactory(famille=dropped, first_names="Tom")
    FamilleFactory(name="AUTRE")  # another commune
    with tenancy.scope(kept.commune_id):
        found = Famille.objects.exclude(members__first_names="Tom", members__famille__name="MARTIN")
        assert set(found) == {kept}


def test_a_commune_request_is_scoped_and_the_scope_ends_with_it(db, client):
    commune = CommuneFactory()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/{commune.slug}/").status_code == 200
    assert tenancy.current_commune_id() is None
    tables = commune_tables()
    reads = [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in tables)]
    assert reads
    assert [offence for q in reads for offence in offences(q, tables)] == []


def test_the_commune_middleware_sets_the_current_commune_for_the_view_only(db, rf):
    commune = CommuneFactory()
    seen = []

    def view(request):
        seen.append(tenancy.current_commune_id())
        return HttpResponse()

    def handler(request):
        return middleware.process_view(request, view, (), {"commune": commune.slug}) or view(
            request
        )

    middleware = CommuneMiddleware(handler)
    middleware(rf.get(f"/{commune.slug}/"))
    assert seen == [commune.pk]
    assert tenancy.current_commune_id() is None


def test_a_background_jobs_batches_run_in_its_communes_scope(db, monkeypatch):
    seen = []

    def run_batch(job, items):
        seen.append(tenancy.current_commune_id())
        return {}

    monkeypatch.setitem(
        jobs.KINDS, "test.scope",
        jobs.JobKind(label="Portée", run_batch=run_batch, summary=lambda job: [], batch_size=1),
    )  # fmt: skip
    job = jobs.create(commune_id=42, actor_id=None, kind="test.scope", items=[1, 2])
    jobs.run(job.pk)
    assert seen == [42, 42]
    assert tenancy.current_commune_id() is None
