"""Procedures in the admin: a commune's administrator edits their commune's procedures (the
definition as JSON, checked by `validate_definition`) and switches them on or off; the operator
sees every commune's.

Deleting: commune administrators never delete a procedure (their group has no delete
permission: they switch it off instead, which keeps its requests readable); the operator may
delete one that has no request yet.
"""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.fields import InvalidJSONInput
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from parvis.communes.admin import CommuneScopedAdmin, is_operator
from parvis.demarches.definitions import (
    FIELD_TYPES,
    DefinitionError,
    in_reading_order,
    validate_definition,
)
from parvis.demarches.models import Procedure
from parvis.demarches.versions import record_version

# What a new procedure starts from: one step, one field, valid as it is.
STARTER_DEFINITION = {
    "steps": [
        {
            "title": "Ma demande",
            "fields": [{"name": "objet", "label": "Objet de votre demande", "type": "textarea"}],
        }
    ],
    "confirmation": "",
}


class DefinitionField(forms.JSONField):
    """JSON shown indented, and a French message saying where the text stops being JSON."""

    default_error_messages = {
        "invalid": _(
            "Ce texte n'est pas du JSON valide (ligne %(line)s, colonne %(column)s) : vérifiez "
            "les guillemets, les virgules, les crochets et les accolades."
        ),
    }

    def to_python(self, value):
        if self.disabled or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        try:
            json.loads(value, cls=self.decoder)
        except json.JSONDecodeError as error:
            raise ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"line": error.lineno, "column": error.colno},
            ) from error
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):  # shown again as typed
            return value
        return json.dumps(in_reading_order(value), ensure_ascii=False, indent=2, cls=self.encoder)


class ProcedureAdminForm(forms.ModelForm):
    class Meta:
        model = Procedure
        fields = "__all__"  # noqa: DJ007 — the admin's fieldsets choose what is shown
        field_classes = {"definition": DefinitionField}
        widgets = {
            "definition": forms.Textarea(
                attrs={"class": "parvis-definition", "rows": 30, "cols": 100, "spellcheck": "false"}
            ),
            "keywords": forms.TextInput(attrs={"class": "vLargeTextField"}),
        }
        help_texts = {
            "definition": format_lazy(
                _(
                    "Les étapes et leurs champs, en JSON, vérifiés à l'enregistrement. Types de "
                    "champ : {types}. Un champ avec « show_if » ne s'affiche que selon la réponse "
                    "à un champ de la même étape ou d'une étape précédente."
                ),
                types=", ".join(sorted(FIELD_TYPES)),
            ),
            "keywords": _("Séparés par des espaces : la recherche « votre recherche » les lit."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "commune" in self.fields and "service" in self.fields:
            # The operator chooses among every commune's services: say whose each one is.
            service = self.fields["service"]
            service.queryset = service.queryset.select_related("commune")
            service.label_from_instance = lambda s: f"{s.commune.name} — {s.name}"

    def clean_definition(self):
        definition = self.cleaned_data.get("definition")
        try:
            return validate_definition(definition)
        except DefinitionError as error:
            raise ValidationError(str(error), code="definition") from error

    def clean(self):
        cleaned = super().clean()
        service = cleaned.get("service")
        commune = cleaned.get("commune")
        commune_id = commune.pk if commune is not None else self.instance.commune_id
        if service is not None and commune_id is not None and service.commune_id != commune_id:
            self.add_error("service", _("Ce service appartient à une autre commune."))
        return cleaned


@admin.register(Procedure)
class ProcedureAdmin(CommuneScopedAdmin):
    form = ProcedureAdminForm
    list_display = ["title", "category", "audience", "service", "is_enabled"]
    list_filter = [
        "is_enabled",
        "audience",
        "category",
        ("service", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "keywords", "category", "slug"]
    list_select_related = ["service"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["enable", "disable"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "category", "keywords", "description", "position"]}),
        (
            _("Fonctionnement"),
            {
                "fields": [
                    "is_enabled",
                    "audience",
                    "service",
                    "auto_accept",
                    "effect",
                    "duration_minutes",
                ]
            },
        ),
        (_("Étapes et champs"), {"fields": ["definition"]}),
    ]

    class Media:
        css = {"all": ["demarches/admin.css"]}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not is_operator(request):
            return fieldsets
        (title, options), *rest = fieldsets
        return [(title, {**options, "fields": ["commune", *options["fields"]]}), *rest]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns, "commune"] if is_operator(request) else columns

    def get_changeform_initial_data(self, request):
        return {"definition": STARTER_DEFINITION, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        current = obj.current_version
        if current is None or current.definition != obj.definition:
            # A definition changed here is published as a new version, as by the builder:
            # requests already started keep theirs.
            with transaction.atomic():
                record_version(
                    procedure=obj, definition=obj.definition, actor=request.user, note="Admin"
                )

    def has_delete_permission(self, request, obj=None):
        # A procedure with requests is kept (they point to it): switch it off instead.
        if obj is not None and obj.demandes.exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Activer les démarches sélectionnées"), permissions=["change"])
    def enable(self, request, queryset):
        count = self._set_enabled(request, queryset, True)
        self.message_user(
            request,
            ngettext(
                "%(count)d démarche activée : elle est proposée aux habitants.",
                "%(count)d démarches activées : elles sont proposées aux habitants.",
                count,
            )
            % {"count": count},
        )

    @admin.action(description=_("Désactiver les démarches sélectionnées"), permissions=["change"])
    def disable(self, request, queryset):
        count = self._set_enabled(request, queryset, False)
        self.message_user(
            request,
            ngettext(
                "%(count)d démarche désactivée : elle n'est plus proposée.",
                "%(count)d démarches désactivées : elles ne sont plus proposées.",
                count,
            )
            % {"count": count},
        )

    def _set_enabled(self, request, queryset, value: bool) -> int:
        """Switch the procedures of `queryset` (already scoped to the administrator's commune)
        that need it, and log each change in the admin's history."""
        changing = list(queryset.exclude(is_enabled=value))
        Procedure.objects.filter(pk__in=[p.pk for p in changing]).update(is_enabled=value)
        field = str(Procedure._meta.get_field("is_enabled").verbose_name)
        for procedure in changing:
            procedure.is_enabled = value
            self.log_change(request, procedure, [{"changed": {"fields": [field]}}])
        return len(changing)
