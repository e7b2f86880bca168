"""Sessions in the database as Django keeps them (server-side: a logout, a password change or a
purge deletes the row and the session is over on every machine), read and written with
statements written once (issue 23, the per-request floor): Django's store builds a queryset or
saves a model instance on every request, which costs more CPU than the query itself.

At a login (a new key: no fixation) Django's store first looks for a free key (a SELECT), writes
an empty row under it (BEGIN, INSERT, COMMIT), then writes the logged-in data at the response
(BEGIN, UPDATE, COMMIT): seven statements. Here the old row is deleted at once, as before, and
the new key is drawn and written once, with its data, at the response (as Django's flush()
already does): one INSERT, whose primary key refuses a key already taken (it is drawn again:
32 random characters, never in practice). A row is deleted in one DELETE (Django's store reads
it first). Clearing expired sessions is Django's."""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string


def select_sql(connection, table: str) -> str:
    """The data of an unexpired session by its key (the model's own table and column names)."""
    q = connection.ops.quote_name
    where = f"{q('session_key')} = %s AND {q('expire_date')} > %s"
    return f"SELECT {q('session_data')} FROM {q(table)} WHERE {where}"  # noqa: S608


def insert_sql(connection, table: str) -> str:
    q = connection.ops.quote_name
    columns = ", ".join(q(name) for name in ("session_key", "session_data", "expire_date"))
    return f"INSERT INTO {q(table)} ({columns}) VALUES (%s, %s, %s)"  # noqa: S608


def update_sql(connection, table: str) -> str:
    q = connection.ops.quote_name
    values = f"{q('session_data')} = %s, {q('expire_date')} = %s"
    return f"UPDATE {q(table)} SET {values} WHERE {q('session_key')} = %s"  # noqa: S608


def delete_sql(connection, table: str) -> str:
    q = connection.ops.quote_name
    return f"DELETE FROM {q(table)} WHERE {q('session_key')} = %s"  # noqa: S608


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

    def _get_new_session_key(self):
        """No SELECT to find a free key: the INSERT of save(must_create=True) refuses a taken
        one (CreateError) and create() draws another."""
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self):
        """The same data under a new key, the old row deleted now; the new key is drawn and its
        row written when the session is saved (SessionMiddleware, at the response), as after
        flush(). A session left empty is never written."""
        data = self._session
        key = self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True
        if key:
            self.delete(key)

    def delete(self, session_key=None):
        """The row gone in one DELETE (Django's store reads it first, then deletes it)."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        connection = connections[router.db_for_write(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(delete_sql(connection, self.model._meta.db_table), [session_key])

    def save(self, must_create=False):
        """Django's save (an INSERT for a new key, else an UPDATE of an existing row, refused
        when the row is gone), in one statement written once. The INSERT is protected by a
        savepoint only inside a transaction: alone, a refused INSERT leaves nothing to undo."""
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        using = router.db_for_write(self.model)
        connection = connections[using]
        table = self.model._meta.db_table
        expire = connection.ops.adapt_datetimefield_value(self.get_expiry_date())
        encoded = self.encode(data)
        guard = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
        try:
            with guard, connection.cursor() as cursor:
                if must_create:
                    cursor.execute(
                        insert_sql(connection, table), [self.session_key, encoded, expire]
                    )
                else:
                    cursor.execute(
                        update_sql(connection, table), [encoded, expire, self.session_key]
                    )
                    if cursor.rowcount != 1:
                        raise UpdateError
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
