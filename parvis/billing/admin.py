"""Billing in the admin: a commune's administrator sets up their commune's régies (with the
activities each bills), the tariffs of its units (with their QF brackets inline) and the penalty
and credit rules; the operator sees every commune's.

Scoping comes from `CommuneScopedAdmin` / `ScopedInline` (parvis/communes/admin.py): another
commune's rows can be neither listed, opened, chosen nor created. The models' `clean` and
constraints give the errors, in French; the brackets' formset checks the set as a whole."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from parvis.billing import pricing
from parvis.billing.models import (
    UNKNOWN_QF_RULE,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
    validate_brackets,
)
from parvis.communes.admin import CommuneScopedAdmin, ScopedInline, is_operator


def _with_commune_for_operator(request, fieldsets):
    """The operator chooses the commune of a new row; a commune's administrator never does."""
    if not is_operator(request):
        return fieldsets
    (title, options), *rest = fieldsets
    return [(title, {**options, "fields": ["commune", *options["fields"]]}), *rest]


class RegieActivityInline(ScopedInline, admin.TabularInline):
    model = RegieActivity
    fk_name = "regie"
    exclude = ["commune"]
    extra = 0
    verbose_name = _("activité facturée")
    verbose_name_plural = _("activités facturées par cette régie")


@admin.register(Regie)
class RegieAdmin(CommuneScopedAdmin):
    inlines = [RegieActivityInline]
    list_display = ["name", "code", "email", "phone", "position"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["name", "code", "position"]}),
        (
            _("Coordonnées imprimées sur les factures"),
            {"fields": ["payee", "address", "email", "phone"]},
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        return _with_commune_for_operator(request, super().get_fieldsets(request, obj))


class TariffBracketFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.kind not in TariffKind.values:
            return  # the tariff's own form says what is wrong
        qf_mins = [
            form.cleaned_data["qf_min"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        # The tariff's mode as its own form cleaned it (the admin validates it first).
        validate_brackets(self.instance.kind, qf_mins)


class TariffBracketInline(ScopedInline, admin.TabularInline):
    model = TariffBracket
    fk_name = "tariff"
    formset = TariffBracketFormSet
    exclude = ["commune"]
    extra = 0
    verbose_name_plural = _("tranches de quotient familial (mode « par tranches » seulement)")


def _unit_choice(unit) -> str:
    return f"{unit.activity.name} — {unit.label} ({unit.code})"


@admin.register(Tariff)
class TariffAdmin(CommuneScopedAdmin):
    inlines = [TariffBracketInline]
    list_display = ["unit_name", "valid_from", "kind", "summary"]
    list_filter = ["kind", ("unit__activity", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["unit__activity"]
    search_fields = ["unit__label", "unit__code", "unit__activity__name"]
    date_hierarchy = "valid_from"
    fieldsets = [
        (None, {"fields": ["unit", "valid_from", "kind"], "description": UNKNOWN_QF_RULE}),
        (_("Tarif unique"), {"fields": ["price"]}),
        (_("Taux d'effort"), {"fields": ["effort_rate", "minimum", "maximum"]}),
        (
            _("Familles non résidentes et fratries"),
            {"fields": ["non_resident_price", "second_child_discount", "third_child_discount"]},
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        return _with_commune_for_operator(request, super().get_fieldsets(request, obj))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("brackets")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "unit" and field is not None:
            # Units of two activities may share a label: name the activity too.
            field.queryset = field.queryset.select_related("activity")
            field.label_from_instance = _unit_choice
        return field

    @admin.display(description=_("unité"), ordering="unit__activity__name")
    def unit_name(self, obj):
        return _unit_choice(obj.unit)

    @admin.display(description=_("prix"))
    def summary(self, obj):
        if obj.kind == TariffKind.FLAT:
            return pricing.money(obj.price)
        if obj.kind == TariffKind.EFFORT_RATE:
            return pricing.effort_rate_label(obj)
        prices = [bracket.price for bracket in obj.brackets.all()]
        if not prices:
            return gettext("aucune tranche")
        return gettext("%(count)s tranches, de %(low)s à %(high)s") % {
            "count": len(prices),
            "low": pricing.money(min(prices)),
            "high": pricing.money(max(prices)),
        }


@admin.register(PenaltyRule)
class PenaltyRuleAdmin(CommuneScopedAdmin):
    list_display = ["kind", "activity_name", "how_much", "valid_from"]
    list_filter = ["kind", ("activity", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["activity"]
    date_hierarchy = "valid_from"
    fieldsets = [(None, {"fields": ["kind", "activity", "amount", "percent", "valid_from"]})]

    def get_fieldsets(self, request, obj=None):
        return _with_commune_for_operator(request, super().get_fieldsets(request, obj))

    @admin.display(description=_("activité"), ordering="activity__name")
    def activity_name(self, obj):
        return obj.activity.name if obj.activity_id else gettext("toutes les activités")

    @admin.display(description=_("montant"))
    def how_much(self, obj):
        if obj.amount is not None:
            return pricing.money(obj.amount)
        return gettext("%(rate)s du prix de l'unité") % {"rate": pricing.percent(obj.percent)}
