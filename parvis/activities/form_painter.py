"""The household grid's tool forms (« Copier la semaine », « Appliquer un modèle de semaine »)
drawn in Python, in the markup of templates/forms/field.html and Django's widget templates.

The grid is drawn at every tool used and every period changed: through the template engine the
two forms' eight fields (a select of every child's units, the weekdays, the choice) cost as much
as the rest of the page. Here the same BoundField machinery gives every attribute (ids,
aria-describedby, aria-invalid, the values bound or initial, the options checked), only the
strings are joined in Python, each text escaped once; parvis/activities/tests/test_form_painter.py
checks the result against {{ field.as_field_group }} for the forms bound, unbound and in error.
Only the widgets these forms use: inputs, a select (with groups), radio buttons and checkboxes."""

from __future__ import annotations

from django.forms import CheckboxSelectMultiple, RadioSelect, Select
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


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


def _select(widget: dict) -> str:
    parts = [f'<select name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f'<optgroup label="{escape(group)}">')
        for option in options:
            parts.append(
                f'<option value="{escape(option["value"])}"{_attrs(option["attrs"])}>'
                f"{escape(option['label'])}</option>"
            )
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
        for choice in field:  # BoundWidget: its id, value, checked, label
            data = choice.data
            choices.append(
                f'<div class="form__choice">{_input(data)}'
                f'<label for="{choice.id_for_label}">{escape(choice.choice_label)}</label></div>'
            )
        return (
            f'<fieldset class="{classes}"{described}><legend class="form__legend">'
            f"{_label(field)}</legend>{_help(field)}{_errors(field)}"
            f'<div class="form__choices">{"".join(choices)}</div></fieldset>'
        )
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    drawn = _select(context) if isinstance(widget, Select) else _input(context)
    classes = "form__field" + (" form__field--error" if field.errors else "")
    return (
        f'<div class="{classes}"><label for="{field.id_for_label}">{_label(field)}</label>'
        f"{_help(field)}{_errors(field)}{drawn}</div>"
    )


def fields(form) -> SafeString:
    """Every field of `form`, as `{% for field in form %}{{ field.as_field_group }}{% endfor %}`
    draws them."""
    return mark_safe("".join(field_group(field) for field in form))  # every text escaped
