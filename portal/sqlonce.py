"""SQL built once per process for the scoped reads that every signed-in page makes.

Django builds a query's SQL afresh on every call. For the reads scoped to a reader (a condition
over their own patient record, caregiver links and clinics, as subqueries) that costs more CPU
than the database spends answering them: 3 to 4 ms a query, several a page. A query here is
built once, through the ORM and the access functions of portal/queries.py, for a stand-in
reader whose primary key no row has; its SQL and parameters are kept, and each call puts the
reader's key where the stand-in's was. The SQL is the ORM's own, so the answer is the same
(tests/portal/test_sqlonce.py compares both for every kind of reader).

What a kept query may depend on: the reader's key, and nothing else. Every other parameter is
frozen for the life of the process, so a builder must not use the time (now, today, "due
before"), the language, a clinic's settings, or any attribute of the user (staff flag, role,
is_active: the stand-in has none of the reader's). The first build makes the query for two
stand-ins that differ in every such attribute and refuses it if the SQL differs; the tests build
every kept query under two clocks and two languages and require the same SQL (test_sqlonce.py).
Callers check ``is_authenticated`` themselves (the stand-in is a signed-in user).
"""

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from portal.models import User

# No row has a negative key (keys count up from 1), and no constant of these queries is this.
STAND_IN_PK = -2_147_483_641

# Every kept query of the site (the tests check each one).
ALL: list["Kept"] = []


def stand_ins() -> tuple[User, User]:
    """Two stand-in readers alike in key only: a query built for both must be the same."""
    plain = User(pk=STAND_IN_PK)
    other = User(
        pk=STAND_IN_PK,
        is_staff=True,
        is_superuser=True,
        is_active=False,
        language="ar",
        time_zone="Asia/Tokyo",
        email="stand-in@example.invalid",
    )
    return plain, other


class Kept:
    """One query's SQL, made on first use in this process (per database alias)."""

    def __init__(self, build: Callable[[User], QuerySet[Any]]) -> None:
        self.build = build
        self.kept: dict[tuple[str, str], tuple[str, tuple[Any, ...], tuple[int, ...]]] = {}
        self.table = ""
        ALL.append(self)

    def _made(self, part: str, using: str) -> tuple[str, tuple[Any, ...], tuple[int, ...]]:
        kept = self.kept.get((part, using))
        if kept is None:
            plain, other = stand_ins()
            query = self.build(plain).query
            if str(query) != str(self.build(other).query):
                raise ValueError("The query depends on the reader's attributes, not only their key")
            joined = [a for a, refs in query.alias_refcount.items() if refs and a != query.base_table]
            if part == "where" and joined:
                # The clause would name tables the outer query does not join.
                raise ValueError(f"The condition joins other tables ({', '.join(joined)})")
            compiler = query.get_compiler(using)
            sql, params = compiler.as_sql() if part == "query" else compiler.compile(query.where)
            slots = tuple(i for i, value in enumerate(params) if value == STAND_IN_PK)
            if not slots:
                raise ValueError("The query does not depend on the reader: nothing to keep it by")
            self.table = query.model._meta.db_table
            kept = self.kept[part, using] = (sql, tuple(params), slots)
        return kept

    @staticmethod
    def _for(kept: tuple[str, tuple[Any, ...], tuple[int, ...]], user: User) -> tuple[str, list[Any]]:
        sql, params, slots = kept
        values = list(params)
        for i in slots:
            values[i] = user.pk
        return sql, values

    def sql(self, user: User, using: str = DEFAULT_DB_ALIAS) -> tuple[str, list[Any]]:
        """The SQL and parameters of ``build(user)``."""
        return self._for(self._made("query", using), user)

    def condition(self, user: User, using: str = DEFAULT_DB_ALIAS) -> RawSQL:
        """The WHERE clause of ``build(user)``, to filter a query of the same model with:
        ``Model.objects.filter(kept.condition(user))`` selects the same rows, and its own
        joins, order and slices cost little to build. The clause names the model's table as
        Django does (no alias), which the outer query's own table is called too; a query
        whose filters join other tables is refused."""
        sql, params = self._for(self._made("where", using), user)
        # The ORM's own SQL, every value a parameter.
        return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611

    def _select(self, what: str, after: str, user: User, using: str) -> Any:
        """The first row of ``SELECT what FROM table WHERE <kept clause> after``."""
        sql, params = self._for(self._made("where", using), user)
        connection = connections[using]
        with connection.cursor() as cursor:
            # The ORM's own SQL, every value a parameter.
            table = connection.ops.quote_name(self.table)
            cursor.execute(f"SELECT {what} FROM {table} WHERE {sql}{after}", params)  # noqa: S608
            return cursor.fetchone()

    def exists(self, user: User, using: str = DEFAULT_DB_ALIAS) -> bool:
        """``build(user).exists()``: whether its WHERE clause selects a row."""
        return self._select("1", " LIMIT 1", user, using) is not None

    def count(self, user: User, using: str = DEFAULT_DB_ALIAS) -> int:
        """``build(user).count()``: the rows its WHERE clause selects, in one query."""
        return int(self._select("COUNT(*)", "", user, using)[0])


class Counted:
    """Rows to paginate whose number is already known: Django's Paginator (and DRF's, which
    uses it) ask ``object_list.count()``, and slice it for the page."""

    def __init__(self, rows: QuerySet[Any], count: int) -> None:
        self.rows = rows
        self.known = count

    def count(self) -> int:
        return self.known

    def __len__(self) -> int:
        return self.known

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]
