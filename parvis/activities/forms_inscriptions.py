"""The form of « Inscrire un enfant à une activité »: the children to register. It only checks
that the children posted are of the account's families; the rules (level, already registered or
waiting) are the service's, checked again under a lock."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ChildrenField(forms.MultipleChoiceField):
    """Shows the children that may be registered, accepts any child of the account's families:
    a second click on « Envoyer », whose child is no longer offered because the first click
    filed it, reaches the service (which files nothing twice) instead of failing here."""

    def __init__(self, *args, **kwargs):
        self.accepted_values: set[str] = set()
        super().__init__(*args, **kwargs)

    def valid_value(self, value) -> bool:
        return str(value) in self.accepted_values


class InscriptionForm(forms.Form):
    enfants = ChildrenField(
        label=_("Enfants à inscrire"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Cochez un ou plusieurs enfants."),
        error_messages={
            "required": _("Cochez au moins un enfant."),
            "invalid_choice": _("Cet enfant ne fait pas partie de vos foyers."),
        },
    )

    def __init__(self, *args, offered, children, **kwargs):
        """`offered`: the children shown with a box; `children`: every child of the account's
        families (those a post may name)."""
        super().__init__(*args, **kwargs)
        field = self.fields["enfants"]
        field.choices = [(str(child.pk), _child_label(child)) for child in offered]
        field.accepted_values = {str(child.pk) for child in children}
        self.children = {str(child.pk): child for child in children}

    @property
    def chosen(self) -> list:
        return [self.children[value] for value in self.cleaned_data["enfants"]]


def _child_label(child) -> str:
    name = f"{child.first_names} {child.last_name}"
    if child.level:
        return f"{name} ({child.get_level_display()})"
    return name
