"""parvis.communes.prepared: a query of every request compiled once, giving exactly what the ORM
gives (issue 23, the per-request floor)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.accounts.models import User
from parvis.communes import selectors
from parvis.communes.models import Commune, Service
from parvis.communes.prepared import Prepared
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.families.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


def values(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_the_account_and_its_commune_are_the_orms_and_read_in_one_statement():
    account = Prepared(lambda pk: User.objects.select_related("commune").filter(pk=pk))
    first, second = CitizenFactory(), CitizenFactory(commune=CommuneFactory(website="https://x.fr"))
    for user in (first, second, first):  # compiled by the first, run again for the others
        with CaptureQueriesContext(connection) as queries:
            got = account.first(user.pk)
            assert got.commune.website == user.commune.website
        assert len(queries) == 1
        orm = User.objects.select_related("commune").get(pk=user.pk)
        assert values(got) == values(orm)
        assert values(got.commune) == values(orm.commune)
        # Typed as the ORM types them (dates and times through the database's converters).
        assert type(got.date_joined) is type(orm.date_joined)
        assert got._state.adding is False and got._state.db == "default"
    assert account.first(max(first.pk, second.pk) + 1000) is None


def test_the_values_of_each_call_are_the_ones_asked_for():
    by_slug = Prepared(lambda slug: Commune.objects.filter(is_active=True, slug=slug))
    CommuneFactory(slug="alpha", name="Alpha")
    CommuneFactory(slug="beta", name="Beta")
    CommuneFactory(slug="gamma", name="Gamma", is_active=False)
    assert by_slug.first("alpha").name == "Alpha"
    assert by_slug.first("beta").name == "Beta"
    assert by_slug.first("gamma") is None  # the query's own condition is kept
    assert by_slug.first("delta") is None


def test_commune_by_slug_reads_what_it_read_before(django_assert_num_queries):
    commune = CommuneFactory(slug="ici")
    with django_assert_num_queries(1):
        assert values(selectors.commune_by_slug("ici")) == values(commune)
    Commune.objects.filter(pk=commune.pk).update(name="Ailleurs")
    assert selectors.commune_by_slug("ici").name == "Ailleurs"  # nothing kept but the SQL
    Commune.objects.filter(pk=commune.pk).update(is_active=False)
    assert selectors.commune_by_slug("ici") is None


def test_a_value_of_another_type_goes_through_the_orm():
    user = CitizenFactory()
    account = Prepared(lambda pk: User.objects.filter(pk=pk))
    assert account.first(str(user.pk)).pk == user.pk
    assert getattr(account._local, "compiled", None) is None


def test_a_value_that_cannot_be_told_apart_goes_through_the_orm():
    same = Prepared(lambda slug: Commune.objects.filter(slug=slug, name=slug))
    CommuneFactory(slug="double", name="double")
    assert same.first("double").slug == "double"
    assert getattr(same._local, "compiled", None) is None


def test_a_communes_table_is_refused_its_current_commune_would_be_kept():
    service = ServiceFactory()
    with pytest.raises(ImproperlyConfigured, match=r"communes\.Service"):
        Prepared(lambda pk: Service.objects.filter(pk=pk)).first(service.pk)
