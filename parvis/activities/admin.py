"""Activities in the admin: a commune's administrator sets up their commune's activities (with
their units inline), the closures and the inscriptions; the operator sees every commune's.

Scoping comes from `CommuneScopedAdmin` / `ScopedInline` (parvis/communes/admin.py): another
commune's rows can be neither listed, opened, chosen nor created. The booking rules are set by
form (parvis.activities.forms_rules: a kind and its inputs, each rule said in a sentence), checked
by rules.validate_rule, and a change of an existing activity's rules goes through
services_regles.set_booking_rules (audited)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from parvis.activities.forms_rules import RULE_FIELDS, rule_fields
from parvis.activities.models import Activity, ActivityClosure, Inscription, Unit
from parvis.activities.rules_text import sentence
from parvis.activities.services import offer_new_seats
from parvis.activities.services_instruction import close_day
from parvis.activities.services_regles import set_booking_rules
from parvis.communes.admin import CommuneScopedAdmin, ScopedInline, is_operator, scoped_commune_id
from parvis.communes.models import Commune


class ActivityAdminForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = "__all__"  # noqa: DJ007 — the admin's fieldsets choose what is shown

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The rules by form, not JSON (issue 21 §7): the same fields as the guichet's page.
        for name, field in rule_fields().items():
            if name in self.fields:
                self.fields[name] = field

    def clean(self):
        cleaned = super().clean()
        service = cleaned.get("service")
        commune = cleaned.get("commune")
        commune_id = commune.pk if commune is not None else self.instance.commune_id
        if service is not None and commune_id is not None and service.commune_id != commune_id:
            self.add_error("service", _("Ce service appartient à une autre commune."))
        return cleaned


class UnitInline(ScopedInline, admin.TabularInline):
    model = Unit
    fk_name = "activity"
    exclude = ["commune"]
    extra = 0


@admin.register(Activity)
class ActivityAdmin(CommuneScopedAdmin):
    form = ActivityAdminForm
    inlines = [UnitInline]
    list_display = ["name", "service", "runs", "start", "end", "needs_instruction"]
    list_filter = ["runs", "needs_instruction", ("service", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug"]
    list_select_related = ["service"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "service", "description", "position"]}),
        (_("Période"), {"fields": ["runs", "start", "end", "levels"]}),
        (
            _("Règles de réservation"),
            {
                "fields": [
                    "rules_sentences",
                    "booking_opens",
                    "booking_deadline",
                    "cancel_deadline",
                    "needs_instruction",
                    "requires_complete_file",
                    "offer_hours",
                    "duration_minutes",
                ]
            },
        ),
    ]

    readonly_fields = ["rules_sentences"]

    @admin.display(description=_("Règles en clair"))
    def rules_sentences(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return " ".join(sentence(getattr(obj, name), which) for name, which in RULE_FIELDS.items())

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # The rules go through the audited service; the other fields as usual.
        new = {name: getattr(obj, name) for name in RULE_FIELDS}
        for name in RULE_FIELDS:
            setattr(obj, name, form.initial.get(name))
        super().save_model(request, obj, form, change)
        set_booking_rules(commune=obj.commune, activity=obj, actor=request.user, **new)

    def save_formset(self, request, form, formset, change):
        # Seats a unit had before this save, for the units whose capacity changes.
        before = {}
        if formset.model is Unit:
            for unit_form in formset.forms:
                changed = {"capacity", "overbooking"} & set(unit_form.changed_data)
                if unit_form.instance.pk and changed:
                    capacity = unit_form.initial.get("capacity")
                    overbooking = unit_form.initial.get("overbooking") or 0
                    before[unit_form.instance.pk] = (
                        None if capacity is None else capacity + overbooking
                    )
        super().save_formset(request, form, formset, change)
        for unit_form in formset.forms:
            unit = unit_form.instance
            if unit.pk not in before or before[unit.pk] is None:
                continue
            if unit.seats is None or unit.seats > before[unit.pk]:
                # The new seats go to the waiting list (same transaction as the save).
                offer_new_seats(unit=unit, actor=request.user)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not is_operator(request):
            return fieldsets
        (title, options), *rest = fieldsets
        return [(title, {**options, "fields": ["commune", *options["fields"]]}), *rest]


class ActivityClosureForm(forms.ModelForm):
    """A new closure is checked before it is written: the activity of the closure's commune,
    not already closed that day (the service refuses both, and would answer with an error)."""

    def clean(self):
        cleaned = super().clean()
        commune_id = self.instance.commune_id or getattr(cleaned.get("commune"), "pk", None)
        activity, day = cleaned.get("activity"), cleaned.get("day")
        if self.instance.pk is not None or day is None or commune_id is None:
            return cleaned
        if activity is not None and activity.commune_id != commune_id:
            self.add_error("activity", _("Cette activité est celle d'une autre commune."))
        elif ActivityClosure.objects.filter(
            commune_id=commune_id, activity=activity, day=day
        ).exists():
            self.add_error("day", _("Une fermeture existe déjà ce jour-là pour cette activité."))
        return cleaned


@admin.register(ActivityClosure)
class ActivityClosureAdmin(CommuneScopedAdmin):
    form = ActivityClosureForm
    list_display = ["day", "activity", "reason"]
    list_filter = [("activity", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["activity"]
    exclude = ["created_by"]
    date_hierarchy = "day"

    def get_readonly_fields(self, request, obj=None):
        # A closure's day and activity are what removed the bookings: only its reason changes.
        if obj is None:
            return []
        return ["commune", "activity", "day"] if is_operator(request) else ["activity", "day"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # Closing a day here does what the guichet's « Fermer » does: the bookings of that day
        # removed, their seats given back, the families told (activities.services_instruction).
        commune_id = scoped_commune_id(request) or obj.commune_id
        closure = close_day(
            commune=Commune.objects.get(pk=commune_id),
            activity=obj.activity,
            day=obj.day,
            reason=obj.reason,
            actor=request.user,
        )
        obj.pk, obj.commune_id = closure.pk, closure.commune_id
        obj.created_by, obj.created_at = closure.created_by, closure.created_at


@admin.register(Inscription)
class InscriptionAdmin(CommuneScopedAdmin):
    list_display = ["child", "activity", "status", "created_at"]
    list_filter = ["status", ("activity", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["child", "activity"]
    search_fields = ["child__last_name", "child__first_names", "famille__name"]
    readonly_fields = ["created_at", "decided_at"]
