"""The rules of parts of the family quotient, a setting of each commune (stored as data).

    {"couple": "2", "single": "1", "single_parent_bonus": "0.5",
     "children": ["0.5", "0.5", "1"]}

`children` gives the part of the 1st, 2nd, 3rd… child; the last value repeats for the next ones.
Amounts are strings so no float ever enters a computation (see families/quotient.py)."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_PARTS_RULES = {
    "couple": "2",
    "single": "1",
    "single_parent_bonus": "0.5",
    "children": ["0.5", "0.5", "1"],
}


def _decimal(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as error:
        raise ValidationError(_("« %(what)s » doit être un nombre.") % {"what": what}) from error
    if not number.is_finite() or number < 0:
        raise ValidationError(_("« %(what)s » doit être un nombre positif.") % {"what": what})
    return number


def validate_parts_rules(rules) -> dict:
    """The rules if sound; ValidationError in French otherwise (for the admin)."""
    if not isinstance(rules, dict) or set(rules) != set(DEFAULT_PARTS_RULES):
        raise ValidationError(
            _("Les règles de parts comportent exactement : %(keys)s.")
            % {"keys": ", ".join(DEFAULT_PARTS_RULES)}
        )
    for key in ("couple", "single", "single_parent_bonus"):
        _decimal(rules[key], key)
    if _decimal(rules["couple"], "couple") == 0 or _decimal(rules["single"], "single") == 0:
        raise ValidationError(_("Un foyer compte au moins une part."))
    children = rules["children"]
    if not isinstance(children, list) or not children:
        raise ValidationError(
            _("« children » liste la part de chaque enfant, au moins une valeur.")
        )
    for n, part in enumerate(children, start=1):
        _decimal(part, f"children[{n}]")
    return rules
