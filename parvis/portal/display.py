"""Display settings (« Paramètres d'affichage »): text size, contrast, font, spacing, motion.

Remembered per browser in one cookie (not the session, not the account), read on every request
so that the page arrives with its classes on <html> and is drawn right from the first paint. The
cookie is the visitor's own input: it is parsed strictly, each setting kept only when its name and
value are among the known ones (anything else is ignored, never written into the markup), and the
classes come from this module's table, not from the cookie.

Cookie value: the settings that differ from the default, ``name:value`` joined by ``|`` (both
characters a cookie may hold unquoted), e.g. ``taille:grande|contraste:renforce``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

COOKIE_NAME = "parvis_affichage"
COOKIE_MAX_AGE = 365 * 24 * 60 * 60  # one year
MAX_COOKIE_LENGTH = 200  # far more than the longest valid value; a longer one is not parsed


@dataclass(frozen=True)
class Setting:
    name: str  # the form field and the cookie key
    label: str
    help_text: str
    choices: tuple[tuple[str, str], ...]  # (value, label); the first is the default

    @property
    def default(self) -> str:
        return self.choices[0][0]

    def html_class(self, value: str) -> str:
        """The class on <html> for a value other than the default."""
        return f"affichage-{self.name}-{value}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "taille",
        _("Taille du texte"),
        "",
        (("normale", _("Normale")), ("grande", _("Grande")), ("tres-grande", _("Très grande"))),
    ),
    Setting(
        "contraste",
        _("Contraste"),
        _("Le contraste renforcé affiche le texte en noir et les couleurs en plus foncé."),
        (("normal", _("Normal")), ("renforce", _("Renforcé"))),
    ),
    Setting(
        "police",
        _("Police de caractères"),
        _("OpenDyslexic, une police conçue pour faciliter la lecture aux personnes dyslexiques."),
        (("standard", _("Standard")), ("dyslexie", _("Adaptée à la dyslexie (OpenDyslexic)"))),
    ),
    Setting(
        "lettres",
        _("Espacement des lettres et des mots"),
        "",
        (("normal", _("Normal")), ("augmente", _("Augmenté"))),
    ),
    Setting(
        "lignes",
        _("Espacement des lignes et des paragraphes"),
        "",
        (("normal", _("Normal")), ("augmente", _("Augmenté"))),
    ),
    Setting(
        "animations",
        _("Animations"),
        _("« Réglage de l'appareil » suit la préférence de réduction des animations du système."),
        (("appareil", _("Réglage de l'appareil")), ("reduites", _("Réduites"))),
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def parse(raw: str | None) -> dict[str, str]:
    """Every setting's value from the cookie's raw value: the default for a setting missing or
    of an unknown value; entries of unknown names are dropped; a repeated name keeps its first."""
    values = dict(DEFAULTS)
    if not raw or len(raw) > MAX_COOKIE_LENGTH:
        return values
    seen: set[str] = set()
    for entry in raw.split("|"):
        name, sep, value = entry.partition(":")
        setting = BY_NAME.get(name)
        if not sep or setting is None or value not in dict(setting.choices):
            continue
        if name in seen:
            continue
        seen.add(name)
        values[name] = value
    return values


def serialize(values: dict[str, str]) -> str:
    """The cookie's value for valid settings: only those that differ from the default."""
    return "|".join(
        f"{setting.name}:{values[setting.name]}"
        for setting in SETTINGS
        if values.get(setting.name, setting.default) != setting.default
    )


def html_classes(values: dict[str, str]) -> str:
    """The classes on <html>, one per setting not at its default, from this module's table."""
    return " ".join(
        setting.html_class(values[setting.name])
        for setting in SETTINGS
        if values.get(setting.name) in dict(setting.choices)
        and values[setting.name] != setting.default
    )


def from_request(request) -> dict[str, str]:
    return parse(request.COOKIES.get(COOKIE_NAME))


def set_cookie(response, values: dict[str, str]) -> None:
    """Remember the settings in this browser for a year (deleted when all are the default)."""
    value = serialize(values)
    if not value:
        delete_cookie(response)
        return
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def delete_cookie(response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", samesite="Lax")
