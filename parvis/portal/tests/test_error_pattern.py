"""One error pattern on every form (issue 15, §3): `novalidate` (the server's messages, not the
browser's bubble), « Erreur : » first in the page title, a summary that lists each error with a
link to its field and takes the focus, `aria-invalid` on each field in error and its message tied to
it. The browser journey over the two guides' forms: test_journey_error_pattern.py."""

import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.template import Context, Template
from django.template.loader import get_template
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from lxml import html as lxml_html

from parvis.communes.tests.factories import CommuneFactory
from parvis.portal.templatetags.parvis_forms import context_has_form_errors

ROOT = Path(settings.BASE_DIR) / "parvis"

# --- Every form of every template ----------------------------------------------------------------

FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S)
INCLUDE = re.compile(r"""\{%\s*include\s+(?P<quote>["'])(?P<name>[^"']+)(?P=quote)""")
SUMMARY = re.compile(r"""\{%\s*include\s+["']forms/error_summary\.html["']""")
# A form drawn from a Django form: its fields can come back with errors.
DJANGO_FIELDS = re.compile(
    r"as_field_group|\{%\s*for\s+field\s+in\b|\{\{\s*\w*form\s*\}\}|\{\{\s*\w*form\.as_\w+"
)
# Something the visitor fills in (a hidden input is not).
CONTROL = re.compile(
    r"<select\b|<textarea\b|\{\{\s*\w*(form|field)\b|\{\{\s*\w+\.tag\b|as_field_group"
)
INCLUDE_ANY = re.compile(r"\{%\s*include\b(?P<rest>[^%]*)%\}")

# Forms with a field that may go without `novalidate`, and why.
NOVALIDATE_ALLOWED = {
    # The language switcher in every footer: a list of languages, nothing to check.
    ("templates/base.html", "language-form"),
}


def template_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("templates/**/*.html")
        if ".venv" not in path.parts and "node_modules" not in path.parts
    )


def source_of(name: str) -> str:
    return get_template(name).template.source


def has_fields(body: str, seen: frozenset = frozenset()) -> bool:
    """Whether a form's markup holds a field to fill in, its included templates read too (an
    include whose name is not written out counts as a field: it cannot be read)."""
    if CONTROL.search(body):
        return True
    for tag in re.findall(r"<input\b[^>]*>", body, re.S):
        if not re.search(r"""type=["']hidden["']""", tag):
            return True
    for include in INCLUDE_ANY.finditer(body):
        named = INCLUDE.match(include.group(0))
        if named is None:
            return True
        name = named.group("name")
        if name == "forms/error_summary.html" or name in seen:
            continue
        if has_fields(source_of(name), seen | {name}):
            return True
    return False


def forms_of_the_project():
    """(template, line, attributes, body, text before the form since the previous form drawn from
    a Django form)."""
    found = []
    for path in template_files():
        source = path.read_text()
        name = str(path.relative_to(ROOT))
        previous_end = 0
        matches = list(FORM.finditer(source))
        assert len(matches) == source.count("<form"), f"{name}: a <form> without its </form>"
        for match in matches:
            line = source[: match.start()].count("\n") + 1
            before = source[previous_end : match.start()]
            found.append((name, line, match["attrs"], match["body"], before))
            if DJANGO_FIELDS.search(match["body"]):
                previous_end = match.end()
    return found


def test_the_scan_sees_the_forms_of_every_side():
    found = forms_of_the_project()
    names = {name for name, *_ in found}
    assert len(found) > 60
    # The citizen login, the guichet's login, a procedure step, the payment simulator.
    for name in (
        "accounts/templates/accounts/auth/connexion.html",
        "backoffice/templates/backoffice/connexion.html",
        "demarches/templates/demarches/citoyen/etape.html",
        "payments/templates/payments/simulateur.html",
    ):
        assert name in names


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{% csrf_token %}<input type="hidden" name="a" value="1"><button>OK</button>', False),
        ('<input type="checkbox" name="ids" value="1">', True),
        ("{{ form.q.as_field_group }}", True),
        ("{% for field in form %}{{ field.as_field_group }}{% endfor %}", True),
        ("<select name='l'></select>", True),
        ('{% include "forms/error_summary.html" with form=form %}', False),
        # An include is read: the basket's days are hidden inputs only.
        ('{% include "activities/includes/panier_jours.html" %}', False),
        ("{% include template_name %}", True),
    ],
)
def test_what_counts_as_a_field(body, expected):
    assert has_fields(body) is expected


def test_every_form_with_a_field_has_novalidate():
    """The browser's bubble says nothing to a screen reader and stops the server's messages: every
    form with a field lets the server check it."""
    missing = []
    for name, line, attrs, body, _before in forms_of_the_project():
        allowed = any(name == where and marker in attrs for where, marker in NOVALIDATE_ALLOWED)
        if has_fields(body) and not allowed and not re.search(r"\bnovalidate\b", attrs):
            missing.append(f"{name}:{line}")
    assert missing == []


def test_every_form_of_fields_has_the_error_summary():
    """A form drawn from a Django form includes forms/error_summary.html: inside it, or above it
    (a sign-in card's alert stands above the form and the « send again » button)."""
    missing = []
    for name, line, _attrs, body, before in forms_of_the_project():
        if DJANGO_FIELDS.search(body) and not (SUMMARY.search(body) or SUMMARY.search(before)):
            missing.append(f"{name}:{line}")
    assert missing == []


def test_every_summary_is_an_alert_that_takes_the_focus():
    """forms/error_summary.html, and the two summaries drawn by hand (the register's grid of
    ticks, the activity sign-up refused for every child): an alert, focused when the page loads."""
    summaries = []
    for path in template_files():
        for tag in re.findall(r'<div class="form-summary[^"]*"[^>]*>', path.read_text()):
            summaries.append((path.name, tag))
    assert len(summaries) >= 4
    for name, tag in summaries:
        assert 'role="alert"' in tag, name
        assert 'tabindex="-1"' in tag, name
        assert re.search(r"\sautofocus[\s>]", tag), name


# --- « Erreur : » in the title -------------------------------------------------------------------


class Sample(forms.Form):
    name = forms.CharField(label="Nom")


TITLE = Template("{% load parvis_forms %}{% errortitle %}{{ page }}{% enderrortitle %} — Parvis")


def title(**context) -> str:
    context.setdefault("page", "Connexion")
    with translation.override(context.pop("language", "fr")):
        return " ".join(TITLE.render(Context(context)).split())


def test_the_title_says_erreur_when_a_form_comes_back_with_errors():
    assert title(form=Sample({})) == "Erreur : Connexion — Parvis"
    # Whatever the form's name in the context (a page may hold several forms).
    assert title(keys_form=Sample({}), other=Sample()) == "Erreur : Connexion — Parvis"


def test_the_title_is_plain_without_errors():
    assert title() == "Connexion — Parvis"
    assert title(form=Sample()) == "Connexion — Parvis"  # not sent
    assert title(form=Sample({"name": "Leroy"})) == "Connexion — Parvis"  # valid


def test_a_title_that_says_erreur_already_is_not_doubled():
    for said in ("Erreur : Connexion", "Erreur\n    : Connexion", "  Erreur :\n Connexion"):
        assert title(form=Sample({}), page=said) == "Erreur : Connexion — Parvis"


def test_a_formset_with_errors_counts():
    formset = forms.formset_factory(Sample, min_num=1, validate_min=True)
    assert title(formset=formset({"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0"})).startswith(
        "Erreur : "
    )
    assert title(formset=formset()).startswith("Connexion")


def test_a_page_whose_errors_are_not_a_forms_says_so():
    assert title(has_errors=True) == "Erreur : Connexion — Parvis"
    assert title(has_errors=False) == "Connexion — Parvis"
    # Only a true flag: a list named so, or a string, is not one.
    assert title(has_errors="non") == "Connexion — Parvis"


def test_the_title_prefix_is_translated():
    assert title(form=Sample({}), language="en") == "Error: Connexion — Parvis"


def test_lazy_values_of_the_context_are_not_evaluated():
    """The context holds the CSRF token and the user as lazy objects: reading them would, for the
    token, set a cookie on every page."""

    def boom():
        raise AssertionError("evaluated")

    assert not context_has_form_errors(Context({"csrf_token": SimpleLazyObject(boom)}))
    assert context_has_form_errors(
        Context({"csrf_token": SimpleLazyObject(boom), "form": Sample({})})
    )


# --- The citizen login, sent empty ---------------------------------------------------------------


def page_of(response):
    assert response.status_code == 200
    return lxml_html.fromstring(response.content.decode())


def assert_error_pattern(page, form_action: str | None = None):
    """The pattern on a page sent back with errors; returns the summary's links' targets."""
    assert " ".join(page.findtext(".//title").split()).startswith("Erreur : ")
    summaries = page.xpath('//*[contains(concat(" ", @class, " "), " form-summary ")]')
    assert len(summaries) == 1
    summary = summaries[0]
    assert summary.get("role") == "alert"
    assert summary.get("tabindex") == "-1"
    assert summary.get("autofocus") is not None
    # Only one element of the page takes the focus on load.
    assert len(page.xpath("//*[@autofocus]")) == 1
    if form_action is None:
        form = summary.xpath("ancestor::form")
    else:
        form = page.xpath(f'//form[@action="{form_action}"]')
    assert form and form[0].get("novalidate") is not None
    targets = [a.get("href")[1:] for a in summary.xpath(".//a")]
    assert targets
    for target in targets:
        (field,) = page.xpath(f'//*[@id="{target}"]')
        assert field.tag in ("input", "select", "textarea")
        assert field.get("aria-invalid") == "true"
        described = field.get("aria-describedby", "").split()
        errors = [
            ref for ref in described if page.xpath(f'//*[@id="{ref}" and @class="form__errors"]')
        ]
        assert errors, f"#{target} is not described by its error"
    return targets


@pytest.mark.django_db
@pytest.mark.parametrize("family_code", [False, True])
def test_the_citizen_login_sent_empty(family_code):
    commune = CommuneFactory(login_with_email=True, login_with_family_code=family_code)
    url = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    page = page_of(Client().get(url))
    # Not sent yet: no alert, no field marked, no « Erreur : », but no browser bubble either.
    assert not page.xpath('//*[@role="alert"]') and not page.xpath("//*[@aria-invalid]")
    assert not page.findtext(".//title").strip().startswith("Erreur")
    assert page.xpath(f'//form[@action="{url}"]')[0].get("novalidate") is not None

    page = page_of(Client().post(url, {"username": "", "password": ""}))
    assert assert_error_pattern(page, url) == ["id_username", "id_password"]
    summary = page.xpath('//*[@role="alert"]')[0]
    links = [" ".join(a.text_content().split()) for a in summary.xpath(".//a")]
    assert links == [
        f"{commune.identifiant_label} : {commune.identifiant_manquant}",
        "Mot de passe : Indiquez votre mot de passe.",
    ]


@pytest.mark.django_db
def test_a_refused_login_says_so_alone():
    commune = CommuneFactory(login_with_email=True)
    url = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    page = page_of(Client().post(url, {"username": "nobody@example.fr", "password": "x"}))
    summary = page.xpath('//*[@role="alert"]')[0]
    assert " ".join(summary.text_content().split()) == commune.identifiant_incorrect
    assert summary.get("autofocus") is not None
    assert page.findtext(".//title").split()[:2] == ["Erreur", ":"]
    assert not page.xpath("//*[@aria-invalid]")


@pytest.mark.django_db
def test_the_guichet_login_says_erreur_in_its_title():
    """A page whose template does not say « Erreur : » itself: the title gets it from base.html."""
    commune = CommuneFactory()
    url = reverse("backoffice:connexion", kwargs={"commune": commune.slug})
    page = page_of(Client().post(url, {"username": "", "password": ""}))
    assert_error_pattern(page)
