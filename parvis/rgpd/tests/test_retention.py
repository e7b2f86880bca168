"""The retention run: each kind goes exactly when its duration has passed (the day before it
stays, the day after it goes), nothing else goes (another commune, invoices and payments, the
household's file), a dry run changes nothing, and each real run leaves one audit row with its
counts."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from parvis.accounts.models import Attempt, AuditEntry, User
from parvis.activities.rules import PARIS
from parvis.background.models import OutgoingEmail, PeriodicRun
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.models import Demande, DemandeAttachment, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.models import Document, DocumentType, Famille, FamilyAccess
from parvis.families.tests.factories import (
    AgentFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)
from parvis.rgpd import retention, services
from parvis.rgpd.models import (
    InactivityWarning,
    RetentionKind,
    RetentionPolicy,
    RetentionRule,
    RetentionRun,
)

NOW = datetime(2026, 12, 6, 4, 10, tzinfo=PARIS)
TODAY = NOW.date()
DAY = timedelta(days=1)


@pytest.fixture
def commune(db, private_root):
    return CommuneFactory(slug="villebois", name="Villebois")


@pytest.fixture
def other(db):
    return CommuneFactory(slug="ailleurs", name="Ailleurs")


def days(kind) -> timedelta:
    return timedelta(days=retention.KINDS[kind].default_days)


def document(famille, valid_until) -> Document:
    doc = Document(
        commune=famille.commune,
        famille=famille,
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        label=f"Facture EDF {valid_until}",
        original_name="edf.pdf",
        content_type="application/pdf",
        size=8,
        valid_until=valid_until,
    )
    doc.file.save("edf.pdf", ContentFile(b"%PDF-1.4"), save=False)
    doc.save()
    return doc


def stored(field_file) -> bool:
    return Path(field_file.path).exists()


def run(commune, now=NOW, dry_run=False, capture=None):
    if capture is None:
        return services.run_retention(commune=commune, now=now, dry_run=dry_run)
    with capture(execute=True):
        return services.run_retention(commune=commune, now=now, dry_run=dry_run)


# --- Each kind at its edge --------------------------------------------------------------------


def test_documents_go_the_day_after_their_duration_past_validity(
    commune, other, django_capture_on_commit_callbacks
):
    famille = FamilleFactory(commune=commune)
    limit = TODAY - days(RetentionKind.DOCUMENTS_EXPIRES)
    gone = document(famille, limit - DAY)
    kept = document(famille, limit)
    still_valid = document(famille, TODAY + 300 * DAY)
    elsewhere = document(FamilleFactory(commune=other), limit - 400 * DAY)

    result = run(commune, capture=django_capture_on_commit_callbacks)

    assert result.counts[RetentionKind.DOCUMENTS_EXPIRES] == 1
    assert set(Document.objects.values_list("pk", flat=True)) == {
        kept.pk,
        still_valid.pk,
        elsewhere.pk,
    }
    assert not stored(gone.file)  # its file too, once committed
    assert stored(kept.file) and stored(elsewhere.file)


def attachment(demande) -> DemandeAttachment:
    piece = DemandeAttachment(
        demande=demande, original_name="id.pdf", content_type="application/pdf", size=8
    )
    piece.file.save("id.pdf", ContentFile(b"%PDF-1.4"), save=False)
    piece.save()
    return piece


def test_attachments_of_closed_requests_go_after_their_duration(
    commune, django_capture_on_commit_callbacks
):
    procedure = ProcedureFactory(commune=commune)
    limit = NOW - days(RetentionKind.PIECES_DEMANDES)
    old = Demande.objects.create(
        commune=commune,
        procedure=procedure,
        number="D1",
        status=Status.ACCEPTEE,
        closed_at=limit - DAY,
    )
    recent = Demande.objects.create(
        commune=commune,
        procedure=procedure,
        number="D2",
        status=Status.REFUSEE,
        closed_at=limit + DAY,
    )
    open_one = Demande.objects.create(
        commune=commune,
        procedure=procedure,
        number="D3",
        status=Status.EN_COURS,
    )
    Demande.objects.filter(pk=open_one.pk).update(created_at=limit - 100 * DAY)
    gone, kept, kept_open = attachment(old), attachment(recent), attachment(open_one)

    result = run(commune, capture=django_capture_on_commit_callbacks)

    assert result.counts[RetentionKind.PIECES_DEMANDES] == 1
    assert set(DemandeAttachment.objects.values_list("pk", flat=True)) == {kept.pk, kept_open.pk}
    assert not stored(gone.file) and stored(kept.file)
    # The request and its history stay.
    assert Demande.objects.filter(pk=old.pk).exists()


def test_account_drafts_go_after_their_duration(commune):
    procedure = ProcedureFactory(commune=commune)
    citizen = CitizenFactory(commune=commune)
    limit = NOW - days(RetentionKind.BROUILLONS)
    drafts = {}
    for name, updated in (("gone", limit - DAY), ("kept", limit + DAY)):
        draft = Demande.objects.create(
            commune=commune, procedure=procedure, number=name, requester=citizen
        )
        Demande.objects.filter(pk=draft.pk).update(updated_at=updated)
        drafts[name] = draft
    filed = Demande.objects.create(
        commune=commune,
        procedure=procedure,
        number="filed",
        requester=citizen,
        status=Status.EN_ATTENTE,
    )
    Demande.objects.filter(pk=filed.pk).update(updated_at=limit - 50 * DAY)

    assert run(commune).counts[RetentionKind.BROUILLONS] == 1
    assert set(Demande.objects.values_list("number", flat=True)) == {"kept", "filed"}


def test_login_attempts_go_after_their_duration(commune, other):
    limit = NOW - days(RetentionKind.TENTATIVES)
    for at, where in ((limit - DAY, commune), (limit + DAY, commune), (limit - DAY, other)):
        Attempt.objects.create(commune=where, kind=Attempt.Kind.LOGIN, identifier="a", at=at)

    assert run(commune).counts[RetentionKind.TENTATIVES] == 1
    assert sorted(Attempt.objects.values_list("commune__slug", "at")) == sorted(
        [("villebois", limit + DAY), ("ailleurs", limit - DAY)]
    )


def test_the_journal_goes_after_its_duration_but_not_its_accounting_entries(commune):
    limit = NOW - days(RetentionKind.JOURNAL)
    rows = {
        "famille.update": limit - DAY,
        "document.create": limit + DAY,
        "paiement.enregistre": limit - 900 * DAY,
        "facture.emise": limit - 900 * DAY,
        "trop_percu.rembourse": limit - 900 * DAY,
    }
    for action, at in rows.items():
        entry = AuditEntry.objects.create(commune=commune, action=action)
        AuditEntry.objects.filter(pk=entry.pk).update(at=at)

    assert run(commune).counts[RetentionKind.JOURNAL] == 1
    left = set(AuditEntry.objects.exclude(action="rgpd.retention").values_list("action", flat=True))
    assert left == set(rows) - {"famille.update"}


def test_inactive_accounts_are_warned_then_deleted_after_the_notice(commune):
    limit = NOW - days(RetentionKind.COMPTES_INACTIFS)
    famille = FamilleFactory(commune=commune)
    sleeping = CitizenFactory(commune=commune, last_login=limit - DAY)
    FamilyAccessFactory(famille=famille, user=sleeping)
    awake = CitizenFactory(commune=commune, last_login=limit + DAY)
    never = CitizenFactory(commune=commune, last_login=None)
    User.objects.filter(pk=never.pk).update(date_joined=limit - DAY)
    agent = AgentFactory(commune=commune, last_login=limit - 300 * DAY)

    first = run(commune)
    assert first.warned == 2 and first.counts[RetentionKind.COMPTES_INACTIFS] == 0
    assert set(InactivityWarning.objects.values_list("user_id", flat=True)) == {
        sleeping.pk,
        never.pk,
    }
    assert OutgoingEmail.objects.filter(to__icontains=sleeping.email).exists()

    # The day the notice ends: still there; the next day: gone, the household's file stays.
    notice = timedelta(days=retention.NOTICE_DAYS)
    assert run(commune, now=NOW + notice).counts[RetentionKind.COMPTES_INACTIFS] == 0
    # Meanwhile one logs in: their warning is forgotten, they stay.
    User.objects.filter(pk=never.pk).update(last_login=NOW + DAY)
    later = run(commune, now=NOW + notice + DAY)
    assert later.counts[RetentionKind.COMPTES_INACTIFS] == 1
    assert set(User.objects.values_list("pk", flat=True)) >= {awake.pk, never.pk, agent.pk}
    assert not User.objects.filter(pk=sleeping.pk).exists()
    assert Famille.objects.filter(pk=famille.pk).exists()
    assert not FamilyAccess.objects.filter(famille=famille).exists()
    assert not InactivityWarning.objects.filter(user_id=never.pk).exists()


def test_a_communes_own_duration_replaces_the_default(commune):
    RetentionRule.objects.create(commune=commune, kind=RetentionKind.TENTATIVES, days=7)
    Attempt.objects.create(commune=commune, kind="login", at=NOW - 8 * DAY)
    Attempt.objects.create(commune=commune, kind="login", at=NOW - 6 * DAY)
    assert run(commune).counts[RetentionKind.TENTATIVES] == 1
    assert retention.durations(commune)[RetentionKind.TENTATIVES] == 7
    assert retention.durations(commune)[RetentionKind.JOURNAL] == 365


# --- Dry run, audit, the daily job ------------------------------------------------------------


def populate(commune):
    famille = FamilleFactory(commune=commune)
    document(famille, TODAY - 500 * DAY)
    Attempt.objects.create(commune=commune, kind="login", at=NOW - 400 * DAY)
    CitizenFactory(commune=commune, last_login=NOW - 1000 * DAY)


def snapshot():
    return (
        Document.objects.count(),
        Attempt.objects.count(),
        User.objects.count(),
        InactivityWarning.objects.count(),
        OutgoingEmail.objects.count(),
        AuditEntry.objects.count(),
    )


def test_a_dry_run_changes_nothing_and_reports_what_would_go(commune):
    populate(commune)
    before = snapshot()
    report = run(commune, dry_run=True)
    assert snapshot() == before
    assert report.dry_run
    assert report.counts[RetentionKind.DOCUMENTS_EXPIRES] == 1
    assert report.counts[RetentionKind.TENTATIVES] == 1
    assert report.warned == 1
    # What the real run then does is what the report said.
    real = run(commune)
    assert real.counts == report.counts and real.warned == report.warned


def test_a_real_run_leaves_one_audit_row_with_its_counts(commune):
    populate(commune)
    result = run(commune)
    [entry] = AuditEntry.objects.filter(action="rgpd.retention")
    assert entry.commune == commune and entry.actor is None
    assert entry.target_id == str(result.pk)
    assert "Justificatifs dont la validité a pris fin : 1" in entry.changes["counts"][1]
    assert entry.changes["warned"] == [None, 1]
    # A run with nothing to do writes none.
    run(commune, now=NOW + DAY)
    assert AuditEntry.objects.filter(action="rgpd.retention").count() == 1


def test_the_daily_job_only_reports_until_the_administrator_turns_it_on(commune, other):
    populate(commune)
    populate(other)
    before = snapshot()
    call_command("apply_retention")
    assert snapshot()[:4] == before[:4]
    assert set(RetentionRun.objects.values_list("commune__slug", "dry_run")) == {
        ("villebois", True),
        ("ailleurs", True),
    }
    assert PeriodicRun.objects.get(job="apply_retention").status == PeriodicRun.Status.SUCCEEDED

    admin = AgentFactory(commune=commune, roles=["administrateur"])
    services.enable_retention(commune=commune, actor=admin)
    assert AuditEntry.objects.filter(action="rgpd.retention_enabled", actor=admin).exists()
    services.daily(communes=[commune, other], now=timezone.now())
    assert Document.objects.filter(commune=commune).count() == 0
    assert Document.objects.filter(commune=other).count() == 1  # still a dry run there
    assert RetentionPolicy.objects.get(commune=commune).enabled_by == admin
