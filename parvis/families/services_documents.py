"""Writes on the families' documents (« porte-documents »): a family stores, renames and deletes
its files; an agent validates or refuses them (the refusal's reason is e-mailed). Every write is
one transaction with an audit row; files are written under a random name and removed only once
the transaction has committed."""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.communes.models import Service
from parvis.families.documents import needs_document_date, needs_income_year, valid_until
from parvis.families.models import (
    DOCUMENT_TRANSITIONS,
    Document,
    DocumentEvent,
    DocumentStatus,
    DocumentType,
    Famille,
    Personne,
)
from parvis.families.selectors import first_responsable_email
from parvis.mail import absolute_url, queue_email
from parvis.uploads import check_upload

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class NotAllowed(Exception):
    """A transition outside DOCUMENT_TRANSITIONS."""


def family_quota() -> int:
    return settings.FAMILY_DOCUMENTS_QUOTA


def used_space(famille: Famille) -> int:
    return famille.documents.aggregate(total=Sum("size"))["total"] or 0


def check_dates(*, doc_type: str, document_date: date | None, income_year: int | None, today=None):
    """The dates a type's validity needs, given and plausible; ValidationError naming the field
    (as {field: message}) otherwise."""
    today = today or timezone.localdate()
    errors = {}
    if needs_document_date(doc_type):
        if document_date is None:
            errors["document_date"] = _(
                "Indiquez la date du document : elle fixe jusqu'à quand il est valable."
            )
        elif document_date > today:
            errors["document_date"] = _("La date du document ne peut pas être dans le futur.")
    if needs_income_year(doc_type):
        if income_year is None:
            errors["income_year"] = _(
                "Indiquez l'année des revenus (par exemple « revenus 2025 » sur l'avis 2026)."
            )
        elif not (today.year - 10 <= income_year <= today.year - 1):
            errors["income_year"] = _(
                "L'année des revenus doit être comprise entre %(first)s et %(last)s."
            ) % {"first": today.year - 10, "last": today.year - 1}
    if errors:
        raise ValidationError(errors)


def _default_label(doc_type: str, personne: Personne | None) -> str:
    kind = DocumentType(doc_type).label
    return f"{kind} — {personne}" if personne else str(kind)


@transaction.atomic
def store_document(
    *,
    famille: Famille,
    actor: User,
    upload,
    doc_type: str,
    personne: Personne | None = None,
    label: str = "",
    document_date: date | None = None,
    income_year: int | None = None,
    service: Service | None = None,
) -> Document:
    """A new document in the family's store, « déposé ». Refused (ValidationError, nothing
    stored) when its content is not a PDF/JPEG/PNG, it is empty or too big, a needed date is
    missing, or the family's quota would be exceeded."""
    if personne is not None and personne.famille_id != famille.pk:
        raise ValidationError({"personne": _("Cette personne n'est pas de votre foyer.")})
    check_dates(doc_type=doc_type, document_date=document_date, income_year=income_year)
    content_type = check_upload(upload)
    # The family row lock serialises two uploads of the same family against its quota.
    Famille.objects.select_for_update().filter(pk=famille.pk).first()
    quota = family_quota()
    used = used_space(famille)
    if used + upload.size > quota:
        raise ValidationError(
            _(
                "Votre espace de stockage est plein : %(used)s utilisés sur %(quota)s. "
                "Supprimez des documents dont vous n'avez plus besoin, puis réessayez."
            )
            % {"used": filesizeformat(used), "quota": filesizeformat(quota)},
            code="quota",
        )
    document = Document(
        commune=famille.commune,
        famille=famille,
        personne=personne,
        doc_type=doc_type,
        label=(label or "").strip()[:120] or _default_label(doc_type, personne)[:120],
        service=service,
        original_name=(upload.name or "")[:200],
        content_type=content_type,
        size=upload.size,
        document_date=document_date if needs_document_date(doc_type) else None,
        income_year=income_year if needs_income_year(doc_type) else None,
        valid_until=valid_until(doc_type, document_date=document_date, income_year=income_year),
        uploaded_by=actor,
    )
    # The stored name is ours (a random token), never the sender's file name.
    document.file.save(
        f"{secrets.token_hex(16)}.{EXTENSIONS[content_type]}", File(upload), save=False
    )
    try:
        document.save()
        audit(
            actor=actor,
            action="document.create",
            commune=famille.commune,
            target=document,
            famille_id=famille.pk,
            changes={
                "doc_type": [None, doc_type],
                "label": [None, document.label],
                "personne": [None, str(personne) if personne else None],
                "size": [None, document.size],
            },
        )
    except BaseException:
        _storage().delete(document.file.name)  # no orphan file when the rows fail
        raise
    return document


def _storage():
    return Document._meta.get_field("file").storage


@transaction.atomic
def rename_document(*, document: Document, actor: User, label: str) -> Document:
    label = (label or "").strip()[:120]
    if not label or label == document.label:
        return document
    old = document.label
    document.label = label
    document.save(update_fields=["label"])
    audit(
        actor=actor,
        action="document.rename",
        commune=document.commune,
        target=document,
        famille_id=document.famille_id,
        changes={"label": [old, label]},
    )
    return document


@transaction.atomic
def delete_document(*, document: Document, actor: User) -> None:
    """The row now, the file once the transaction has committed (a rollback keeps both)."""
    name = document.file.name
    audit(
        actor=actor,
        action="document.delete",
        commune=document.commune,
        target=document,
        famille_id=document.famille_id,
        changes={"label": [document.label, None], "status": [document.status, None]},
    )
    document.delete()
    transaction.on_commit(lambda: _storage().delete(name))


@transaction.atomic
def review_document(*, document: Document, actor: User, to: str, reason: str = "") -> Document:
    """An agent's decision: « validé », or « refusé » with a reason e-mailed to the family."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if to not in DOCUMENT_TRANSITIONS.get(document.status, set()):
        raise NotAllowed(f"{document.status} → {to}")
    reason = (reason or "").strip()
    if to == DocumentStatus.REFUSE and not reason:
        raise ValidationError(
            {"reason": _("Indiquez le motif du refus : il est envoyé à la famille.")}
        )
    from_status = document.status
    document.status = to
    document.refusal_reason = reason if to == DocumentStatus.REFUSE else ""
    document.reviewed_by = actor
    document.reviewed_at = timezone.now()
    document.save(update_fields=["status", "refusal_reason", "reviewed_by", "reviewed_at"])
    DocumentEvent.objects.create(
        document=document, from_status=from_status, to_status=to, actor=actor, comment=reason
    )
    audit(
        actor=actor,
        action="document.review",
        commune=document.commune,
        target=document,
        famille_id=document.famille_id,
        changes={"status": [from_status, to], **({"reason": [None, reason]} if reason else {})},
    )
    if to == DocumentStatus.REFUSE:
        transaction.on_commit(lambda: send_refusal(document=document))
    return document


@transaction.atomic
def validate_documents(*, documents, actor: User) -> list[Document]:
    """Bulk validation: every one that may be validated is; the others are left as they are."""
    done = []
    for document in documents:
        if DocumentStatus.VALIDE in DOCUMENT_TRANSITIONS.get(document.status, set()):
            done.append(review_document(document=document, actor=actor, to=DocumentStatus.VALIDE))
    return done


def _documents_url(commune) -> str:
    try:
        return absolute_url(reverse("families:porte_documents", kwargs={"commune": commune.slug}))
    except NoReverseMatch:
        return absolute_url(f"/{commune.slug}/")


def send_refusal(*, document: Document) -> None:
    famille = document.famille
    # The family's own account that sent it, else the household's first responsable (never the
    # agent who may have scanned it at the counter).
    uploader = document.uploaded_by
    to = (uploader.email if uploader and not uploader.is_staff else "") or first_responsable_email(
        famille
    )
    if not to:
        return
    commune = document.commune
    queue_email(
        subject=_("%(commune)s — document refusé : %(label)s")
        % {"commune": commune.name, "label": document.label},
        body=render_to_string(
            "families/emails/document_refused.txt",
            {"commune": commune, "document": document, "url": _documents_url(commune)},
        ),
        commune_id=commune.pk,
        to=[to],
    )
