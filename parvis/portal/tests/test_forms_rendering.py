"""One way to draw a form: every field through templates/forms/field.html (the project's form
renderer, `{{ field.as_field_group }}`), every summary through templates/forms/error_summary.html.
"""

import re

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import get_default_renderer
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import translation

from parvis.communes.tests.factories import OperatorFactory
from parvis.forms_renderer import ParvisBoundField, ParvisFormRenderer


class SampleForm(forms.Form):
    name = forms.CharField(label="Nom")
    phone = forms.CharField(
        label="Téléphone", required=False, max_length=10, help_text="Par exemple 0612345678."
    )
    civility = forms.ChoiceField(
        label="Civilité", choices=[("mme", "Madame"), ("m", "Monsieur")], widget=forms.RadioSelect
    )
    newsletter = forms.BooleanField(label="Recevoir la lettre", required=False)
    q = forms.CharField(
        label="Rechercher", required=False, widget=forms.TextInput({"type": "search"})
    )
    step = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("name") == "Robot":
            raise forms.ValidationError("Envoi refusé.")
        return cleaned


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def sent_with_errors() -> SampleForm:
    """`name` (required) left empty, `phone` (optional, with help) too long, no civility."""
    form = SampleForm({"name": "", "phone": "06 12 34 56 78 90", "step": "2"})
    assert not form.is_valid()
    return form


@pytest.fixture(autouse=True)
def french():
    with translation.override("fr"):
        yield


def test_the_project_renderer_draws_every_field():
    assert settings.FORM_RENDERER == "parvis.forms_renderer.ParvisFormRenderer"
    assert "django.forms" in settings.INSTALLED_APPS
    renderer = get_default_renderer()
    assert isinstance(renderer, ParvisFormRenderer)
    assert renderer.field_template_name == "forms/field.html"
    form = SampleForm()
    assert isinstance(form["name"], ParvisBoundField)
    assert 'class="form__field"' in str(form["name"].as_field_group())


@pytest.mark.parametrize(
    "old",
    [
        "accounts/espace/includes/field.html",
        "accounts/espace/includes/form_errors.html",
        "accounts/signup/_field.html",
        "accounts/signup/_field_errors.html",
        "accounts/signup/_error_summary.html",
        "backoffice/includes/field.html",
        "backoffice/includes/fields.html",
        "backoffice/includes/form_errors.html",
    ],
)
def test_the_former_field_templates_are_gone(old):
    with pytest.raises(TemplateDoesNotExist):
        get_template(old)


def test_a_required_field_in_error():
    html = squash(str(sent_with_errors()["name"].as_field_group()))
    assert '<div class="form__field form__field--error">' in html
    # The label, with no « (facultatif) »: the field is required.
    assert '<label for="id_name">Nom</label>' in html
    assert "facultatif" not in html
    # The error, its id, and « Erreur : » for screen readers.
    assert '<div class="form__errors" id="id_name_error">' in html
    assert (
        '<p> <span class="visually-hidden">Erreur :</span> Ce champ est obligatoire. </p>' in html
    )
    widget = re.search(r'<input[^>]*name="name"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in widget
    assert 'aria-describedby="id_name_error"' in widget
    # The errors come before the widget, after the label.
    assert html.index("<label") < html.index("id_name_error") < html.index('name="name"')


def test_an_optional_field_with_help_in_error():
    html = squash(str(sent_with_errors()["phone"].as_field_group()))
    assert (
        '<label for="id_phone">Téléphone <span class="form__optional">(facultatif)</span></label>'
        in html
    )
    assert '<div class="form__help" id="id_phone_helptext">Par exemple 0612345678.</div>' in html
    assert '<div class="form__errors" id="id_phone_error">' in html
    assert '<span class="visually-hidden">Erreur :</span>' in html
    widget = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in widget
    assert 'aria-invalid="true"' in widget


def test_a_valid_field_is_not_marked_invalid():
    form = SampleForm({"name": "Leroy", "civility": "mme"})
    assert form.is_valid()
    html = squash(str(form["phone"].as_field_group()))
    widget = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)
    assert "aria-invalid" not in widget
    assert 'aria-describedby="id_phone_helptext"' in widget
    assert "form__errors" not in html and "form__field--error" not in html


def test_radio_buttons_come_in_a_fieldset_whose_legend_is_the_label():
    html = squash(str(sent_with_errors()["civility"].as_field_group()))
    assert re.search(
        r'<fieldset class="form__field form__fieldset form__field--error"\s*>\s*'
        r'<legend class="form__legend">Civilité</legend>',
        html,
    ), html
    assert '<div class="form__errors" id="id_civility_error">' in html
    # Each radio button, then its label; the group's error is tied to each of them (not every
    # screen reader reads a fieldset's description), so it is read with the first choice.
    for value, label, index in (("mme", "Madame", 0), ("m", "Monsieur", 1)):
        radio = re.search(
            rf'<input type="radio" name="civility" value="{value}"[^>]*'
            rf'id="id_civility_{index}"[^>]*> <label for="id_civility_{index}">{label}</label>',
            html,
        )
        assert radio, html
        assert 'aria-invalid="true"' in radio.group(0)
        assert 'aria-describedby="id_civility_error"' in radio.group(0)


def test_a_group_with_help_is_described_by_it_and_each_input_by_the_error():
    class Group(forms.Form):
        days = forms.MultipleChoiceField(
            label="Jours",
            choices=[("lu", "Lundi"), ("ma", "Mardi")],
            widget=forms.CheckboxSelectMultiple,
            help_text="Au moins un jour.",
        )

    html = squash(str(Group({})["days"].as_field_group()))
    assert re.search(r'<fieldset [^>]*aria-describedby="id_days_helptext">', html), html
    boxes = re.findall(r'<input type="checkbox"[^>]*>', html)
    assert len(boxes) == 2
    for box in boxes:
        assert 'aria-describedby="id_days_error"' in box
        assert 'aria-invalid="true"' in box
    # Without errors: the help on the fieldset, nothing on the boxes.
    html = squash(str(Group()["days"].as_field_group()))
    assert re.search(r'<fieldset [^>]*aria-describedby="id_days_helptext">', html), html
    assert "aria-describedby" not in "".join(re.findall(r'<input type="checkbox"[^>]*>', html))


def test_a_group_keeps_an_aria_describedby_set_on_its_widget():
    class Group(forms.Form):
        pick = forms.ChoiceField(
            label="Choix",
            choices=[("a", "A"), ("b", "B")],
            widget=forms.RadioSelect(attrs={"aria-describedby": "consigne"}),
        )

    html = squash(str(Group({})["pick"].as_field_group()))
    for radio in re.findall(r'<input type="radio"[^>]*>', html):
        assert 'aria-describedby="consigne"' in radio


def test_a_checkbox_has_its_label_after_the_box_and_is_not_marked_optional():
    html = squash(str(SampleForm()["newsletter"].as_field_group()))
    assert re.search(
        r'<div class="form__choice"> <input type="checkbox" name="newsletter" id="id_newsletter"> '
        r'<label for="id_newsletter">Recevoir la lettre</label> </div>',
        html,
    ), html
    assert "facultatif" not in html


def test_a_search_box_is_not_marked_optional():
    assert "facultatif" not in str(SampleForm()["q"].as_field_group())


def test_a_hidden_field_comes_bare():
    html = str(SampleForm(initial={"step": "2"})["step"].as_field_group()).strip()
    assert html == '<input type="hidden" name="step" value="2" id="id_step">'


def test_the_optional_marker_is_translated():
    with translation.override("en"):
        assert "(optional)" in str(SampleForm()["phone"].as_field_group())


def summary(form, **extra) -> str:
    return squash(render_to_string("forms/error_summary.html", {"form": form, **extra}))


def test_the_error_summary_links_to_each_field_in_error():
    html = summary(sent_with_errors())
    assert re.search(
        r'<div class="form-summary" role="alert" tabindex="-1" autofocus '
        r'aria-labelledby="form-summary-title">',
        html,
    ), html
    assert re.search(r'<h2 id="form-summary-title" class="form-summary__title">', html)
    assert "Le formulaire n'a pas pu être envoyé : corrigez les points suivants." in html
    assert '<a href="#id_name">Nom : Ce champ est obligatoire.</a>' in html
    assert '<a href="#id_phone">Téléphone : ' in html
    # A group of radio buttons: the link goes to the first one.
    assert '<a href="#id_civility_0">Civilité : Ce champ est obligatoire.</a>' in html
    # Fields marked « (facultatif) »: the sentence says the others are required, once.
    assert html.count("Sauf mention contraire, tous les champs sont obligatoires.") == 1


def test_the_summary_lists_the_forms_own_errors():
    form = SampleForm({"name": "Robot", "civility": "mme"})
    assert not form.is_valid()
    html = summary(form)
    assert "<li>Envoi refusé.</li>" in html
    assert 'role="alert"' in html


def test_a_form_without_errors_has_no_alert():
    html = summary(SampleForm())
    assert "alert" not in html
    assert "Sauf mention contraire" in html


def test_a_form_with_required_fields_only_does_not_say_so():
    class Required(forms.Form):
        name = forms.CharField(label="Nom")

    assert summary(Required()).strip() == ""


def test_a_sign_in_form_gives_its_refusal_alone():
    form = SampleForm({"name": "Robot", "civility": "mme"})
    assert not form.is_valid()
    html = summary(form, compact=True)
    assert re.search(
        r'<div class="form-summary" role="alert" tabindex="-1" autofocus> '
        r"<p>Envoi refusé.</p> </div>",
        html,
    ), html
    assert "<h2" not in html and "<a " not in html and "<ul" not in html


def test_a_sign_in_form_lists_its_fields_in_error_with_links():
    html = summary(sent_with_errors(), compact=True)
    assert "<h2" not in html
    assert re.search(
        r'<div class="form-summary" role="alert" tabindex="-1" autofocus> '
        r"<p>Le formulaire n'a pas pu être envoyé : corrigez les points suivants.</p> "
        r'<ul class="form-summary__list"> <li> '
        r'<a href="#id_name">Nom : Ce champ est obligatoire.</a>',
        html,
    ), html
    assert '<a href="#id_phone">Téléphone : ' in html
    assert '<a href="#id_civility_0">Civilité : Ce champ est obligatoire.</a>' in html


def test_the_summary_links_to_a_widgets_own_id():
    class Custom(forms.Form):
        code = forms.CharField(label="Code", widget=forms.TextInput(attrs={"id": "mon-code"}))

    assert '<a href="#mon-code">Code : Ce champ est obligatoire.</a>' in summary(Custom({}))


def test_a_hidden_fields_error_is_listed_without_a_link():
    class Hidden(forms.Form):
        step = forms.CharField(widget=forms.HiddenInput)

    html = summary(Hidden({}))
    assert "Ce champ est obligatoire." in html
    assert "<a " not in html


@pytest.mark.django_db
def test_the_admin_still_renders_its_forms(client):
    client.force_login(OperatorFactory())
    assert client.get("/admin/").status_code == 200
    add = client.get("/admin/communes/commune/add/")
    assert add.status_code == 200
    assert 'name="name"' in add.content.decode()
    sent = client.post("/admin/communes/commune/add/", {})
    assert sent.status_code == 200
    assert "errorlist" in sent.content.decode()
