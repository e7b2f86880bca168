"""The audit log in the admin, read-only, in the words of the family file's journal.

Registered by the shell rather than by accounts: its sentences need every app's vocabulary
(parvis.backoffice.journal), and accounts sits below the apps that write it."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import AuditEntry
from parvis.backoffice.journal import ACTIONS, present, present_all
from parvis.communes.admin import CommuneScopedMixin


class ActionFilter(admin.SimpleListFilter):
    """The actions by their French label (not « paiement.enregistre »)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        # Without the log's ordering: DISTINCT over (action, at, id) would read every row.
        written = set(
            model_admin.get_queryset(request).order_by().values_list("action", flat=True).distinct()
        )
        return sorted(
            ((code, str(ACTIONS.get(code, code))) for code in written),
            key=lambda item: item[1].casefold(),
        )

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class JournalChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One reading per page (the children a register names in one query), not per row.
        for entry, line in zip(self.result_list, present_all(self.result_list), strict=True):
            entry.journal_line = line


def _line(entry):
    line = getattr(entry, "journal_line", None)
    if line is None:
        line = entry.journal_line = present(entry)
    return line


@admin.register(AuditEntry)
class AuditEntryAdmin(CommuneScopedMixin, admin.ModelAdmin):
    """The audit log, read-only."""

    list_display = ["quand", "auteur", "action_label", "objet", "detail"]
    list_display_links = ["quand"]
    list_filter = [ActionFilter]
    list_select_related = ["actor"]
    search_fields = ["actor_label", "target_label", "action"]
    date_hierarchy = "at"
    fields = readonly_fields = ["quand", "auteur", "action_label", "objet", "detail"]

    def get_changelist(self, request, **kwargs):
        return JournalChangeList

    @admin.display(description=_("date"), ordering="at")
    def quand(self, entry):
        return date_format(localtime(entry.at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("auteur"), ordering="actor_label")
    def auteur(self, entry):
        return _line(entry).who

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, entry):
        return _line(entry).what

    @admin.display(description=_("objet"), ordering="target_label")
    def objet(self, entry):
        return entry.target_label or "—"

    @admin.display(description=_("détail"))
    def detail(self, entry):
        return " ; ".join(change.text for change in _line(entry).changes) or "—"

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
