"""The commune's administrative file (« Dossier administratif ») in the admin: for each school
year, the documents the commune asks of families (type, who provides it, the service that checks
it, a precision for the families). A commune's administrator sees and edits only their commune's
lines, and chooses only among their commune's services; the operator sees every commune's.

« Reprendre pour l'année suivante » copies the selected lines to the next school year (a line
already there is left as it is); each line created is logged in the admin's history.

The families' documents themselves have no admin: they are personal data that agents review at
the guichet, where every decision is audited and the files are served only to who may see them.
"""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from parvis.communes.admin import CommuneScopedAdmin, is_operator
from parvis.families.documents import school_year_label
from parvis.families.models import RequiredDocument


class RequiredDocumentAdminForm(forms.ModelForm):
    class Meta:
        model = RequiredDocument
        fields = "__all__"  # noqa: DJ007 — the admin chooses what is shown

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "commune" in self.fields and "service" in self.fields:
            # The operator chooses among every commune's services: say whose each one is.
            service = self.fields["service"]
            service.queryset = service.queryset.select_related("commune")
            service.label_from_instance = lambda s: f"{s.commune.name} — {s.name}"

    def clean(self):
        cleaned = super().clean()
        service = cleaned.get("service")
        commune = cleaned.get("commune")
        commune_id = commune.pk if commune is not None else self.instance.commune_id
        if service is not None and commune_id is not None and service.commune_id != commune_id:
            self.add_error("service", _("Ce service appartient à une autre commune."))
        return cleaned


@admin.register(RequiredDocument)
class RequiredDocumentAdmin(CommuneScopedAdmin):
    form = RequiredDocumentAdminForm
    list_display = ["annee_scolaire", "doc_type", "provider", "service", "help_text", "position"]
    list_display_links = ["annee_scolaire", "doc_type"]
    list_filter = ["school_year", ("service", admin.RelatedOnlyFieldListFilter), "doc_type"]
    list_select_related = ["service"]
    ordering = ["-school_year", "position", "pk"]
    search_fields = ["help_text"]
    actions = ["copy_to_next_year"]

    @admin.display(description=_("année scolaire"), ordering="school_year")
    def annee_scolaire(self, obj):
        return school_year_label(obj.school_year)

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns, "commune"] if is_operator(request) else columns

    def get_list_select_related(self, request):
        related = list(super().get_list_select_related(request))
        return [*related, "commune"] if is_operator(request) else related

    @admin.action(description=_("Reprendre pour l'année suivante"), permissions=["add"])
    def copy_to_next_year(self, request, queryset):
        created, kept = self._copy_to_next_year(request, queryset)
        if created:
            self.message_user(
                request,
                ngettext(
                    "%(count)d document repris pour l'année suivante.",
                    "%(count)d documents repris pour l'année suivante.",
                    created,
                )
                % {"count": created},
            )
        if kept:
            self.message_user(
                request,
                ngettext(
                    "%(count)d document figurait déjà dans la liste de l'année suivante : "
                    "il est laissé tel quel.",
                    "%(count)d documents figuraient déjà dans la liste de l'année suivante : "
                    "ils sont laissés tels quels.",
                    kept,
                )
                % {"count": kept},
            )

    @transaction.atomic
    def _copy_to_next_year(self, request, queryset) -> tuple[int, int]:
        """Copy each line of `queryset` (already scoped to the administrator's commune) to the
        next school year; a line of the same type and provider already there is kept."""
        lines = list(queryset.order_by("school_year", "position", "pk"))
        existing = set(
            RequiredDocument.objects.filter(
                commune_id__in={line.commune_id for line in lines},
                school_year__in={line.school_year + 1 for line in lines},
            ).values_list("commune_id", "school_year", "doc_type", "provider")
        )
        created = kept = 0
        for line in lines:
            key = (line.commune_id, line.school_year + 1, line.doc_type, line.provider)
            if key in existing:
                kept += 1
                continue
            copy = RequiredDocument.objects.create(
                commune_id=line.commune_id,
                school_year=line.school_year + 1,
                service_id=line.service_id,
                doc_type=line.doc_type,
                provider=line.provider,
                help_text=line.help_text,
                position=line.position,
            )
            existing.add(key)
            self.log_addition(
                request,
                copy,
                [{"added": {}}],
            )
            created += 1
        return created, kept
