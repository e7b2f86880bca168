"""The statements of commune tables that parvis/tests/test_sql_commune_filter.py lets through
without a commune_id predicate: a fragment of their SQL and why each is there. Each one is work
left before a sharded PostgreSQL (README « Towards a distributed PostgreSQL (Citus) »)."""

ALLOWED: dict[str, str] = {}
