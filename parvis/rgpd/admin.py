"""A commune's administrator sets its retention durations (a kind without a row keeps its
default, parvis.rgpd.retention) and reads the runs. Scoping from `CommuneScopedAdmin`."""

from django.contrib import admin

from parvis.communes.admin import CommuneScopedAdmin
from parvis.rgpd.models import RetentionRule, RetentionRun


@admin.register(RetentionRule)
class RetentionRuleAdmin(CommuneScopedAdmin):
    list_display = ["commune", "kind", "days"]


@admin.register(RetentionRun)
class RetentionRunAdmin(CommuneScopedAdmin):
    list_display = ["commune", "at", "dry_run", "warned"]
    fields = ["at", "dry_run", "counts", "warned"]
    readonly_fields = fields

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False
