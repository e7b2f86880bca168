"""The statements written once (parvis.communes.prepared) are prepared on each PostgreSQL
connection and planned once there, without the values (PARVIS_DB_PREPARE, on by default); the
rows stay the ORM's. PostgreSQL only: SQLite has no prepared statements to look at."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from parvis.accounts.models import User
from parvis.communes import prepared
from parvis.communes.models import Commune
from parvis.communes.prepared import Prepared
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import CitizenFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements"),
]


def values(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def prepared_on_this_connection(table: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of the statements prepared on this connection that read
    `table` (Django's cursor: this query itself is not prepared)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE from_sql = false AND statement LIKE %s",
            [f'%FROM "{table}"%'],
        )
        return cursor.fetchall()


def test_a_statement_written_once_is_prepared_once_and_planned_without_its_values():
    account = Prepared(lambda pk: User.objects.select_related("commune").filter(pk=pk))
    users = [CitizenFactory(), CitizenFactory(commune=CommuneFactory(website="https://x.fr"))]
    before = sum(generic for generic, _custom in prepared_on_this_connection("accounts_user"))
    for user in users * 3:
        got = account.first(user.pk)
        orm = User.objects.select_related("commune").get(pk=user.pk)
        assert values(got) == values(orm)  # times included: aware, in the same zone
        assert values(got.commune) == values(orm.commune)
    assert account.first(max(u.pk for u in users) + 1000) is None
    plans = prepared_on_this_connection("accounts_user")
    assert plans, "the statement is prepared on the connection"
    # Seven runs, each with the plan made once without the values; never one made with them.
    assert sum(generic for generic, _custom in plans) - before >= 7
    assert all(custom == 0 for _generic, custom in plans)


@override_settings(PARVIS_DB_PREPARE=False)
def test_off_nothing_is_prepared():
    # A statement no other test prepares on this connection (the rows of a table read by no
    # other statement written once).
    by_name = Prepared(lambda name: Commune.objects.filter(name=name, is_active=False))
    CommuneFactory(name="Sommeil", is_active=False)
    for _ in range(3):
        assert by_name.first("Sommeil").name == "Sommeil"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%"communes_commune"."name" = $%'],
        )
        assert cursor.fetchone()[0] == 0


def test_a_failed_savepoint_leaves_the_statement_usable():
    account = Prepared(lambda pk: User.objects.filter(pk=pk))
    user = CitizenFactory()
    assert account.first(user.pk).pk == user.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Commune.objects.create(slug=user.commune.slug, name="Doublon")
    assert account.first(user.pk).pk == user.pk


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_the_statement_usable():
    # psycopg forgets its prepared statements at a rollback (DEALLOCATE ALL): prepared again.
    account = Prepared(lambda pk: User.objects.filter(pk=pk))
    user = CitizenFactory()
    assert account.first(user.pk).pk == user.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        assert account.first(user.pk).pk == user.pk
        Commune.objects.create(slug=user.commune.slug, name="Doublon")
    assert account.first(user.pk).pk == user.pk
    assert prepared_on_this_connection("accounts_user")


def test_a_threshold_set_in_the_settings_is_kept_and_more_statements_are_kept_prepared():
    # OPTIONS["prepare_threshold"] (psycopg preparing every statement run that often) is the
    # operator's: a statement written once leaves it as it was.
    account = Prepared(lambda pk: User.objects.filter(pk=pk))
    user = CitizenFactory()
    connection.ensure_connection()
    raw = connection.connection
    raw.prepare_threshold = 5
    try:
        assert account.first(user.pk).pk == user.pk
        assert raw.prepare_threshold == 5
        assert raw.prepared_max >= prepared.PREPARED_MAX
    finally:
        raw.prepare_threshold = None
