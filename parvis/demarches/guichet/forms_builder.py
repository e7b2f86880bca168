"""The builder's forms (issue 21): a procedure's settings, a step, a field with every option of
its type and its condition « afficher si » chosen from lists, the documents, the workflow
(e-mails per status, confirmation, processing time) and the import of a JSON file.

A field is checked with definitions.py's own checks (builder.check_field_in_place); their
French message is shown next to the option it is about."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.demarches import builder
from parvis.demarches.definitions import (
    FIELD_TYPES,
    PREFILL_SOURCES,
    DefinitionError,
    is_required,
)
from parvis.demarches.models import Audience, Procedure, Status
from parvis.families.models import DocumentType
from parvis.forms_renderer import ParvisBoundField

TYPE_LABELS = {
    "text": gettext_lazy("Texte court (une ligne)"),
    "textarea": gettext_lazy("Texte long (plusieurs lignes)"),
    "number": gettext_lazy("Nombre entier"),
    "date": gettext_lazy("Date"),
    "choice": gettext_lazy("Choix unique (boutons radio)"),
    "multiple": gettext_lazy("Choix multiples (cases à cocher)"),
    "yesno": gettext_lazy("Oui / Non"),
    "email": gettext_lazy("Adresse électronique"),
    "phone": gettext_lazy("Téléphone"),
    "address": gettext_lazy("Adresse postale"),
    "file": gettext_lazy("Fichier (PDF, JPEG ou PNG)"),
    "member": gettext_lazy("Membre du foyer"),
}
assert set(TYPE_LABELS) == FIELD_TYPES
PREFILL_LABELS = {
    "user.email": gettext_lazy("Adresse électronique du compte"),
    "user.civility": gettext_lazy("Civilité du compte"),
    "user.first_name": gettext_lazy("Prénom du compte"),
    "user.last_name": gettext_lazy("Nom du compte"),
    "user.phone": gettext_lazy("Téléphone du compte"),
    "user.address": gettext_lazy("Adresse du compte"),
}
assert set(PREFILL_LABELS) == PREFILL_SOURCES
OPERATORS = [
    ("equals", gettext_lazy("est égal à")),
    ("in", gettext_lazy("est l'une des valeurs")),
]
EMAIL_STATUSES = [
    Status.EN_ATTENTE,
    Status.EN_COURS,
    Status.COMPLEMENT,
    Status.ACCEPTEE,
    Status.REFUSEE,
    Status.SANS_SUITE,
]
# Which option of the field form a message of definitions.py is about.
KEY_FIELDS = {
    "« label »": "label",
    "« choices »": "choices",
    "choix": "choices",
    "« min_length »": "min_length",
    "« max_length »": "max_length",
    "« pattern »": "pattern",
    "« min »": "min",
    "« max »": "max",
    "« min_date »": "min_date",
    "« max_date »": "max_date",
    "« show_if »": "condition_field",
    "« in »": "condition_values",
    "« prefill »": "prefill",
    "« member_kind »": "member_kind",
    "« document_types »": "document_types",
}
MAX_IMPORT_BYTES = 512 * 1024


class BuilderForm(forms.Form):
    bound_field_class = ParvisBoundField


class SettingsForm(forms.ModelForm):
    bound_field_class = ParvisBoundField

    class Meta:
        model = Procedure
        fields = [
            "title",
            "category",
            "description",
            "keywords",
            "duration_minutes",
            "audience",
            "service",
            "auto_accept",
        ]
        widgets = {
            "audience": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "audience": gettext_lazy(
                "Qui peut la faire (« Tout le monde » : possible sans compte)"
            ),
            "duration_minutes": gettext_lazy("Durée approximative affichée (minutes)"),
        }

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = commune.service_set.order_by("position", "name")
        self.fields["service"].empty_label = None
        if "duration_minutes" in self.fields:
            self.fields["duration_minutes"].min_value = 1
            self.fields["duration_minutes"].max_value = 240
        self.fields["audience"].choices = Audience.choices


class CreateForm(SettingsForm):
    class Meta(SettingsForm.Meta):
        fields = ["title", "category", "audience", "service"]


class StepEditForm(BuilderForm):
    title = forms.CharField(label=gettext_lazy("Titre de l'étape"), max_length=120)
    intro = forms.CharField(
        label=gettext_lazy("Texte d'introduction (facultatif)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NewFieldForm(BuilderForm):
    label = forms.CharField(label=gettext_lazy("Libellé du champ"), max_length=200)
    type = forms.ChoiceField(label=gettext_lazy("Type de champ"), choices=list(TYPE_LABELS.items()))


def _parse_choices(text: str) -> list[list[str]]:
    """One choice a line: « Libellé », or « valeur | Libellé »."""
    choices = []
    taken: dict = {"steps": [{"fields": []}]}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if "|" in line:
            value, label = (part.strip() for part in line.split("|", 1))
        else:
            value, label = builder.new_name(taken, line), line
        taken["steps"][0]["fields"].append({"name": value})
        choices.append([value, label])
    return choices


class FieldEditForm(BuilderForm):
    """Every option of a field, those of its type only; « afficher si » from lists."""

    label = forms.CharField(label=gettext_lazy("Libellé"), max_length=200)
    help = forms.CharField(
        label=gettext_lazy("Aide (facultatif)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    required = forms.BooleanField(label=gettext_lazy("Réponse obligatoire"), required=False)
    choices = forms.CharField(
        label=gettext_lazy("Choix proposés"),
        help_text=gettext_lazy("Un choix par ligne ; « valeur | Libellé » pour fixer la valeur."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    min_length = forms.IntegerField(
        label=gettext_lazy("Longueur minimale"), required=False, min_value=0, max_value=10000
    )
    max_length = forms.IntegerField(
        label=gettext_lazy("Longueur maximale"), required=False, min_value=1, max_value=10000
    )
    pattern = forms.CharField(
        label=gettext_lazy("Format attendu (expression régulière)"),
        help_text=gettext_lazy("Par exemple ^[0-9]{5}$ pour un code postal."),
        required=False,
        max_length=300,
    )
    pattern_message = forms.CharField(
        label=gettext_lazy("Message si le format n'est pas respecté"),
        required=False,
        max_length=300,
    )
    min = forms.IntegerField(label=gettext_lazy("Valeur minimale"), required=False)
    max = forms.IntegerField(label=gettext_lazy("Valeur maximale"), required=False)
    min_date = forms.CharField(
        label=gettext_lazy("Date au plus tôt"),
        help_text=gettext_lazy("AAAA-MM-JJ, ou today, today-16y, today+30d."),
        required=False,
        max_length=20,
    )
    max_date = forms.CharField(
        label=gettext_lazy("Date au plus tard"),
        help_text=gettext_lazy("AAAA-MM-JJ, ou today, today-16y, today+30d."),
        required=False,
        max_length=20,
    )
    prefill = forms.ChoiceField(
        label=gettext_lazy("Pré-remplir depuis le compte"),
        required=False,
        choices=[("", gettext_lazy("Non")), *PREFILL_LABELS.items()],
    )
    member_kind = forms.ChoiceField(
        label=gettext_lazy("Membres proposés"),
        required=False,
        choices=[
            ("", gettext_lazy("Tous les membres du foyer")),
            ("enfant", gettext_lazy("Les enfants")),
            ("responsable", gettext_lazy("Les responsables")),
        ],
    )
    document_types = forms.MultipleChoiceField(
        label=gettext_lazy("Documents de l'espace de stockage que l'on peut joindre"),
        help_text=gettext_lazy(
            "Proposés au demandeur à la place d'un nouveau fichier ; aucun coché : tous."
        ),
        required=False,
        choices=DocumentType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    condition_field = forms.ChoiceField(
        label=gettext_lazy("Afficher seulement si le champ"), required=False
    )
    condition_operator = forms.ChoiceField(
        label=gettext_lazy("Opérateur"), required=False, choices=OPERATORS
    )
    condition_values = forms.MultipleChoiceField(
        label=gettext_lazy("Valeur(s)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    TYPE_OPTIONS = {
        "text": {"min_length", "max_length", "pattern", "pattern_message", "prefill"},
        "textarea": {"min_length", "max_length", "pattern", "pattern_message"},
        "number": {"min", "max"},
        "date": {"min_date", "max_date"},
        "choice": {"choices", "prefill"},
        "multiple": {"choices"},
        "yesno": set(),
        "email": {"prefill"},
        "phone": {"prefill"},
        "address": {"prefill"},
        "file": {"document_types"},
        "member": {"member_kind"},
    }
    OPTIONAL = {
        "choices", "min_length", "max_length", "pattern", "pattern_message", "min", "max",
        "min_date", "max_date", "prefill", "member_kind", "document_types",
    }  # fmt: skip

    def __init__(self, *args, spec: dict, definition: dict, place: tuple[int, int], **kwargs):
        self.spec, self.definition, self.place = spec, definition, place
        initial = {
            "label": spec.get("label", ""),
            "help": spec.get("help", ""),
            "required": is_required(spec),
            "choices": "\n".join(f"{v} | {label}" for v, label in spec.get("choices", [])),
            **{
                key: spec.get(key)
                for key in (
                    "min_length",
                    "max_length",
                    "pattern",
                    "pattern_message",
                    "min",
                    "max",
                    "min_date",
                    "max_date",
                    "prefill",
                    "member_kind",
                    "document_types",
                )
            },
        }
        condition = spec.get("show_if") or {}
        if condition:
            initial["condition_field"] = condition["field"]
            initial["condition_operator"] = "in" if "in" in condition else "equals"
            values = condition.get("in", [condition.get("equals")])
            initial["condition_values"] = [f"{condition['field']}:{v}" for v in values]
        super().__init__(*args, initial=initial, **kwargs)
        kind = spec["type"]
        for name in self.OPTIONAL - self.TYPE_OPTIONS[kind]:
            del self.fields[name]
        targets = [
            f
            for f in builder.fields_before(definition, *place)
            if f["type"] in builder.CONDITION_TYPES
        ]
        self.targets = {f["name"]: f for f in targets}
        if targets:
            self.fields["condition_field"].choices = [
                ("", _("(toujours afficher)")),
                *((f["name"], f["label"]) for f in targets),
            ]
            self.fields["condition_values"].choices = [
                (f"{f['name']}:{value}", f"{f['label']} : {label}")
                for f in targets
                for value, label in builder.condition_values(f)
            ]
        else:
            for name in ("condition_field", "condition_operator", "condition_values"):
                del self.fields[name]

    @property
    def type_label(self) -> str:
        return str(TYPE_LABELS[self.spec["type"]])

    def clean_choices(self):
        choices = _parse_choices(self.cleaned_data.get("choices", ""))
        if self.spec["type"] in {"choice", "multiple"} and not choices:
            raise ValidationError(_("Indiquez au moins un choix."))
        return choices

    def _condition(self) -> dict | None:
        target = self.cleaned_data.get("condition_field")
        if not target:
            return None
        values = [
            item.split(":", 1)[1]
            for item in self.cleaned_data.get("condition_values", [])
            if item.split(":", 1)[0] == target
        ]
        if len(values) != len(self.cleaned_data.get("condition_values", [])):
            self.add_error("condition_values", _("Cochez seulement des valeurs du champ choisi."))
            return None
        if not values:
            self.add_error("condition_values", _("Cochez la valeur qui affiche ce champ."))
            return None
        if self.cleaned_data.get("condition_operator") == "equals":
            if len(values) > 1:
                self.add_error(
                    "condition_values",
                    _(
                        "« est égal à » se lit avec une seule valeur : choisissez "
                        "« est l'une des valeurs »."
                    ),
                )
                return None
            return {"field": target, "equals": values[0]}
        return {"field": target, "in": values}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        spec = {
            "name": self.spec["name"],
            "label": cleaned["label"].strip(),
            "type": self.spec["type"],
        }
        spec["required"] = bool(cleaned.get("required"))
        if cleaned.get("help", "").strip():
            spec["help"] = cleaned["help"].strip()
        for key in self.TYPE_OPTIONS[self.spec["type"]]:
            value = cleaned.get(key)
            if value not in (None, "", []):
                spec[key] = value.strip() if isinstance(value, str) else value
        condition = self._condition() if "condition_field" in self.fields else None
        if self.errors:
            return cleaned
        if condition:
            spec["show_if"] = condition
        try:
            builder.check_field_in_place(self.definition, *self.place, spec)
        except DefinitionError as error:
            message = str(error).split(" : ", 1)[-1]
            target = next(
                (
                    name
                    for key, name in KEY_FIELDS.items()
                    if key in message and name in self.fields
                ),
                None,
            )
            self.add_error(target, message)
            return cleaned
        self.result = spec
        return cleaned


class DocumentsForm(BuilderForm):
    documents = forms.CharField(
        label=gettext_lazy("Pièces à fournir, une par ligne"),
        help_text=gettext_lazy("Listées au demandeur sur la page de la démarche."),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean_documents(self):
        return [
            line.strip() for line in self.cleaned_data["documents"].splitlines() if line.strip()
        ]


class WorkflowForm(BuilderForm):
    processing_days = forms.IntegerField(
        label=gettext_lazy("Délai de traitement visé (jours)"),
        help_text=gettext_lazy("Au-delà, la demande est signalée « en retard » aux agents."),
        required=False,
        min_value=1,
        max_value=365,
    )
    confirmation = forms.CharField(
        label=gettext_lazy("Message affiché sur la page de confirmation"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for status in EMAIL_STATUSES:
            label = Status(status).label
            self.fields[f"subject_{status}"] = forms.CharField(
                label=_("Objet du courriel « %(status)s »") % {"status": label},
                required=False,
                max_length=200,
            )
            self.fields[f"body_{status}"] = forms.CharField(
                label=_("Texte du courriel « %(status)s »") % {"status": label},
                help_text=_("Vide : le courriel habituel de Parvis."),
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 4}),
            )

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if name.startswith(("subject_", "body_")) and value:
                unknown = builder.unknown_placeholders(value)
                if unknown:
                    self.add_error(
                        name,
                        _("Repère inconnu : {%(name)s}. Repères possibles : %(known)s.")
                        % {
                            "name": unknown[0],
                            "known": ", ".join(f"{{{key}}}" for key in builder.PLACEHOLDERS),
                        },
                    )
        for status in EMAIL_STATUSES:
            if cleaned.get(f"subject_{status}") and not cleaned.get(f"body_{status}"):
                self.add_error(f"body_{status}", _("Écrivez le texte de ce courriel."))
        return cleaned

    def emails(self) -> dict:
        return {
            status: {
                "subject": self.cleaned_data.get(f"subject_{status}", "").strip(),
                "body": self.cleaned_data[f"body_{status}"].strip(),
            }
            for status in EMAIL_STATUSES
            if self.cleaned_data.get(f"body_{status}", "").strip()
        }

    def previews(self) -> list[tuple[str, str, str]]:
        """(status, subject, body) of each e-mail written, with the example values."""
        return [
            (
                Status(status).label,
                builder.render_placeholders(mail["subject"], builder.PLACEHOLDERS),
                builder.render_placeholders(mail["body"], builder.PLACEHOLDERS),
            )
            for status, mail in self.emails().items()
        ]


def workflow_initial(procedure: Procedure) -> dict:
    initial = {
        "processing_days": procedure.processing_days,
        "confirmation": procedure.working_definition.get("confirmation", ""),
    }
    for status, mail in (procedure.emails or {}).items():
        initial[f"subject_{status}"] = mail.get("subject", "")
        initial[f"body_{status}"] = mail.get("body", "")
    return initial


class ImportForm(BuilderForm):
    file = forms.FileField(
        label=gettext_lazy("Fichier JSON d'une démarche"),
        help_text=gettext_lazy("Exporté d'une autre commune ou de Parvis (512 Ko au plus)."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(_("Le fichier dépasse 512 Ko."))
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationError(_("Ce fichier n'est pas un fichier JSON valide.")) from error
