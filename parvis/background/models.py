from django.db import models
from django.utils.translation import gettext_lazy as _


class OutgoingEmail(models.Model):
    """One e-mail Parvis sends: written in the transaction of what it tells, sent by a task once
    that has committed (parvis.mail.send_email), retried with back-off on a relay error."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("en attente")
        SENT = "sent", _("envoyé")
        FAILED = "failed", _("échec")

    # A bare id, not a foreign key: this app sits below parvis.communes (any app may queue mail).
    commune_id = models.PositiveBigIntegerField(_("commune"), null=True, blank=True, db_index=True)
    to = models.JSONField(_("destinataires"), default=list)
    reply_to = models.JSONField(_("répondre à"), default=list, blank=True)
    from_email = models.CharField(_("expéditeur"), max_length=254, blank=True)
    subject = models.CharField(_("objet"), max_length=998)
    # Emptied once sent: a body may hold a reset link or a family's details.
    body = models.TextField(_("texte"), blank=True)
    html = models.TextField(_("HTML"), blank=True)
    # Names in STORAGES["private"], attached when the e-mail leaves.
    attachments = models.JSONField(_("pièces jointes"), default=list, blank=True)
    status = models.CharField(
        _("état"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail sortant")
        verbose_name_plural = _("e-mails sortants")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)}"


class PeriodicRun(models.Model):
    """One run of a periodic job (parvis.background.periodic) on one host."""

    class Status(models.TextChoices):
        RUNNING = "running", _("en cours")
        SUCCEEDED = "succeeded", _("réussi")
        FAILED = "failed", _("échec")
        # Found still « running » by the next run that got the job's lock: its process died.
        INTERRUPTED = "interrupted", _("interrompu")

    job = models.CharField(_("tâche"), max_length=64)
    host = models.CharField(_("machine"), max_length=255)
    pid = models.PositiveIntegerField(_("processus"), null=True, blank=True)
    started_at = models.DateTimeField(_("début"))
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    status = models.CharField(
        _("état"), max_length=11, choices=Status.choices, default=Status.RUNNING
    )
    summary = models.TextField(_("résumé"), blank=True)

    class Meta:
        verbose_name = _("exécution périodique")
        verbose_name_plural = _("exécutions périodiques")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["job", "-started_at"])]

    def __str__(self):
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class Job(models.Model):
    """A long piece of agents' work done by a worker rather than in their request (a bulk
    decision, reminders): its items (ids) are worked through batch by batch, each batch in one
    transaction with the job's progress (parvis.background.jobs), so that a worker killed midway
    loses at most its batch and « Reprendre » carries on from there. The domain app that queued
    it registers what a batch does (`jobs.register`)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("en attente")
        RUNNING = "running", _("en cours")
        DONE = "done", _("terminé")
        FAILED = "failed", _("interrompu")

    # Bare ids, not foreign keys: this app sits below parvis.communes and parvis.accounts.
    commune_id = models.PositiveBigIntegerField(_("commune"), db_index=True)
    actor_id = models.PositiveBigIntegerField(_("lancé par"), null=True, blank=True)
    kind = models.CharField(_("type"), max_length=64)
    # What to work on (ids, in order) and how (the decision, its reason…): the handler's input.
    items = models.JSONField(_("éléments"), default=list)
    params = models.JSONField(_("paramètres"), default=dict, blank=True)
    total = models.PositiveIntegerField(_("à traiter"), default=0)
    done = models.PositiveIntegerField(_("traités"), default=0)
    # Counters (and ids) the handler's batches returned, added up: its summary reads them.
    result = models.JSONField(_("résultat"), default=dict, blank=True)
    status = models.CharField(
        _("état"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    # Why it stopped, as a code and its values (jobs.ERRORS): shown in the reader's language.
    error_code = models.CharField(_("erreur"), max_length=64, blank=True)
    error_params = models.JSONField(_("détails de l'erreur"), default=dict, blank=True)
    # The page the agent came from (its « Retour » link).
    return_url = models.CharField(_("page d'origine"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("lancé le"), auto_now_add=True)
    progress_at = models.DateTimeField(_("dernière avancée"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("travail en arrière-plan")
        verbose_name_plural = _("travaux en arrière-plan")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "progress_at"])]

    def __str__(self):
        return _("Traitement n° %(pk)s") % {"pk": self.pk}
