"""Django's database sessions, read with one plain SELECT (settings.SESSION_ENGINE).

Every signed-in request reads its session first. Django builds that query through the ORM
each time (about half a millisecond of CPU, more than the database spends on it); this store
sends the same SELECT of the one column load() reads, with the same conditions: the key, and
an expiry date still to come. Writing, creating and deleting sessions are Django's own.
"""

from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def load(self) -> dict[str, Any]:
        key = self.session_key
        if key is None:  # no cookie, or one Django refused as malformed
            return {}
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                [key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's: a new session gets a new key
            return {}
        return self.decode(row[0])
