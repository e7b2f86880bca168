"""One way to draw a form field: Parvis's form renderer.

`{{ field.as_field_group }}` renders templates/forms/field.html for every form of the project
(FORM_RENDERER in settings), and templates/forms/error_summary.html sums a form's errors up above
it. Django 5.2 already points each widget's aria-describedby to the help (`<id>_helptext`) and
error (`<id>_error`) ids of that template, and sets aria-invalid="true" on a field in error; the
bound field adds what the template needs to mark optional fields.
"""

from __future__ import annotations

from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting


class ParvisBoundField(BoundField):
    @property
    def is_optional(self) -> bool:
        """Marked « (facultatif) » next to its label, as the French state's design system does:
        a visible field that may stay empty. Not a lone checkbox (unticked is an answer in its
        own right) nor a search box (a search is always optional)."""
        if self.is_hidden or self.field.required:
            return False
        if self.widget_type == "checkbox":
            return False
        return getattr(self.field.widget, "input_type", None) != "search"


class ParvisFormRenderer(TemplatesSetting):
    """Templates from the project's TEMPLATES setting (so parvis/templates/forms/ overrides
    Django's), with the project's field template and bound field."""

    field_template_name = "forms/field.html"
    bound_field_class = ParvisBoundField
