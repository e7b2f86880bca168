"""Finds the SQL statements that read or write a commune's table without saying its commune_id
(issue 18 §2, parvis/tests/test_sql_commune_filter.py).

A statement passes when every commune table it names (after FROM, JOIN, UPDATE, DELETE FROM,
INSERT INTO) has a `commune_id` predicate of its own: `<alias>."commune_id" = …`, `IN (…)`, or
an equality with another table's commune_id (a co-located join). An INSERT passes when its
column list carries commune_id. Statements that name no table (SAVEPOINT, RELEASE…) pass.

It reads the SQL Django writes (double-quoted names, `T3` / `U0` aliases) and the project's own
raw SQL (which quotes its names the same way); it is not a general SQL parser.
"""

import re
from dataclasses import dataclass

from django.apps import apps

from parvis.communes.distribution import is_commune_table

_NAME = r'"?(\w+)"?(?![.\w"])'
_TABLE = re.compile(
    r"\b(FROM|JOIN|UPDATE|INTO)\s+" + _NAME + r"(?:\s+(?:AS\s+)?(?!ON\b|WHERE\b|SET\b|INNER\b|"
    r"LEFT\b|RIGHT\b|FULL\b|CROSS\b|ORDER\b|GROUP\b|LIMIT\b|VALUES\b|USING\b|FOR\b|"
    r"HAVING\b|UNION\b|EXCEPT\b|INTERSECT\b|RETURNING\b|OFFSET\b|NATURAL\b|JOIN\b|"
    r"DEFAULT\b|SELECT\b)(\w+)\b)?",
    re.IGNORECASE,
)


def commune_tables() -> set[str]:
    return {m._meta.db_table for m in apps.get_models() if is_commune_table(m)}


@dataclass(frozen=True)
class Offence:
    table: str
    sql: str

    def __str__(self):
        return f"{self.table}: {self.sql[:400]}"


def offences(sql: str, tables: set[str] | None = None) -> list[Offence]:
    """The commune tables of `sql` read or written without a commune_id predicate."""
    tables = commune_tables() if tables is None else tables
    found = []
    for keyword, table, alias in _TABLE.findall(sql):
        if table not in tables:
            continue
        if keyword.upper() == "INTO":
            if not _inserts_commune(sql, table):
                found.append(Offence(table, sql))
            continue
        if not _has_predicate(sql, alias or table):
            found.append(Offence(table, sql))
    return found


def _inserts_commune(sql: str, table: str) -> bool:
    match = re.search(rf'INTO\s+"?{table}"?\s*\(([^)]*)\)', sql, re.IGNORECASE)
    return bool(match) and re.search(r'"?\bcommune_id\b"?', match.group(1)) is not None


def _has_predicate(sql: str, alias: str) -> bool:
    column = rf'"?{re.escape(alias)}"?\."?commune_id"?'
    after = rf"{column}\s*(=|IN\s*\(|IS\s+NOT\s+DISTINCT)"
    # `other.commune_id = alias.commune_id` (a co-located join) or `7 = alias.commune_id`; not an
    # unqualified `"commune_id" = (alias.commune_id)`, which says nothing (always true).
    before = rf'(?:\."?commune_id"?|\b\d+|%s|\?)\s*=\s*\(?\s*{column}'
    return re.search(after, sql, re.IGNORECASE) is not None or (
        re.search(before, sql, re.IGNORECASE) is not None
    )
