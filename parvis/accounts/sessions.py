"""Sessions in the database as Django keeps them (server-side: a logout, a password change or a
purge deletes the row and the session is over on every machine), read with one statement written
once (issue 23, the per-request floor): Django's store builds a queryset on every request, which
costs more CPU than the query itself. Writing, expiring and clearing are Django's."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


def select_sql(connection, table: str) -> str:
    """The data of an unexpired session by its key (the model's own table and column names)."""
    q = connection.ops.quote_name
    where = f"{q('session_key')} = %s AND {q('expire_date')} > %s"
    return f"SELECT {q('session_data')} FROM {q(table)} WHERE {where}"  # noqa: S608


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        connection = connections[router.db_for_read(self.model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                select_sql(connection, self.model._meta.db_table), [self.session_key, now]
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return SimpleNamespace(session_data=row[0])
