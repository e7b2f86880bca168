"""Issue 18 §2: the deadline reminders (a periodic command) work in each commune's scope, so
that every query of a commune's table says its commune_id (parvis.testing.commune_sql)."""

# ruff: noqa: F811 (the fixtures imported from test_rappels)

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.tests.test_rappels import THURSDAY_10H, family, run  # noqa: F401
from parvis.communes import tenancy
from parvis.testing.commune_sql import commune_tables, offences

pytestmark = pytest.mark.django_db


def test_the_reminders_of_a_commune_say_its_commune_id_in_every_query(run, family):
    tables = commune_tables()
    with CaptureQueriesContext(connection) as captured:
        assert run(THURSDAY_10H, commune=family["commune"]) == 1
    statements = [query["sql"] for query in captured.captured_queries]
    assert sum(any(f'"{table}"' in sql for table in tables) for sql in statements) > 5
    assert [str(o) for sql in statements for o in offences(sql, tables)] == []
    assert len(mail.outbox) == 1
    assert tenancy.current_commune_id() is None


def test_across_communes_only_the_list_of_activities_reads_every_commune(run, family):
    with CaptureQueriesContext(connection) as captured:
        assert run(THURSDAY_10H) == 1
    found = [o for query in captured.captured_queries for o in offences(query["sql"])]
    # The activities of every active commune and their units: the command's one look across.
    assert {o.table for o in found} <= {
        "activities_activity",
        "activities_inscription",
        "activities_unit",
    }
