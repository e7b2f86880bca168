"""Online payment in the admin: a commune's administrator chooses their commune's provider and
its settings (the secret is typed, never shown back: only its last four characters), and reads
the transactions and the log of exchanges with the provider, which nobody edits.

Scoping comes from `CommuneScopedAdmin` (parvis/communes/admin.py)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from parvis.billing.pricing import money
from parvis.communes.admin import CommuneScopedAdmin, is_operator
from parvis.payments.forms import ProviderConfigForm
from parvis.payments.models import (
    CreditorSettings,
    Debit,
    DebitBatch,
    Exchange,
    Mandate,
    ProviderConfig,
    Transaction,
    TransactionInvoice,
)


@admin.register(ProviderConfig)
class ProviderConfigAdmin(CommuneScopedAdmin):
    form = ProviderConfigForm
    list_display = ["commune", "provider", "updated_at"]
    fieldsets = [(None, {"fields": ["provider", "options", "secret"]})]

    def get_fieldsets(self, request, obj=None):
        if is_operator(request):
            return [(None, {"fields": ["commune", "provider", "options", "secret"]})]
        return super().get_fieldsets(request, obj)


class ReadOnlyMixin:
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ShareInline(ReadOnlyMixin, admin.TabularInline):
    model = TransactionInvoice
    fields = ["invoice", "amount", "pending"]
    readonly_fields = fields
    extra = 0
    verbose_name = _("facture payée")
    verbose_name_plural = _("factures payées par cette transaction")


class ExchangeInline(ReadOnlyMixin, admin.TabularInline):
    model = Exchange
    fields = ["at", "kind", "method", "verified", "outcome", "remote_addr"]
    readonly_fields = fields
    extra = 0
    ordering = ["at", "pk"]


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyMixin, CommuneScopedAdmin):
    list_display = [
        "reference",
        "famille",
        "provider",
        "amount_text",
        "status",
        "created_at",
        "notified_at",
    ]
    list_filter = ["status", "provider", "created_at"]
    list_select_related = ["famille"]
    search_fields = ["reference", "provider_reference", "famille__name"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "famille",
        "user",
        "provider",
        "amount",
        "status",
        "replaced_by",
        "provider_reference",
        "created_at",
        "notified_at",
    ]
    readonly_fields = fields
    inlines = [ShareInline, ExchangeInline]

    @admin.display(description=_("montant"), ordering="amount")
    def amount_text(self, obj):
        return money(obj.amount)


@admin.register(Exchange)
class ExchangeAdmin(ReadOnlyMixin, CommuneScopedAdmin):
    list_display = ["at", "kind", "provider", "transaction", "verified", "outcome"]
    list_filter = ["kind", "provider", "verified", "at"]
    list_select_related = ["transaction"]
    search_fields = ["transaction__reference", "outcome"]
    date_hierarchy = "at"
    fields = [
        "at",
        "kind",
        "provider",
        "transaction",
        "method",
        "remote_addr",
        "verified",
        "outcome",
        "payload",
    ]
    readonly_fields = fields


# --- SEPA direct debit (issue 19 §1) -------------------------------------------------------------


@admin.register(CreditorSettings)
class CreditorSettingsAdmin(CommuneScopedAdmin):
    """A régie's creditor identifier (ICS, checked with its mod 97-10 digits), its account
    (IBAN checked, BIC derived), the pre-notification notice and the rejection fee."""

    list_display = ["regie", "ics", "enabled", "notice_days", "fee_text"]
    list_select_related = ["regie"]
    fields = [
        "regie",
        "enabled",
        "creditor_name",
        "ics",
        "iban",
        "bic",
        "notice_days",
        "rejection_fee",
    ]

    def get_fields(self, request, obj=None):
        if is_operator(request):
            return ["commune", *self.fields]
        return self.fields

    @admin.display(description=_("frais de rejet"), ordering="rejection_fee")
    def fee_text(self, obj):
        return money(obj.rejection_fee)


@admin.register(Mandate)
class MandateAdmin(ReadOnlyMixin, CommuneScopedAdmin):
    list_display = ["rum", "famille", "regie", "status", "source", "signed_on"]
    list_filter = ["status", "source"]
    list_select_related = ["famille", "regie"]
    search_fields = ["rum", "famille__name", "holder_name"]
    fields = [
        "rum",
        "famille",
        "regie",
        "status",
        "source",
        "holder_name",
        "bic",
        "signed_on",
        "signed_at",
        "consecutive_rejects",
        "ended_at",
        "evidence",
    ]
    readonly_fields = fields


class DebitInline(ReadOnlyMixin, admin.TabularInline):
    model = Debit
    fields = ["invoice", "mandate", "amount", "sequence_type", "status", "reject_code"]
    readonly_fields = fields
    extra = 0


@admin.register(DebitBatch)
class DebitBatchAdmin(ReadOnlyMixin, CommuneScopedAdmin):
    list_display = ["collection_date", "regie", "count", "total", "status"]
    list_filter = ["status"]
    list_select_related = ["regie"]
    fields = ["regie", "collection_date", "status", "message_id", "count", "total", "sent_at"]
    readonly_fields = fields
    inlines = [DebitInline]
