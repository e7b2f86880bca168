"""Text as people type it and as other programs read it, one rule each for every app: names
compared without case or accents, phone numbers, cells of a CSV export. A shared utility at the
bottom of the app chain (docs/ARCHITECTURE.md): it imports no app."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# --- Case- and accent-insensitive matching -------------------------------------------------------

# Letters that Unicode does not decompose but that French names and addresses spell out.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o"})


def fold(text: str | None) -> str:
    """« Léa DURAND » → « lea durand »: lower case, accents and ligatures dropped."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.translate(_LIGATURES)


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
