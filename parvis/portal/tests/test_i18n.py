"""French first, English on request: the language switch, and the English catalogue.

French is the source language (every msgid is French); locale/en/LC_MESSAGES/django.po holds the
English translation and `make messages` compiles it to django.mo (not committed, built by
`make test` before pytest).
"""

import difflib
import gettext
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

PARIS = ZoneInfo("Europe/Paris")
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
INFOS = "/carrieres-sous-poissy/infos-pratiques/"

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

FRENCH_WEEKDAYS = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi"]
ENGLISH_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


# --- Helpers -------------------------------------------------------------------------------------


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]*)"', response.content.decode())
    assert match, "no <html lang> on the page"
    return match.group(1)


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    msgctxt: str | None = None
    flags: set[str] = field(default_factory=set)
    line: int = 0


def _unquote(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") included. Obsolete entries (#~) are
    skipped; makemessages runs with --no-obsolete, so there should be none anyway."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def flush():
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#,"):
            if target is not None and target[0] == "msgstr":
                flush()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            if target is not None and target[0] == "msgstr":
                flush()
        elif line.startswith('"'):
            assert target is not None, f"django.po line {number}: string outside an entry"
            kind, index = target
            value = _unquote(line)
            if kind == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, kind, getattr(entry, kind) + value)
        else:
            keyword, _space, value = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                flush()
            if not entry.line:
                entry.line = number
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.msgstr[index] = _unquote(value)
                target = ("msgstr", index)
            elif keyword in ("msgid", "msgid_plural", "msgctxt"):
                setattr(entry, keyword, _unquote(value))
                target = (keyword, 0)
            else:
                raise AssertionError(f"django.po line {number}: unexpected {raw!r}")
    flush()
    return entries


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%(?:\([^)]*\))?[sdif]", text.replace("%%", "")))


@pytest.fixture
def compiled_catalogue():
    """The pages are only English if the .po is compiled; pytest alone does not compile it."""
    if not MO.is_file():
        pytest.fail(
            f"{MO.relative_to(settings.BASE_DIR)} is missing: run `make messages` to compile "
            "the English translations (`make test` does it before pytest)."
        )
    return MO


def set_language(client, language: str, next_url: str = INFOS):
    response = client.post("/i18n/setlang/", {"language": language, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    return response


# --- The language switch -------------------------------------------------------------------------


@pytest.mark.django_db
def test_switching_to_english_shows_the_page_in_english(client, demo_communes, compiled_catalogue):
    with time_machine.travel(MONDAY_10H, tick=False):
        set_language(client, "en")
        response = client.get(INFOS)

    assert response.status_code == 200
    assert html_lang(response) == "en"
    assert response["Content-Language"] == "en"
    text = text_of(response)
    for words in ("Practical information", "Town hall", "Open now — closes at 12h00", "News"):
        assert words in text
    for day in ENGLISH_WEEKDAYS:
        assert day in text
    # Nothing of the interface is left in French (the commune's own data stays as entered).
    for words in ("Infos pratiques", "Ouvert maintenant", "Actualités", *FRENCH_WEEKDAYS):
        assert words not in text


@pytest.mark.django_db
def test_switching_back_to_french(client, demo_communes, compiled_catalogue):
    with time_machine.travel(MONDAY_10H, tick=False):
        set_language(client, "en")
        assert html_lang(client.get(INFOS)) == "en"
        set_language(client, "fr")
        response = client.get(INFOS)

    assert html_lang(response) == "fr"
    assert response["Content-Language"] == "fr"
    text = text_of(response)
    for words in ("Infos pratiques", "Ouvert maintenant — ferme à 12h00", *FRENCH_WEEKDAYS):
        assert words in text
    for words in ("Practical information", "Open now", *ENGLISH_WEEKDAYS):
        assert words not in text


@pytest.mark.django_db
def test_an_english_browser_without_the_cookie_still_gets_french(
    client, demo_communes, compiled_catalogue
):
    with time_machine.travel(MONDAY_10H, tick=False):
        response = client.get(INFOS, headers={"accept-language": "en-GB,en;q=0.9"})

    assert html_lang(response) == "fr"
    assert response["Content-Language"] == "fr"
    text = text_of(response)
    assert "Infos pratiques" in text
    assert "Ouvert maintenant — ferme à 12h00" in text
    assert "Practical information" not in text


# --- The English catalogue -----------------------------------------------------------------------


def test_the_english_catalogue_is_complete():
    entries = parse_po(PO.read_text(encoding="utf-8"))
    header = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    messages = [e for e in entries if e not in header]
    assert len(header) == 1, "django.po has no header entry"
    assert messages, "django.po has no message"

    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy entries in django.po (review them, then drop the flag):\n" + (
        "\n".join(fuzzy)
    )
    plural_forms = re.search(r"nplurals=(\d+)", header[0].msgstr[0])
    assert plural_forms, "django.po's header has no Plural-Forms"
    nplurals = int(plural_forms.group(1))
    untranslated = [
        f"line {e.line}: {e.msgid!r}"
        for e in messages
        if not all(e.msgstr.values())
        or len(e.msgstr) != (nplurals if e.msgid_plural is not None else 1)
    ]
    assert not untranslated, "untranslated entries in django.po:\n" + "\n".join(untranslated)

    def placeholders_kept(e: Entry) -> bool:
        if "python-format" not in e.flags:
            return True
        if e.msgid_plural is None:
            return placeholders(e.msgstr[0]) == placeholders(e.msgid)
        # A singular form may leave out the count (« one item » for %(count)s items).
        allowed = set(placeholders(e.msgid)) | set(placeholders(e.msgid_plural))
        return placeholders(e.msgstr[nplurals - 1]) == placeholders(e.msgid_plural) and all(
            set(placeholders(form)) <= allowed for form in e.msgstr.values()
        )

    broken = [f"line {e.line}: {e.msgid!r}" for e in messages if not placeholders_kept(e)]
    assert not broken, "placeholders differ from the msgid in django.po:\n" + "\n".join(broken)


def test_the_compiled_catalogue_matches_the_po(compiled_catalogue):
    with compiled_catalogue.open("rb") as fp:
        mo = gettext.GNUTranslations(fp)
    stale = []
    for e in parse_po(PO.read_text(encoding="utf-8")):
        if not e.msgid or e.msgid_plural is not None:
            continue
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        if mo._catalog.get(key) != e.msgstr[0]:
            stale.append(e.msgid)
    assert not stale, (
        "django.mo is older than django.po: run `make messages`. Out of date:\n"
        + "\n".join(map(repr, stale[:20]))
    )


# Top-level entries of the project that hold no source of ours (Makefile: --ignore=...).
NOT_SOURCE = {
    ".venv",
    ".git",
    "node_modules",
    "staticfiles",
    "var",
    "locale",
    "build",
    "test-results",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}


def test_the_english_catalogue_is_up_to_date_with_the_source(tmp_path, monkeypatch):
    """`make makemessages` would not change django.po: no string added, changed or removed in the
    source since the catalogue was last refreshed.

    makemessages writes next to the sources it reads (templates are templatized into .py files
    beside them) and into the locale directory, so it runs on a copy of the project in a
    temporary directory, with the same options as the Makefile; the real locale/ is untouched.
    """
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.fail("GNU gettext is missing: `make install` installs it (apt package gettext).")
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "project"
    copy.mkdir()
    for item in base.iterdir():
        if item.name in NOT_SOURCE or item.name.endswith(".egg-info"):
            continue
        if item.is_dir():
            shutil.copytree(
                item, copy / item.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(item, copy / item.name)
    po_copy = copy / PO.relative_to(base)
    po_copy.parent.mkdir(parents=True)
    shutil.copy2(PO, po_copy)

    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[str(copy / "locale")]):
        call_command(
            "makemessages",
            locale=["en"],
            ignore_patterns=[".venv", "node_modules", "staticfiles"],
            no_obsolete=True,
            add_location="file",
            verbosity=0,
        )

    def comparable(text: str) -> str:
        return re.sub(r'^"POT-Creation-Date: .*\n', "", text, flags=re.M)

    current = PO.read_text(encoding="utf-8")
    refreshed = po_copy.read_text(encoding="utf-8")
    if comparable(refreshed) == comparable(current):
        return
    before = {(e.msgctxt, e.msgid) for e in parse_po(current)}
    after = {(e.msgctxt, e.msgid) for e in parse_po(refreshed)}
    added = sorted(msgid for _ctx, msgid in after - before)
    removed = sorted(msgid for _ctx, msgid in before - after)
    diff = difflib.unified_diff(
        comparable(current).splitlines(),
        comparable(refreshed).splitlines(),
        "django.po",
        "django.po after makemessages",
        lineterm="",
    )
    pytest.fail(
        "locale/en/LC_MESSAGES/django.po is out of date with the source: run "
        "`make makemessages`, translate the new strings, then `make messages`.\n"
        f"New strings: {added}\nStrings no longer in the source: {removed}\n"
        + "\n".join(list(diff)[:60])
    )
