"""Signed-in pages kept whole, per session, for as long as nothing on them has changed.

Building a signed-in page costs 13-21 ms of CPU (queries, model instances, templates); sending
the same bytes again costs under one. A view marked ``@kept`` has its page kept in the
process's memory and sent again only for the same request (path and query, the whole Cookie
header, so the same session and CSRF cookie, and the same Accept headers), and
only while all of this holds, checked by one query on every request:

- **The data version has not moved.** Database triggers on every table but the few in
  ``left_out_tables()`` add one to a counter (portal.models.DataVersion) in the writer's own
  transaction (on PostgreSQL as it commits), so the new count commits together with the new
  data. The count is read before the page's own queries, outside any transaction: a write
  committed in between leaves the page newer than its count, never older. The triggers are
  installed after every ``migrate``, on every table that exists then (a new table, or one
  SQLite rebuilt, gets them again); tests/portal/test_keep.py fails if one is missing.
- **The session row holds exactly what it held**, and has not expired: signing out anywhere,
  signing in again, a message waiting or a staff member's idle timer moving all miss.
- **The clock has moved less than READER_PAGE_KEEP_SECONDS** since the page was made (a day
  count, a "due" label), and a staff member's session has not run out.

A staff page's audit event ("patient.viewed") is written again on every sending, by an INSERT
that itself checks the data version and the session row (one statement in all). Nothing is
kept that sets a cookie (but the CSRF cookie's renewal), changed the session, showed a
message, or varies by a header the key does not hold.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import split_header_value

from portal.models import AuditEvent, DataVersion

Handler = Callable[[HttpRequest], HttpResponse]

# The request headers a kept page is keyed by, besides its path; a response that varies by
# any other (its Vary header) is not kept. A page is kept as sent: compressed if it was.
KEY_HEADERS = ("HTTP_COOKIE", "HTTP_ACCEPT", "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT_ENCODING", "HTTP_HOST")
KEYED_VARY = {"cookie", "accept", "accept-language", "accept-encoding"}

TRIGGER = "hcc_data_version"


def kept[V: Callable[..., Any]](view: V) -> V:
    """Mark a view whose page, for a signed-in reader, may be kept (the outermost decorator).

    Only for a GET that writes nothing but an audit event, and whose page depends on nothing
    but the database, the session, the request's key headers and the clock."""
    view.kept_for_reader = True  # type: ignore[attr-defined]
    return view


@dataclass
class KeptPage:
    version: int
    session_data: str
    made_at: float
    until: float
    content: bytes
    headers: list[tuple[str, str]]
    cookies: SimpleCookie
    audits: list[AuditEvent] = field(default_factory=list)

    def in_time(self, now: float) -> bool:
        return self.made_at <= now < self.until

    def fresh(self, version: int, session_data: str, now: float) -> bool:
        return version == self.version and session_data == self.session_data and self.in_time(now)

    def audited_again(self, request: HttpRequest, session_key: str) -> bool:
        """Write the page's audit events again, if the data version and the session row are
        still those it was made with: checked by the first event's INSERT itself, so a staff
        page sent again costs one statement. False (nothing written) if either moved."""
        from portal.services import record_audit_again

        first, *others = self.audits
        if not record_audit_again(
            first, request, only_if=unchanged(session_key, self.version, self.session_data)
        ):
            return False
        for event in others:
            record_audit_again(event, request)
        return True

    def response(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(self.content)
        for name, value in self.headers:
            response.headers[name] = value
        response.cookies = SimpleCookie(self.cookies)
        etag = response.headers.get("ETag")
        if etag:
            return get_conditional_response(request, etag=etag, response=response)  # type: ignore[return-value]
        return response


_pages: dict[tuple[str, ...], KeptPage] = {}
_lock = threading.Lock()


def forget(**kwargs: Any) -> None:
    """Drop every kept page (a test changed a setting; pages may depend on settings)."""
    with _lock:
        _pages.clear()
    is_kept_path.cache_clear()


@functools.lru_cache(maxsize=4096)
def is_kept_path(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return getattr(match.func, "kept_for_reader", False)


def state_source(session_key: str) -> tuple[str, list[Any]]:
    """FROM and WHERE (and their parameters) of the one row that holds the data version and
    the live session's data (NULL once the session ended or expired)."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    return (
        f"FROM {quote(DataVersion._meta.db_table)} v LEFT JOIN {quote(Session._meta.db_table)} s "
        "ON s.session_key = %s AND s.expire_date > %s WHERE v.id = 1",
        [session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
    )


def read_state(session_key: str) -> tuple[int, str | None] | None:
    """The data version and the live session's data, in one query; None without a version."""
    source, params = state_source(session_key)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT v.n, s.session_data {source}", params)  # noqa: S608 - our own names
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def unchanged(session_key: str, version: int, session_data: str) -> tuple[str, list[Any]]:
    """An SQL condition (and its parameters): read_state would still read these."""
    source, params = state_source(session_key)
    return (
        f"EXISTS (SELECT 1 {source} AND v.n = %s AND s.session_data = %s)",
        [*params, version, session_data],
    )


def only_csrf_renewed(request: HttpRequest, response: HttpResponse) -> bool:
    """No cookie set, or only the CSRF cookie with the value the browser sent: Django sends
    it again with each page that has a form, just to renew its age. A kept page renews it too."""
    cookies = response.cookies
    name = settings.CSRF_COOKIE_NAME
    return not cookies or (
        set(cookies) == {name} and cookies[name].value == request.COOKIES.get(name) is not None
    )


def may_keep(request: HttpRequest, response: HttpResponse) -> bool:
    messages = getattr(request, "_messages", None)
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    vary = {header.lower() for header in split_header_value(response.get("Vary", ""))}
    return (
        response.status_code == 200
        and not response.streaming
        and only_csrf_renewed(request, response)
        and user is not None
        and user.is_authenticated
        and session is not None
        and not session.modified
        and not (messages is not None and (messages.used or messages.added_new))
        and vary <= KEYED_VARY
    )


class KeptPageMiddleware:
    """Outside GZipMiddleware (a page is compressed once, when it is made) and
    ConditionalGetMiddleware (whose ETag a kept page keeps and answers itself)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if (
            request.method != "GET"
            or not session_key
            or settings.READER_PAGES_KEPT <= 0
            or not is_kept_path(request.path_info)
            # Inside a transaction (a test's), this connection may see writes whose version
            # moves only at their commit: the version read would not be that of the data.
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return self.get_response(request)
        key = (request.get_full_path(), *(request.META.get(name, "") for name in KEY_HEADERS))
        now = timezone.now().timestamp()  # the clock a test fixes, too
        page = _pages.get(key)
        if page is not None and page.audits:
            # A staff page: its audit INSERT checks that nothing changed (one statement).
            if page.in_time(now) and page.audited_again(request, session_key):
                return page.response(request)
            page = None
        state = read_state(session_key)
        if state is None or state[1] is None:  # no version yet, or no live session
            return self.get_response(request)
        version, session_data = state
        if page is not None and page.fresh(version, session_data, now):
            return page.response(request)
        request.hcc_audits = []  # type: ignore[attr-defined]  # filled by services.record_audit
        response = self.get_response(request)
        if may_keep(request, response):
            self.keep(key, request, response, version=version, session_data=session_data, now=now)
        return response

    @staticmethod
    def keep(
        key: tuple[str, ...],
        request: HttpRequest,
        response: HttpResponse,
        *,
        version: int,
        session_data: str,
        now: float,
    ) -> None:
        from portal.middleware import staff_session_ends_at

        until = now + settings.READER_PAGE_KEEP_SECONDS
        ends = staff_session_ends_at(request)
        if ends is not None:
            until = min(until, ends)
        page = KeptPage(
            version=version,
            session_data=session_data,
            made_at=now,
            until=until,
            content=response.content,
            headers=list(response.headers.items()),
            cookies=SimpleCookie(response.cookies),
            audits=list(getattr(request, "hcc_audits", [])),
        )
        with _lock:
            _pages.pop(key, None)
            while len(_pages) >= settings.READER_PAGES_KEPT:
                del _pages[next(iter(_pages))]  # the oldest first
            _pages[key] = page


# --- The triggers ------------------------------------------------------------------------------


def left_out_tables() -> set[str]:
    """Tables whose writes move no version: the counter itself; sessions (each kept page
    compares its own session row); the audit log (a staff read appends to it, and no kept
    page shows it); the shared cache (rate limits and lockouts, on no page)."""
    left_out = {DataVersion._meta.db_table, Session._meta.db_table, AuditEvent._meta.db_table}
    for cache in settings.CACHES.values():
        if cache["BACKEND"].endswith("DatabaseCache"):
            left_out.add(cache["LOCATION"])
    return left_out


def watched_tables(connection: BaseDatabaseWrapper) -> list[str]:
    left_out = left_out_tables()
    return sorted(
        table
        for table in connection.introspection.table_names()
        if table not in left_out and not table.startswith("sqlite_")
    )


def _start(vendor: str) -> str:
    # Microseconds since 1970 (as migration 0011 starts it) if the row was emptied.
    if vendor == "postgresql":
        return "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
    return "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


def _bump(vendor: str) -> str:
    table = DataVersion._meta.db_table
    return (
        f"INSERT INTO {table} (id, n) VALUES (1, {_start(vendor)}) "  # noqa: S608 - our own names
        f"ON CONFLICT (id) DO UPDATE SET n = {table}.n + 1"
    )


# How many triggers each table has: PostgreSQL one, SQLite one per kind of write.
TRIGGERS_PER_TABLE = {"postgresql": 1, "sqlite": 3}


def tables_with_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s AND pg_table_is_visible(c.oid)",
                [f"{TRIGGER}%"],
            )
        else:
            cursor.execute(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [f"{TRIGGER}%"],
            )
        names: dict[str, set[str]] = {}
        for table, name in cursor.fetchall():
            names.setdefault(table, set()).add(name)
    return {table for table, found in names.items() if len(found) == TRIGGERS_PER_TABLE[connection.vendor]}


def install_triggers(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Give every watched table that lacks them the triggers that move the data version
    (post_migrate; a second run changes nothing)."""
    connection = connections[using]
    if connection.vendor not in TRIGGERS_PER_TABLE:
        return
    if DataVersion._meta.db_table not in connection.introspection.table_names():
        return  # migrated back before 0011
    have = tables_with_triggers(connection)
    missing = [table for table in watched_tables(connection) if table not in have]
    if not missing:
        return
    quote = connection.ops.quote_name
    bump = _bump(connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # At commit (a deferred trigger), once per transaction: the counter's row is then
            # the last lock a writer takes, held only while it commits. Taken at the first
            # write instead, it would be held through the transaction, and two writers that
            # each hold a row the other wants next would deadlock on it.
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF current_setting('hcc.data_version_moved', true) IS DISTINCT FROM 'yes' THEN
                        PERFORM set_config('hcc.data_version_moved', 'yes', true);
                        {bump};
                    END IF;
                    RETURN NULL;
                END $$
                """
            )
        for table in missing:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quote(table)}")
                cursor.execute(
                    f"CREATE CONSTRAINT TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {quote(table)} "
                    f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
                )
                continue
            for event in ("INSERT", "UPDATE", "DELETE"):  # SQLite: row triggers, run at once
                name = quote(f"{TRIGGER}_{table}_{event.lower()}")
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {quote(table)} BEGIN {bump}; END"
                )
