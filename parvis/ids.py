"""Ids read from what a browser sends (form fields, query strings, URL parts): one parser for
every view and selector, so that a malformed id finds nothing instead of answering 500.

An id is written in ASCII digits only, without a sign, and fits the database's id column:
`int()` also reads « ١٢٣ » and « ４２ » (other scripts' digits), « +7 », « -1 », « 1_000 »;
`str.isdigit()` says yes to « ² », which `int()` then refuses (a ValueError: a 500); and a number
past a signed 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER) makes the driver raise
(OverflowError on SQLite) in a `pk__in` lookup instead of matching nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable

ID_MAX = 2**63 - 1  # the largest bigint / SQLite INTEGER
_DIGITS = re.compile(r"[0-9]+")
_ID_DIGITS = len(str(ID_MAX))  # 19: `int()` never reads a longer text (it may be thousands long)


def parse_id(value) -> int | None:
    """`value` as an id (a positive integer a database id column can hold), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(text := value.strip(" \t\r\n")):
        significant = text.lstrip("0")
        if len(significant) > _ID_DIGITS:
            return None
        number = int(significant or "0")
    else:
        return None
    return number if 0 < number <= ID_MAX else None


def parse_ids(values: Iterable) -> list[int]:
    """The ids among `values` (e.g. `request.POST.getlist("ids")`), in their order, each once;
    anything else is dropped."""
    ids = (parse_id(value) for value in values)
    return list(dict.fromkeys(i for i in ids if i is not None))
