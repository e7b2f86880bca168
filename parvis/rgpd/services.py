"""Writes of the RGPD app: a citizen's data export (asked in the request, built by a task), the
retention run of a commune (dry run or real), and its administrator turning the deletions on."""

from __future__ import annotations

import logging
import tempfile
import zipfile
from datetime import datetime, timedelta

from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.communes import tenancy
from parvis.communes.models import Commune
from parvis.mail import absolute_url, queue_email
from parvis.rgpd import retention, selectors
from parvis.rgpd.models import (
    EXPORT_TRANSITIONS,
    DataExport,
    ExportStatus,
    ExportStatusChange,
    InactivityWarning,
    RetentionKind,
    RetentionPolicy,
    RetentionRun,
)
from parvis.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

# How long a ready export may be downloaded; then its file is deleted.
EXPORT_DAYS = 7
# An export still « en préparation » after this long lost its worker: asking again starts anew.
STALE_AFTER = timedelta(hours=1)


class NotAllowed(Exception):
    pass


def _move(export: DataExport, to: str, **fields) -> None:
    if to not in EXPORT_TRANSITIONS[export.status]:
        raise NotAllowed(f"{export.status} → {to}")
    ExportStatusChange.objects.create(export=export, from_status=export.status, to_status=to)
    export.status = to
    for name, value in fields.items():
        setattr(export, name, value)
    export.save(update_fields=["status", *fields])


# --- « Télécharger mes données » ------------------------------------------------------------------


@transaction.atomic
def request_export(*, user: User, commune: Commune) -> DataExport:
    """Asks for the account's export: one task builds it. An export still being built is
    returned instead of a second one (two clicks make one)."""
    if user.commune_id != commune.pk:
        raise NotAllowed("not an account of this commune")
    # The account's row locked: two requests at once make one export.
    User.objects.select_for_update().filter(pk=user.pk).first()
    pending = DataExport.objects.filter(
        commune=commune, user=user, status=ExportStatus.EN_PREPARATION
    ).first()
    if pending is not None and pending.requested_at > timezone.now() - STALE_AFTER:
        return pending
    if pending is not None:  # its worker died: failed, and a new one
        _move(pending, ExportStatus.ECHOUEE, error="interrompue")
    export = DataExport.objects.create(commune=commune, user=user)
    ExportStatusChange.objects.create(export=export, to_status=ExportStatus.EN_PREPARATION)
    audit(actor=user, action="rgpd.export", commune=commune, target=user)
    enqueue_on_commit(build_export_task, export_id=export.pk, commune_id=export.commune_id)
    return export


@task(priority=5)
@tenancy.commune_task
def build_export_task(*, export_id: int) -> str:
    """Builds an export off the request (its households' rows, stored files and invoices' PDFs
    take seconds). Lives here, next to its work, like billing's run task."""
    return build_export(export_id=export_id)


def _write_zip(entries, handle) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        names = []
        for entry in entries:
            if entry.stored is not None:
                try:
                    with entry.stored.open("rb") as source, archive.open(entry.path, "w") as out:
                        for chunk in iter(lambda: source.read(1024 * 1024), b""):
                            out.write(chunk)
                except FileNotFoundError:
                    logger.warning("export: missing file %s", entry.stored.name)
                    continue
            else:
                archive.writestr(entry.path, entry.data)
            names.append(entry.path)
        archive.writestr("LISEZMOI.txt", _readme(names))


def _readme(names: list[str]) -> str:
    lines = [
        _("Vos données personnelles, telles que les tient le portail de votre commune."),
        _(
            "Les fichiers .csv s'ouvrent dans un tableur (séparateur « ; », encodage UTF-8) ; "
            "les fichiers .json dans un éditeur de texte ou un autre logiciel."
        ),
        "",
        *names,
    ]
    return "\n".join(lines) + "\n"


def build_export(*, export_id: int) -> str:
    """The task's work: writes the ZIP into private storage, marks the export ready and
    e-mails its account. Returns the new status."""
    export = DataExport.objects.select_related("user", "commune").filter(pk=export_id).first()
    if export is None or export.status != ExportStatus.EN_PREPARATION:
        return export.status if export else ""
    user, commune = export.user, export.commune
    try:
        with tempfile.TemporaryFile() as handle:
            _write_zip(selectors.export_entries(user=user, commune=commune), handle)
            size = handle.tell()
            handle.seek(0)
            name = f"{commune.slug}-{user.pk}-{timezone.now():%Y%m%d%H%M%S}.zip"
            export.file.save(name, File(handle), save=False)
    except Exception as error:
        logger.exception("export %s failed", export.pk)
        with transaction.atomic():
            _move(export, ExportStatus.ECHOUEE, error=f"{type(error).__name__}: {error}"[:300])
        return export.status
    now = timezone.now()
    with transaction.atomic():
        _move(
            export,
            ExportStatus.PRETE,
            file=export.file.name,
            size=size,
            ready_at=now,
            expires_at=now + timedelta(days=EXPORT_DAYS),
        )
        page = reverse("accounts:telecharger_donnees", kwargs={"commune": commune.slug})
        queue_email(
            to=user.email,
            commune_id=commune.pk,
            subject=_("Vos données sont prêtes à télécharger"),
            body=_(
                "Bonjour,\n\nL'archive de vos données personnelles que vous avez demandée est "
                "prête. Connectez-vous à votre espace pour la télécharger : %(url)s\n\n"
                "Elle y reste jusqu'au %(until)s, puis elle est effacée.\n\n%(commune)s\n"
            )
            % {
                "url": absolute_url(page),
                "until": timezone.localtime(export.expires_at).strftime("%d/%m/%Y à %H:%M"),
                "commune": commune.name,
            },
        )
    return export.status


def expire_exports(*, now: datetime) -> int:
    """Ready exports past their time: their file is deleted, they read « expirée »."""
    count = 0
    for export in DataExport.objects.filter(status=ExportStatus.PRETE, expires_at__lte=now):
        name = export.file.name
        with transaction.atomic():
            _move(export, ExportStatus.EXPIREE, file="")
            storage = DataExport._meta.get_field("file").storage
            transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
        count += 1
    return count


# --- Retention ------------------------------------------------------------------------------------


def is_enabled(commune: Commune) -> bool:
    return RetentionPolicy.objects.filter(commune=commune, enabled_at__isnull=False).exists()


def report(*, commune: Commune, now: datetime) -> dict:
    """What a run would do now: per kind, its duration and the rows due; the accounts to
    warn. Changes nothing."""
    days = retention.durations(commune)
    counts = {
        kind: retention.due(kind, commune, now, days[kind]).count() for kind in retention.KINDS
    }
    warn = retention.accounts_to_warn(commune, now, days[RetentionKind.COMPTES_INACTIFS]).count()
    return {"days": days, "counts": counts, "warn": warn}


def _warn_accounts(commune: Commune, now: datetime, days: int) -> int:
    users = list(retention.accounts_to_warn(commune, now, days))
    InactivityWarning.objects.bulk_create(
        [InactivityWarning(commune=commune, user=user, sent_at=now) for user in users]
    )
    until = timezone.localtime(now + timedelta(days=retention.NOTICE_DAYS)).strftime("%d/%m/%Y")
    for user in users:
        queue_email(
            to=user.email,
            commune_id=commune.pk,
            subject=_("Votre espace sera supprimé faute de connexion"),
            body=_(
                "Bonjour,\n\nVous ne vous êtes pas connecté à votre espace depuis longtemps. "
                "Sans nouvelle connexion de votre part, il sera supprimé le %(until)s. Le "
                "dossier de votre famille reste tenu par les services de la commune.\n\n"
                "%(commune)s\n"
            )
            % {"until": until, "commune": commune.name},
        )
    return len(users)


@transaction.atomic
def run_retention(*, commune: Commune, now: datetime, dry_run: bool) -> RetentionRun:
    """One pass of the commune's rules. A dry run counts what would go and records its report;
    the real one deletes, warns the inactive accounts, and writes one audit row with the
    counts."""
    if dry_run:
        found = report(commune=commune, now=now)
        return RetentionRun.objects.create(
            commune=commune, dry_run=True, counts=found["counts"], warned=found["warn"]
        )
    days = retention.durations(commune)
    retention.stale_warnings(commune).delete()
    counts = {}
    for kind in retention.KINDS:
        counts[kind] = retention.remove(kind, retention.due(kind, commune, now, days[kind]))
    warned = _warn_accounts(commune, now, days[RetentionKind.COMPTES_INACTIFS])
    run = RetentionRun.objects.create(commune=commune, dry_run=False, counts=counts, warned=warned)
    if any(counts.values()) or warned:
        audit(
            actor=None,
            action="rgpd.retention",
            commune=commune,
            target=run,
            changes={"counts": [None, summary(counts)], "warned": [None, warned]},
        )
    return run


def summary(counts: dict) -> str:
    """« Justificatifs dont la validité a pris fin : 3 ; … », the kinds with deletions."""
    return (
        " ; ".join(
            f"{RetentionKind(kind).label} : {count}" for kind, count in counts.items() if count
        )
        or "0"
    )


@transaction.atomic
def enable_retention(*, commune: Commune, actor: User) -> RetentionPolicy:
    """The administrator, having read the dry run's report, turns the deletions on."""
    policy, _created = RetentionPolicy.objects.select_for_update().get_or_create(commune=commune)
    if policy.enabled_at is None:
        policy.enabled_at = timezone.now()
        policy.enabled_by = actor
        policy.save(update_fields=["enabled_at", "enabled_by"])
        audit(
            actor=actor,
            action="rgpd.retention_enabled",
            commune=commune,
            target=policy,
            changes={"enabled_at": [None, policy.enabled_at]},
        )
    return policy


def daily(*, communes, now: datetime) -> list[str]:
    """The periodic job: each commune's run (a dry run until its administrator turns the
    deletions on), then its expired exports, commune by commune in its scope (issue 18 §2).
    Returns one line per commune, then the exports'."""

    def one(commune: Commune) -> tuple[str, int]:
        run = run_retention(commune=commune, now=now, dry_run=not is_enabled(commune))
        total = sum(run.counts.values())
        line = (
            f"{commune.slug} : {'simulation, ' if run.dry_run else ''}"
            f"{total} suppression(s), {run.warned} compte(s) averti(s)."
        )
        return line, expire_exports(now=now)

    done = [result for _commune, result in tenancy.for_each_commune(one, communes)]
    lines = [line for line, _expired in done]
    lines.append(f"{sum(expired for _line, expired in done)} export(s) expiré(s).")
    return lines
