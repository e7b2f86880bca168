"""{% load parvis_forms %} — what the site's one error pattern needs beyond a form's own template.

``{% errortitle %}{% block title %}{% endblock %}{% enderrortitle %}`` (base.html's <title>): when
the page sends back a form with errors, the title starts with « Erreur : », so that the first thing
a screen reader says of the page is that the sending failed (RGAA 11.10, WCAG 3.3.1). Every form of
the context is looked at (a page may hold several: « Modification de votre espace » has four), so no
view nor page title has to say it. A page whose errors are not a form's says so with `has_errors`
in its context (the administrative file does); a title that already starts with « Erreur : » is
left as it is.

``{{ form|fields_in_error }}``: the bound fields of a form that have errors, in the form's order
(templates/forms/error_summary.html links each one to its field).
"""

from __future__ import annotations

from django import template
from django.forms import BaseForm
from django.forms.formsets import BaseFormSet
from django.utils.translation import gettext

register = template.Library()


def has_errors(value) -> bool:
    """Whether `value` is a form or formset sent back with errors. The type is read without
    touching the value: the context holds lazy objects (the CSRF token, the user) that must not be
    evaluated for this."""
    kind = type(value)
    if issubclass(kind, BaseForm):
        return value.is_bound and bool(value.errors)
    if issubclass(kind, BaseFormSet):
        return value.is_bound and value.total_error_count() > 0
    return False


def context_has_form_errors(context) -> bool:
    values = context.flatten()
    if values.get("has_errors") is True:
        return True
    return any(has_errors(value) for value in values.values())


class ErrorTitleNode(template.Node):
    child_nodelists = ("nodelist",)

    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        title = self.nodelist.render(context)
        if not context_has_form_errors(context):
            return title
        prefix = gettext("Erreur :")
        # « Erreur : » said by the page itself, with whatever spaces its template put in.
        if "".join(title.split()).startswith("".join(prefix.split())):
            return title
        return f"{prefix} {title.strip()}"


@register.tag
def errortitle(parser, token):
    nodelist = parser.parse(("enderrortitle",))
    parser.delete_first_token()
    return ErrorTitleNode(nodelist)


@register.filter
def fields_in_error(form) -> list:
    return [field for field in form if field.errors]
