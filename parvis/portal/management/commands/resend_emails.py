"""Queue again the e-mails whose task is gone: a worker killed mid-batch (an upgrade's restart, a
machine lost) leaves its e-mails « queued » with no task to send them, and django-tasks-db never
runs a dead task again. Every 5 minutes, the e-mails due for more than RESEND_AFTER (never
attempted, or past their retry time) go in one batch task; an e-mail that has been sent meanwhile
is skipped by the task (its row is locked and read again), so none leaves twice.

It lives with the portal's operations commands: parvis.background sits below parvis.mail in the
app chain, and this job queues mail's task."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from parvis import mail
from parvis.background.models import OutgoingEmail
from parvis.background.periodic import PeriodicCommand

# Longer than a task normally waits for a worker, shorter than a family waits for a reset link.
RESEND_AFTER = timedelta(minutes=10)


class Command(PeriodicCommand):
    help = "Remet en file les e-mails en attente dont la tâche d'envoi a disparu."

    def run(self, *args, **options) -> str:
        late = timezone.now() - RESEND_AFTER
        ids = list(
            OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED)
            .filter(
                Q(next_attempt_at__lte=late) | Q(next_attempt_at__isnull=True, created_at__lte=late)
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if ids:
            mail.send_emails.enqueue(email_ids=ids)
        return f"{len(ids)} e-mail(s) remis en file."
