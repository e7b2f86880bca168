"""The operator's read-only view of the outgoing e-mails, the periodic runs and the agents'
background jobs."""

from django.contrib import admin

from parvis.background.models import Job, OutgoingEmail, PeriodicRun


class ReadOnly(admin.ModelAdmin):
    # Written by the tasks and the commands only.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnly):
    list_display = ["created_at", "subject", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject", "to"]


@admin.register(PeriodicRun)
class PeriodicRunAdmin(ReadOnly):
    list_display = ["job", "host", "started_at", "finished_at", "status"]
    list_filter = ["job", "status"]


@admin.register(Job)
class JobAdmin(ReadOnly):
    list_display = ["created_at", "kind", "status", "done", "total", "error_code", "progress_at"]
    list_filter = ["kind", "status"]
    # The rows and parameters (ids, a refusal's reason) stay out of the list.
    exclude = ["items", "params"]
