"""« Paramètres d'affichage » (issue 15 §5): the cookie read strictly, the form and its errors, the
way back (`next`), « Réinitialiser », and the classes that every page carries on <html>."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from parvis.communes.models import validate_not_reserved
from parvis.communes.tests.factories import CommuneFactory
from parvis.portal import display

pytestmark = pytest.mark.django_db

CSS_FILE = Path(__file__).resolve().parents[2] / "static" / "parvis" / "affichage.css"
ALL_CHANGED = {
    "taille": "tres-grande",
    "contraste": "renforce",
    "police": "dyslexie",
    "lettres": "augmente",
    "lignes": "augmente",
    "animations": "reduites",
}
# Every setting's value other than its default, and the class it puts on <html>.
EACH_VALUE = [
    ("taille", "grande", "affichage-taille-grande"),
    ("taille", "tres-grande", "affichage-taille-tres-grande"),
    ("contraste", "renforce", "affichage-contraste-renforce"),
    ("police", "dyslexie", "affichage-police-dyslexie"),
    ("lettres", "augmente", "affichage-lettres-augmente"),
    ("lignes", "augmente", "affichage-lignes-augmente"),
    ("animations", "reduites", "affichage-animations-reduites"),
]


@pytest.fixture
def commune():
    return CommuneFactory(slug="villebourg", name="Villebourg")


def html_tag(response) -> str:
    match = re.search(r"<html\b[^>]*>", response.content.decode())
    assert match, "no <html> tag"
    return match.group(0)


def html_classes(response) -> list[str]:
    match = re.search(r'\sclass="([^"]*)"', html_tag(response))
    return match.group(1).split() if match else []


def form_data(**changes) -> dict:
    return {**display.DEFAULTS, "action": "enregistrer", **changes}


# --- The cookie, read strictly -------------------------------------------------------------------


def test_no_cookie_or_an_empty_one_means_every_default():
    assert display.parse(None) == display.DEFAULTS
    assert display.parse("") == display.DEFAULTS
    assert display.html_classes(display.parse(None)) == ""


def test_a_valid_cookie_is_read_whole():
    raw = (
        "taille:tres-grande|contraste:renforce|police:dyslexie"
        "|lettres:augmente|lignes:augmente|animations:reduites"
    )
    assert display.parse(raw) == ALL_CHANGED
    assert display.serialize(ALL_CHANGED) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "taille:enorme",  # a value that is no choice
        "taille:GRANDE",  # values are exact
        "taille: grande",
        "couleur:rouge",  # a setting that does not exist
        "taille",  # no value
        "taille=grande",  # not the separator the site writes
        'taille:grande"><script>alert(1)</script>',
        "contraste:renforce onload=alert(1)",
        "police:dyslexie;lignes:augmente",
        "taille:grande|" * 20,  # longer than any value the site writes
    ],
)
def test_forged_or_malformed_entries_are_ignored(raw):
    values = display.parse(raw)
    assert set(values) == set(display.DEFAULTS)
    for name, value in values.items():
        assert value in dict(display.BY_NAME[name].choices)
    assert values == display.DEFAULTS


def test_a_bad_entry_does_not_spoil_the_good_ones():
    values = display.parse("couleur:rouge|taille:grande|contraste:<b>|lettres:augmente")
    assert values == {**display.DEFAULTS, "taille": "grande", "lettres": "augmente"}


def test_a_repeated_setting_keeps_its_first_value():
    assert display.parse("taille:grande|taille:tres-grande")["taille"] == "grande"


def test_only_the_settings_changed_from_the_default_are_written():
    assert display.serialize(display.DEFAULTS) == ""
    assert display.serialize({**display.DEFAULTS, "lignes": "augmente"}) == "lignes:augmente"


def test_every_class_a_setting_can_put_on_html_has_its_rules_in_the_stylesheet():
    css = CSS_FILE.read_text()
    for setting in display.SETTINGS:
        for value, _label in setting.choices[1:]:
            assert f"html.{setting.html_class(value)}" in css, setting.html_class(value)


# --- The classes on <html>, on every page --------------------------------------------------------


def test_without_the_cookie_html_has_no_class(client, commune):
    response = client.get("/villebourg/")
    assert response.status_code == 200
    assert html_tag(response) == '<html lang="fr">'


@pytest.mark.parametrize(("name", "value", "expected"), EACH_VALUE)
def test_each_setting_puts_its_class_on_html(client, commune, name, value, expected):
    client.cookies[display.COOKIE_NAME] = f"{name}:{value}"
    assert html_classes(client.get("/villebourg/")) == [expected]


def test_all_settings_together_put_all_their_classes(client, commune):
    client.cookies[display.COOKIE_NAME] = display.serialize(ALL_CHANGED)
    assert html_classes(client.get("/villebourg/contacts/")) == [
        "affichage-taille-tres-grande",
        "affichage-contraste-renforce",
        "affichage-police-dyslexie",
        "affichage-lettres-augmente",
        "affichage-lignes-augmente",
        "affichage-animations-reduites",
    ]


def test_a_forged_cookie_never_reaches_the_markup(client, commune):
    client.cookies[display.COOKIE_NAME] = 'taille:grande"><script>x</script>|contraste:renforce'
    response = client.get("/villebourg/")
    assert html_classes(response) == ["affichage-contraste-renforce"]
    assert "<script>x" not in response.content.decode()


def test_the_classes_apply_outside_a_commune_too(client, commune):
    client.cookies[display.COOKIE_NAME] = "taille:grande"
    assert html_classes(client.get("/")) == ["affichage-taille-grande"]


def test_the_stylesheet_is_linked_in_the_head(client, commune):
    head = client.get("/villebourg/").content.decode().split("</head>")[0]
    assert "/static/parvis/affichage.css" in head


# --- The footer's link ---------------------------------------------------------------------------


def test_every_footer_links_to_the_settings_with_the_way_back(client, commune):
    footer = client.get("/villebourg/contacts/?x=1").content.decode().split("<footer")[1]
    assert '<a href="/villebourg/affichage/?next=/villebourg/contacts/%3Fx%3D1">' in footer
    assert "Paramètres d'affichage</a>" in footer
    # The agents' door uses the same base.
    footer = client.get("/villebourg/guichet/connexion/").content.decode().split("<footer")[1]
    assert '<a href="/villebourg/affichage/?next=/villebourg/guichet/connexion/">' in footer
    # And the list of communes, outside any commune.
    footer = client.get("/").content.decode().split("<footer")[1]
    assert '<a href="/affichage/?next=/">' in footer


@pytest.mark.parametrize("page", ["/villebourg/affichage/", "/affichage/"])
def test_on_the_settings_page_the_footer_keeps_its_way_back_without_nesting(client, commune, page):
    # Nesting « next » at each visit made a link crawler walk an endless chain of addresses.
    footer = client.get(f"{page}?next=/villebourg/contacts/").content.decode().split("<footer")[1]
    assert f'<a href="{page}?next=/villebourg/contacts/">' in footer


def test_affichage_is_reserved_as_a_commune_address():
    with pytest.raises(ValidationError):
        validate_not_reserved("affichage")


# --- The page and its form -----------------------------------------------------------------------


def test_the_page_shows_the_current_settings_ticked(client, commune):
    client.cookies[display.COOKIE_NAME] = "taille:grande|animations:reduites"
    response = client.get("/villebourg/affichage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "novalidate" in html
    checked = dict(
        re.findall(r'<input type="radio" name="(\w+)" value="([\w-]+)"[^>]*checked', html)
    )
    assert checked == {**display.DEFAULTS, "taille": "grande", "animations": "reduites"}
    for setting in display.SETTINGS:
        assert f'<legend class="form__legend">{setting.label}' in html.replace("&#x27;", "'")


def test_saving_sets_the_cookie_for_a_year_and_goes_back(client, commune):
    response = client.post(
        "/villebourg/affichage/",
        form_data(taille="tres-grande", contraste="renforce", next="/villebourg/contacts/"),
    )
    assert response.status_code == 302
    assert response["Location"] == "/villebourg/contacts/"
    cookie = response.cookies[display.COOKIE_NAME]
    assert cookie.value == "taille:tres-grande|contraste:renforce"
    assert cookie["max-age"] == 365 * 24 * 60 * 60
    assert cookie["path"] == "/"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"]
    assert not cookie["secure"]  # the test settings serve plain HTTP
    page = client.get(response["Location"])
    assert html_classes(page) == ["affichage-taille-tres-grande", "affichage-contraste-renforce"]
    assert "Vos paramètres d&#x27;affichage sont enregistrés pour ce navigateur." in (
        page.content.decode()
    )


@override_settings(LANGUAGE_COOKIE_SECURE=True)
def test_the_cookie_is_secure_when_the_site_is(client, commune):
    response = client.post("/villebourg/affichage/", form_data(police="dyslexie"))
    assert response.cookies[display.COOKIE_NAME]["secure"]


def test_saving_every_default_removes_the_cookie(client, commune):
    client.cookies[display.COOKIE_NAME] = "taille:grande"
    response = client.post("/villebourg/affichage/", form_data())
    assert response.status_code == 302
    assert response.cookies[display.COOKIE_NAME]["max-age"] == 0
    assert html_classes(client.get("/villebourg/")) == []


def test_without_next_the_page_comes_back_to_itself(client, commune):
    response = client.post("/villebourg/affichage/", form_data(lignes="augmente"))
    assert response["Location"] == "/villebourg/affichage/"
    page = client.get("/villebourg/affichage/")
    assert html_classes(page) == ["affichage-lignes-augmente"]


@pytest.mark.parametrize(
    "next_url",
    [
        "https://ailleurs.example/",
        "//ailleurs.example/villebourg/",
        "/\\ailleurs.example/",
        "javascript:alert(1)",
        "/autre-commune/",  # another commune's pages
        "/villebourg/../admin/",
        "villebourg/contacts/",
    ],
)
def test_a_next_outside_the_commune_is_not_followed(client, commune, next_url):
    response = client.post("/villebourg/affichage/", form_data(next=next_url))
    assert response.status_code == 302
    assert response["Location"] == "/villebourg/affichage/"
    # Nor carried by the page into its form.
    page = client.get("/villebourg/affichage/", {"next": next_url})
    assert '<input type="hidden" name="next"' not in page.content.decode()


def test_a_valid_next_is_carried_from_the_link_into_the_form(client, commune):
    page = client.get("/villebourg/affichage/", {"next": "/villebourg/contacts/?x=1"})
    html = page.content.decode()
    assert '<input type="hidden" name="next" value="/villebourg/contacts/?x=1">' in html
    assert '<a href="/villebourg/contacts/?x=1">Revenir à la page précédente' in html


def test_outside_a_commune_next_may_be_any_page_of_the_site(client, commune):
    response = client.post("/affichage/", form_data(taille="grande", next="/"))
    assert response["Location"] == "/"
    response = client.post("/affichage/", form_data(taille="grande", next="https://x.example/"))
    assert response["Location"] == "/affichage/"


@pytest.mark.parametrize(
    "data",
    [
        form_data(taille="enorme"),
        {key: value for key, value in form_data().items() if key != "contraste"},
    ],
    ids=["forged value", "missing setting"],
)
def test_a_form_with_errors_comes_back_in_the_site_pattern_and_sets_nothing(client, commune, data):
    response = client.post("/villebourg/affichage/", {**data, "next": "/villebourg/contacts/"})
    assert response.status_code == 200
    assert display.COOKIE_NAME not in response.cookies
    html = response.content.decode()
    title = re.sub(r"\s+", " ", re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()
    assert title.startswith("Erreur : Paramètres d")
    assert 'class="form-summary"' in html
    field = "taille" if "taille" in data and data["taille"] == "enorme" else "contraste"
    assert f'href="#id_{field}_0"' in html
    assert 'aria-invalid="true"' in html
    # The way back is kept.
    assert '<input type="hidden" name="next" value="/villebourg/contacts/">' in html


def test_reset_removes_the_cookie_and_goes_back(client, commune):
    client.cookies[display.COOKIE_NAME] = "taille:grande|contraste:renforce"
    response = client.post(
        "/villebourg/affichage/",
        # The radios as they are ticked: « Réinitialiser » ignores them.
        {**form_data(taille="grande"), "action": "reinitialiser", "next": "/villebourg/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/villebourg/"
    assert response.cookies[display.COOKIE_NAME]["max-age"] == 0
    page = client.get("/villebourg/")
    assert html_classes(page) == []
    assert "Les paramètres d&#x27;affichage par défaut sont rétablis." in page.content.decode()


def test_an_unknown_commune_has_no_settings_page(client):
    assert client.get("/nulle-part/affichage/").status_code == 404
