"""Text as people type it and as other programs read it, one rule each for every app: names
compared without case or accents, phone numbers, cells of a CSV export. A shared utility at the
bottom of the app chain (docs/ARCHITECTURE.md): it imports no app."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db.models import CharField, Func
from django.utils.translation import gettext_lazy as _

# --- Case- and accent-insensitive matching -------------------------------------------------------

# Letters that Unicode does not decompose but that French names and addresses spell out.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o"})


def fold(text: str | None) -> str:
    """« Léa DURAND » → « lea durand »: lower case, accents and ligatures dropped."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.translate(_LIGATURES)


# `Fold` does the same in SQL, on SQLite and PostgreSQL alike (no `unaccent` extension needed): on
# SQLite it calls `fold` itself (a deterministic function registered on the connection); on
# PostgreSQL (13 and later, UTF-8 database) it is NORMALIZE to Unicode's NFKD, the combining
# accents removed, the ligatures spelled out, the capitals NFKD leaves (Ł, Đ…) made small, then
# LOWER: the same text as `fold` for every
# character from U+0020 to U+024F (parvis/tests/test_text_fold_sql.py). It costs 3 µs a name where
# the TRANSLATE of a table of 424 letters it replaces took 35 µs: the platform's search over a
# thousand communes went from 183 ms to 31 ms a page (p50, load average 4.5).
#
# SQLite calls the function once a row and a condition (a search of two words over a thousand
# names: 5,000 calls, 35 ms); the same names come back from one search to the next, so the
# results are kept (about 1 MB at most): a call found in the cache costs 0.1 µs instead of 7 µs.
@lru_cache(maxsize=10_000)
def _fold_or_none(text):
    return None if text is None else fold(text)


_COMBINING_ACCENTS = "[\u0300-\u036f]"
# Both cases: under the « C » locale PostgreSQL's LOWER only knows ASCII.
_SQL_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"), ("ø", "o"), ("Ø", "o"))


def _capitals_left_by_nfkd() -> tuple[str, str]:
    """The capitals of U+0020–U+024F that NFKD does not reduce to ASCII (Ł, Đ, Þ, Ħ, Ŋ…) and their
    small letters: TRANSLATEd before LOWER, which under a « C » collation only knows ASCII."""
    capitals = []
    for code in range(0x20, 0x250):
        for letter in unicodedata.normalize("NFKD", chr(code)):
            small = letter.lower()
            if not letter.isascii() and small != letter and len(small) == 1:
                capitals.append((letter, small))
    pairs = dict(capitals)
    for ligature, _letters in _SQL_LIGATURES:
        pairs.pop(ligature, None)
    return "".join(pairs), "".join(pairs.values())


_SQL_CAPITALS, _SQL_SMALL_LETTERS = _capitals_left_by_nfkd()


class Fold(Func):
    """`fold` of a text column, in SQL."""

    function = "PARVIS_FOLD"
    arity = 1
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        connection.ensure_connection()
        connection.connection.create_function(self.function, 1, _fold_or_none, deterministic=True)
        return super().as_sql(compiler, connection, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        sql = f"REGEXP_REPLACE(NORMALIZE({sql}, NFKD), %s, '', 'g')"
        params = (*params, _COMBINING_ACCENTS)
        for ligature, letters in _SQL_LIGATURES:
            sql = f"REPLACE({sql}, %s, %s)"
            params += (ligature, letters)
        return f"LOWER(TRANSLATE({sql}, %s, %s))", (*params, _SQL_CAPITALS, _SQL_SMALL_LETTERS)


# --- Phone numbers -------------------------------------------------------------------------------

# One rule for every phone number Parvis keeps (a family's, a commune's, a service's, a régie's):
# a French number of 10 digits, 0X XX XX XX XX, or the same with +33 / 0033 instead of the first
# 0; spaces, dots, dashes and brackets are forgiven. ASCII digits only.
PHONE_RE = re.compile(r"^(?:\+33|0033|0)([1-9]\d{8})$", re.ASCII)
PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
PHONE_MESSAGE = _(
    "Indiquez un numéro de téléphone français à 10 chiffres, par exemple : 01 39 22 36 00."
)


def normalise_phone(raw: str | None) -> str | None:
    """« +33 6.12.34.56.78 » → « 06 12 34 56 78 »; None when `raw` is no French number."""
    match = PHONE_RE.match(PHONE_SEPARATORS.sub("", raw or ""))
    if match is None:
        return None
    digits = "0" + match.group(1)
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def validate_phone(value: str) -> None:
    """The model fields' validator (blank values are the fields' business, not this one's).
    Migrations name it by its path: keep it here."""
    if value and normalise_phone(value) is None:
        raise ValidationError(PHONE_MESSAGE, code="invalid")


# --- CSV exports ---------------------------------------------------------------------------------

# What a spreadsheet reads as the start of a formula (CSV injection): such a cell is quoted.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
