"""One way to draw a form field: Parvis's form renderer.

`{{ field.as_field_group }}` renders templates/forms/field.html for every form of the project
(FORM_RENDERER in settings), and templates/forms/error_summary.html sums a form's errors up above
it. Django 5.2 already points each widget's aria-describedby to the help (`<id>_helptext`) and
error (`<id>_error`) ids of that template, and sets aria-invalid="true" on a field in error; the
bound field adds what the template needs to mark optional fields, and ties a group's error to each
of its inputs.
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

    def build_widget_attrs(self, attrs, widget=None):
        """A group of inputs (radio buttons, checkboxes, a date in three parts) comes in a fieldset,
        and Django ties the help and the error to the fieldset alone: not every screen reader reads
        a fieldset's description. The error is therefore tied to each input of the group as well,
        so that it is read with the choice that takes the focus (the first, when none is ticked);
        the help stays on the fieldset (read once, on entering the group)."""
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if (
            self.use_fieldset
            and self.errors
            and self.auto_id
            and not widget.is_hidden
            and not attrs.get("aria-describedby")
            and not widget.attrs.get("aria-describedby")
        ):
            attrs["aria-describedby"] = f"{self.auto_id}_error"
        return attrs

    @property
    def fieldset_describedby(self) -> str:
        """The fieldset's aria-describedby: the group's help (its error is on each input)."""
        if self.auto_id and self.help_text and not self.field.widget.attrs.get("aria-describedby"):
            return f"{self.auto_id}_helptext"
        return ""


class ParvisFormRenderer(TemplatesSetting):
    """Templates from the project's TEMPLATES setting (so parvis/templates/forms/ overrides
    Django's), with the project's field template and bound field."""

    field_template_name = "forms/field.html"
    bound_field_class = ParvisBoundField
