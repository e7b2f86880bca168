"""The household grid's tool forms (« Copier la semaine », « Appliquer un modèle de semaine »)
drawn in Python, in the markup of templates/forms/field.html and Django's widget templates.

The grid is drawn at every tool used and every period changed: through the template engine the
two forms' eight fields (a select of every child's units, the weekdays, the choice) cost as much
as the rest of the page. Here the same BoundField machinery gives every attribute (ids,
aria-describedby, aria-invalid, the values bound or initial), the options are ChoiceWidget's
(the same selection and numbered ids, without an option dictionary and its attributes' copies
for each), only the strings are joined in Python, each text escaped once;
parvis/activities/tests/test_form_painter.py checks the result against
{{ field.as_field_group }} for the forms bound, unbound and in error.
Only the widgets these forms use: inputs, a select (with groups), radio buttons and checkboxes."""

from __future__ import annotations

import html

from django.forms import CheckboxSelectMultiple, RadioSelect, Select
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from parvis.communes.painted import PaintedOnce


def escape(text) -> str:
    """django.utils.html.escape's text (« & < > " ' »), without its lazy-argument wrapper: a
    third of a field's drawing went there."""
    return html.escape(str(text))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare name for True, nothing for
    False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return "".join(parts)


def _input(widget: dict) -> str:
    value = widget.get("value")
    shown = f' value="{escape(value)}"' if value is not None else ""
    return (
        f'<input type="{widget["type"]}" name="{escape(widget["name"])}"{shown}'
        f"{_attrs(widget['attrs'])}>"
    )


def _optgroups(widget, values: list[str]):
    """ChoiceWidget.optgroups without its option dictionaries: (group name or None, [(value,
    label, selected, index)]), the same values selected and the same indexes (« 2 », « 1_0 »
    in a group) as Django's."""
    has_selected, multiple = False, widget.allow_multiple_selected
    for index, (value, label) in enumerate(widget.choices):
        if value is None:
            value = ""
        if isinstance(label, (list, tuple)):
            group, subindex, choices = value, 0, label
        else:
            group, subindex, choices = None, None, [(value, label)]
        options = []
        for subvalue, sublabel in choices:
            selected = (not has_selected or multiple) and str(subvalue) in values
            has_selected |= selected
            options.append(
                (subvalue, sublabel, selected, f"{index}_{subindex}" if subindex is not None
                 else str(index))
            )  # fmt: skip
            if subindex is not None:
                subindex += 1
        yield group, options


def _select(name: str, attrs: dict, widget, values: list[str]) -> str:
    parts = [f'<select name="{escape(name)}"{_attrs(attrs)}>']
    for group, options in _optgroups(widget, values):
        if group:
            parts.append(f'<optgroup label="{escape(group)}">')
        for value, label, selected, _index in options:
            chosen = " selected" if selected else ""
            parts.append(f'<option value="{escape(value)}"{chosen}>{escape(label)}</option>')
        if group:
            parts.append("</optgroup>")
    parts.append("</select>")
    return "".join(parts)


def _errors(field) -> str:
    if not field.errors:
        return ""
    said = escape(_("Erreur :"))
    lines = "".join(
        f'<p><span class="visually-hidden">{said}</span> {escape(error)}</p>'
        for error in field.errors
    )
    return f'<div class="form__errors" id="{field.auto_id}_error">{lines}</div>'


def _help(field) -> str:
    if not field.help_text:
        return ""
    return f'<div class="form__help" id="{field.auto_id}_helptext">{escape(field.help_text)}</div>'


def _label(field) -> str:
    optional = ""
    if field.is_optional:
        optional = f' <span class="form__optional">{escape(_("(facultatif)"))}</span>'
    return f"{escape(field.label)}{optional}"


def field_group(field) -> str:
    """One field as field.html draws it (not a hidden field nor a lone checkbox: the tools have
    none)."""
    widget = field.field.widget
    if isinstance(widget, (RadioSelect, CheckboxSelectMultiple)):
        classes = "form__field form__fieldset" + (" form__field--error" if field.errors else "")
        described = field.fieldset_describedby
        described = f' aria-describedby="{described}"' if described else ""
        choices = []
        # BoundField.subwidgets' options, without their dictionaries and templates: the same
        # attributes (the field's id numbered, aria-invalid, checked), value and label.
        ident = widget.attrs.get("id") or field.auto_id
        attrs = field.build_widget_attrs({"id": ident} if ident else {}, widget)
        attrs = {**widget.attrs, **attrs}
        values = widget.format_value(field.value())
        name, kind = escape(field.html_name), widget.input_type
        for _group, options in _optgroups(widget, values):
            for value, label, selected, index in options:
                option = dict(attrs)
                if selected:
                    option.update(widget.checked_attribute)
                if "id" in option:
                    option["id"] = widget.id_for_label(option["id"], index)
                shown = f' value="{escape(value)}"' if value is not None else ""
                choices.append(
                    f'<div class="form__choice"><input type="{kind}" name="{name}"{shown}'
                    f'{_attrs(option)}><label for="{option.get("id", "")}">{escape(label)}'
                    "</label></div>"
                )
        return (
            f'<fieldset class="{classes}"{described}><legend class="form__legend">'
            f"{_label(field)}</legend>{_help(field)}{_errors(field)}"
            f'<div class="form__choices">{"".join(choices)}</div></fieldset>'
        )
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    if isinstance(widget, Select):  # Select.get_context's attributes and values, no options
        attrs = {**widget.attrs, **attrs}
        if widget.allow_multiple_selected:
            attrs["multiple"] = True
        drawn = _select(field.html_name, attrs, widget, widget.format_value(field.value()))
    else:
        drawn = _input(widget.get_context(field.html_name, field.value(), attrs)["widget"])
    classes = "form__field" + (" form__field--error" if field.errors else "")
    return (
        f'<div class="{classes}"><label for="{field.id_for_label}">{_label(field)}</label>'
        f"{_help(field)}{_errors(field)}{drawn}</div>"
    )


def fields(form) -> SafeString:
    """Every field of `form`, as `{% for field in form %}{{ field.as_field_group }}{% endfor %}`
    draws them."""
    return mark_safe("".join(field_group(field) for field in form))  # every text escaped


def summary(form) -> SafeString:
    """What `{% include "forms/error_summary.html" with form=form %}` draws: that template
    itself for a form sent back with errors; otherwise all it says is its last sentence, once,
    when a field is marked « (facultatif) » (the grid's tools are drawn at every tool used and
    every period changed, mostly without errors: an include each, 70-150 µs)."""
    if form.errors:
        return mark_safe(render_to_string("forms/error_summary.html", {"form": form}))
    if any(field.is_optional for field in form.visible_fields()):
        said = _("Sauf mention contraire, tous les champs sont obligatoires.")
        return mark_safe(f'<p class="form__intro">{said}</p>')  # the template's own text
    return mark_safe("")


# What `fresh` keeps: painted unbound forms by key (communes.painted).
_FRESH = PaintedOnce(1024)


def fresh(make, *key) -> tuple[SafeString, SafeString]:
    """`fields` and `summary` of the unbound form `make()` builds, painted once per language
    and `key`: everything the form is built from that its drawing shows (class, prefix, initial
    values, choices). A form nobody has filled in draws the same for every household: « Copier
    la semaine » at every grid, tool and period (its construction and fields, about 1,000 Python
    calls a page). Never for a bound form (its values and errors are the visitor's)."""
    full = (get_language(), *key)
    painted = _FRESH.get(full)
    if painted is None:
        form = make()
        if form.is_bound:
            raise ValueError("a bound form is drawn for its visitor, never kept")
        painted = _FRESH.keep(full, (fields(form), summary(form)))
    return painted
