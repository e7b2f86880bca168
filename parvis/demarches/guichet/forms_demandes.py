"""The forms of the agents' queue of requests: the filters, the batch action and the decisions on
one request. They validate; the views hand `cleaned_data` to parvis.demarches.services."""

from __future__ import annotations

from dataclasses import astuple

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.demarches.guichet.selectors_demandes import ME, NOBODY, QUEUE_STATUSES, QueueFilters
from parvis.forms_renderer import ParvisBoundField

AGES = [("", _("Toutes")), ("7", _("Plus de 7 jours")), ("30", _("Plus de 30 jours"))]


class FilterBoundField(ParvisBoundField):
    """A filter is never marked « (facultatif) »: like a search box, it is optional by nature."""

    @property
    def is_optional(self) -> bool:
        return False


class QueueFilterForm(forms.Form):
    """The queue's filters (GET). An invalid value is dropped, not fatal: the rest still apply."""

    bound_field_class = FilterBoundField
    statut = forms.ChoiceField(label=_("État"), required=False)
    demarche = forms.ChoiceField(label=_("Démarche"), required=False)
    anciennete = forms.ChoiceField(label=_("Déposée depuis"), required=False, choices=AGES)
    agent = forms.ChoiceField(label=_("Agent en charge"), required=False)

    def __init__(self, *args, procedures, agents, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedures = {procedure.slug: procedure for procedure in procedures}
        self.fields["statut"].choices = [
            ("", _("Tous")),
            *((status.value, status.label) for status in QUEUE_STATUSES),
        ]
        self.fields["demarche"].choices = [
            ("", _("Toutes")),
            *((slug, procedure.title) for slug, procedure in self.procedures.items()),
        ]
        self.fields["agent"].choices = [
            ("", _("Tous")),
            (ME, _("Moi")),
            (NOBODY, _("Personne")),
            *((str(user.pk), user.get_full_name() or user.get_username()) for user in agents),
        ]

    def filters(self) -> QueueFilters:
        data = {}
        if self.is_bound:
            self.is_valid()
            data = self.cleaned_data  # the valid fields only
        age = data.get("anciennete")
        return QueueFilters(
            status=data.get("statut") or "",
            procedure=self.procedures.get(data.get("demarche") or ""),
            older_than_days=int(age) if age else None,
            assigned=data.get("agent") or "",
        )

    @property
    def active(self) -> bool:
        return any(astuple(self.filters()))


class BatchForm(forms.Form):
    """The requests ticked in the queue; which action comes from the button pressed."""

    ACTIONS = ("prendre", "classer", "accepter")

    demandes = forms.MultipleChoiceField(
        label=_("Demandes sélectionnées"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Cochez au moins une demande.")},
    )
    action = forms.ChoiceField(choices=[(action, action) for action in ACTIONS])

    def __init__(self, *args, numbers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["demandes"].choices = [(number, number) for number in numbers]


class TextForm(forms.Form):
    """One text for the requester: a message, a reason, a comment."""

    label = ""
    help_text = ""
    required = True

    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["text"]
        field.label, field.help_text, field.required = self.label, self.help_text, self.required
        if self.required:
            field.error_messages["required"] = self.required_message

    required_message = _("Ce champ est obligatoire.")


class ComplementForm(TextForm):
    label = _("Ce qu'il manque")
    help_text = _("Envoyé au demandeur, qui peut répondre et joindre un fichier.")
    required_message = _("Dites au demandeur ce qu'il doit compléter.")


class AcceptForm(TextForm):
    label = _("Commentaire pour le demandeur")
    help_text = _("Par exemple : où et quand retirer le document.")
    required = False


class RefuseForm(TextForm):
    label = _("Motif du refus")
    help_text = _("Envoyé au demandeur : un refus est toujours motivé.")
    required_message = _("Indiquez le motif du refus.")


class DismissForm(TextForm):
    label = _("Commentaire pour le demandeur")
    required = False


class MessageForm(TextForm):
    label = _("Message au demandeur")
    help_text = _("Envoyé par courriel au demandeur ; l'état de la demande ne change pas.")
    required_message = _("Écrivez le message.")
