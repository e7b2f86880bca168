"""Theme colour of a commune: WCAG 2.1 contrast against the white text drawn on it."""

import re

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST_WITH_WHITE = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(colour: str) -> float:
    """Contrast ratio (1 to 21) between `colour` and white, as WCAG 2.1 defines it."""
    return 1.05 / (relative_luminance(colour) + 0.05)


def validate_theme_colour(colour: str) -> None:
    if not HEX_COLOUR.match(colour or ""):
        raise ValidationError(
            _("Indiquez une couleur au format #RRVVBB, par exemple #1B4F8A."), code="format"
        )
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST_WITH_WHITE:
        raise ValidationError(
            _(
                "Le contraste de cette couleur avec le texte blanc est de %(ratio)s:1, "
                "sous le minimum de 4,5:1 exigé par le RGAA. Choisissez une couleur plus foncée."
            ),
            code="contrast",
            # Truncated, not rounded: 4.497 must not read as 4,50.
            params={"ratio": number_format(int(ratio * 100) / 100, 2)},
        )
