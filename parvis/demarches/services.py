"""Writes on requests: drafts, submission with a gap-free number, the status machine (one table,
one function), messages and complements, anonymous follow-up, and what an accepted request does."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from django.core.files.base import File
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import Attempt, User
from parvis.accounts.services import (
    _record_attempt,
    audit,
    locked_until,
    normalise_identifier,
    update_coordinates,
)
from parvis.demarches.builder import render_placeholders
from parvis.demarches.models import (
    CLOSED,
    TRANSITIONS,
    Audience,
    Demande,
    DemandeAttachment,
    DemandeCounter,
    DemandeEvent,
    DemandeMessage,
    Effect,
    Procedure,
    Status,
)
from parvis.families.models import Document, DocumentStatus, FamilyAccess
from parvis.families.services import update_famille, update_member
from parvis.families.services_documents import EXTENSIONS
from parvis.mail import absolute_url, queue_email
from parvis.uploads import check_upload

TRACKING_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
TRACKING_CODE_LENGTH = 10
ANONYMOUS_MAX_PER_HOUR = 10  # submissions per address
TRACKING_MAX_FAILURES = 5  # wrong number/code pairs per address within 15 minutes


class NotAllowed(Exception):
    """The person may not file this procedure, or the transition is not in the table."""


# What closing a request of a procedure does to a record of a later app (an activity's
# inscription follows its request): registered by that app from its AppConfig.ready(), since
# démarches never imports the apps built on it. Called inside the closing transaction with
# (demande=, to=, actor=, comment=), whichever queue the agent decided from.
_CLOSING_HOOKS: dict[str, list[Callable]] = {}


def register_closing_hook(slug: str, hook: Callable) -> None:
    hooks = _CLOSING_HOOKS.setdefault(slug, [])
    if hook not in hooks:  # ready() may run more than once (tests)
        hooks.append(hook)


def tracking_digest(code: str) -> str:
    return hashlib.sha256(normalise_identifier(code).upper().encode()).hexdigest()


def may_file(procedure: Procedure, user) -> bool:
    if not procedure.is_enabled:
        return False
    if procedure.effect == Effect.COORDINATES and not procedure.commune.changement_adresse_en_ligne:
        return False  # the commune takes these changes at its counter (see offered_procedures)
    if procedure.audience == Audience.ANYONE:
        return True
    if (
        user is None
        or not user.is_authenticated
        or user.is_staff
        or user.commune_id != procedure.commune_id
    ):
        return False
    if procedure.audience == Audience.FAMILY:
        return FamilyAccess.objects.filter(user=user).exists()
    return True


@transaction.atomic
def start_draft(*, procedure: Procedure, user=None, draft_key: str = "") -> Demande:
    if not may_file(procedure, user):
        raise NotAllowed(procedure.slug)
    account = user if user is not None and user.is_authenticated else None
    famille_id = None
    if account is not None:
        famille_id = (
            FamilyAccess.objects.filter(user=account).values_list("famille_id", flat=True).first()
        )
    return Demande.objects.create(
        commune=procedure.commune,
        procedure=procedure,
        version_id=procedure.current_version_id,
        requester=account,
        famille_id=famille_id,
        draft_key="" if account else draft_key,
        contact_email=account.email if account else "",
        contact_name=account.get_full_name() if account else "",
    )


@transaction.atomic
def save_step(
    *,
    demande: Demande,
    step: int,
    answers: dict,
    files: dict | None = None,
    documents: dict | None = None,
    done: bool = True,
) -> Demande:
    """Keep a step's answers (and files) in the draft; the next step becomes current, unless
    `done` is false (the valid part of a step left unfinished, e.g. on « Retour »). `documents`
    ({file field: Document}) are documents of the family's store joined as copies."""
    if demande.status != Status.BROUILLON:
        raise NotAllowed("not a draft")
    demande.answers = {**demande.answers, **answers}
    if done:
        demande.current_step = max(demande.current_step, step + 1)
    demande.save(update_fields=["answers", "current_step", "updated_at"])
    for field_name, upload in (files or {}).items():
        _delete_attachments(demande.attachments.filter(field_name=field_name, message=None))
        attach_file(demande=demande, upload=upload, field_name=field_name)
    for field_name, document in (documents or {}).items():
        _delete_attachments(demande.attachments.filter(field_name=field_name, message=None))
        attach_document(demande=demande, document=document, field_name=field_name)
    return demande


def _delete_attachments(attachments) -> None:
    """Rows now, files once the transaction is committed (a rollback keeps both)."""
    names = [attachment.file.name for attachment in attachments]
    attachments.delete()
    storage = DemandeAttachment._meta.get_field("file").storage

    def delete_files():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files)


@transaction.atomic
def delete_draft(*, demande: Demande) -> None:
    """« Annuler la démarche »: the draft, its answers and its files are gone."""
    demande = Demande.objects.select_for_update().get(pk=demande.pk)
    if demande.status != Status.BROUILLON:
        raise NotAllowed("not a draft")
    _delete_attachments(demande.attachments.all())
    demande.delete()


def attach_file(
    *, demande: Demande, upload, field_name: str = "", message=None
) -> DemandeAttachment:
    content_type = check_upload(upload)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[content_type]
    attachment = DemandeAttachment(
        demande=demande,
        field_name=field_name,
        message=message,
        original_name=(upload.name or "fichier")[-200:],
        content_type=content_type,
        size=upload.size,
    )
    # The stored name is ours (a random token), never the sender's file name.
    attachment.file.save(f"{secrets.token_hex(16)}.{extension}", File(upload), save=False)
    attachment.save()
    return attachment


def attach_document(*, demande: Demande, document: Document, field_name: str) -> DemandeAttachment:
    """A COPY of a document of the family's store joined to the request, under a random name of
    its own: the request stays whole when the family later deletes or replaces the document.
    Only a document of a family the requester acts for, in the request's commune, neither
    refused nor expired (NotAllowed otherwise)."""
    if (
        demande.requester_id is None
        or document.commune_id != demande.commune_id
        or not FamilyAccess.objects.filter(
            user_id=demande.requester_id, famille_id=document.famille_id
        ).exists()
    ):
        raise NotAllowed("not a document of the requester's family")
    if document.state(timezone.localdate()) in (DocumentStatus.REFUSE, DocumentStatus.EXPIRE):
        raise NotAllowed("refused or expired document")
    extension = EXTENSIONS.get(document.content_type, "")
    name = document.label.strip()[:190]
    if extension and not name.casefold().endswith(f".{extension}"):
        name = f"{name}.{extension}"  # « Avis d'imposition 2025.pdf »
    attachment = DemandeAttachment(
        demande=demande,
        field_name=field_name,
        original_name=name,
        content_type=document.content_type,
        size=document.size,
    )
    with document.file.open("rb") as source:
        attachment.file.save(
            f"{secrets.token_hex(16)}.{extension or 'bin'}", File(source), save=False
        )
    try:
        attachment.save()
    except BaseException:
        attachment.file.storage.delete(attachment.file.name)  # no orphan file
        raise
    return attachment


def anonymous_rate_limited(*, commune, ip: str | None) -> bool:
    if not ip:
        return False
    since = timezone.now() - timezone.timedelta(hours=1)
    sent = Attempt.objects.filter(
        kind=Attempt.Kind.DEMANDE, ip=ip, succeeded=True, at__gte=since
    ).count()
    return sent >= ANONYMOUS_MAX_PER_HOUR


def _next_number(commune) -> str:
    year = timezone.localdate().year
    counter, _created = DemandeCounter.objects.get_or_create(commune=commune, year=year)
    counter = DemandeCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"DEM-{year}-{counter.last:06d}"


@transaction.atomic
def submit(
    *, demande: Demande, contact_name: str = "", contact_email: str = "", ip: str | None = None
) -> str | None:
    """« Valider »: the draft becomes a numbered request waiting for the service (or accepted at
    once when the procedure says so). Returns the tracking code of an anonymous request."""
    demande = Demande.objects.select_for_update().get(pk=demande.pk)
    if demande.status != Status.BROUILLON:
        raise NotAllowed("already submitted")
    code = None
    if demande.requester_id is None:
        code = "".join(secrets.choice(TRACKING_CODE_ALPHABET) for _ in range(TRACKING_CODE_LENGTH))
        demande.tracking_digest = tracking_digest(code)
        demande.contact_name = contact_name.strip()
        demande.contact_email = normalise_identifier(contact_email)
        _record_attempt(
            commune=demande.commune,
            kind=Attempt.Kind.DEMANDE,
            identifier=demande.contact_email,
            ip=ip,
            succeeded=True,
        )
    demande.number = _next_number(demande.commune)
    demande.submitted_at = timezone.now()
    demande.draft_key = ""
    demande.save()
    _change_status(
        demande=demande, to=Status.EN_ATTENTE, actor=demande.requester, comment="", notify=False
    )
    transaction.on_commit(lambda: _send(demande, "demarches/emails/submitted.txt", code=code))
    if demande.procedure.auto_accept:
        # One e-mail, the submission's, which is sent once committed and so already says
        # « Acceptée »: a second one for the acceptance read the same, in the same second.
        _change_status(
            demande=demande,
            to=Status.ACCEPTEE,
            actor=None,
            comment=_("Acceptée automatiquement."),
            notify=False,
        )
    return code


def _change_status(
    *,
    demande: Demande,
    to: str,
    actor,
    comment: str,
    notify: bool = True,
    actor_label: str = "",
) -> DemandeEvent:
    if to not in TRANSITIONS[demande.status]:
        raise NotAllowed(f"{demande.status} → {to}")
    if not actor_label:
        actor_label = (actor.get_full_name() or actor.get_username()) if actor else _("Parvis")
    event = DemandeEvent.objects.create(
        demande=demande,
        from_status=demande.status,
        to_status=to,
        actor=actor,
        actor_label=actor_label,
        comment=comment,
    )
    if actor is not None and actor.is_staff:
        audit(
            actor=actor,
            action="demande.transition",
            commune=demande.commune,
            target=demande,
            famille_id=demande.famille_id,
            changes={"status": [demande.status, to]},
        )
    demande.status = to
    fields = ["status", "updated_at"]
    if to in (Status.ACCEPTEE, Status.REFUSEE, Status.SANS_SUITE):
        demande.closed_at = timezone.now()
        fields.append("closed_at")
    demande.save(update_fields=fields)
    if to == Status.ACCEPTEE:
        apply_effect(demande=demande, actor=actor)
    if to in CLOSED:
        for hook in _CLOSING_HOOKS.get(demande.procedure.slug, ()):
            hook(demande=demande, to=to, actor=actor, comment=comment)
    if notify:
        transaction.on_commit(
            lambda: _send(demande, "demarches/emails/status_changed.txt", event=event)
        )
    return event


@transaction.atomic
def transition(*, demande: Demande, to: str, actor: User, comment: str = "") -> Demande:
    """An agent's decision; only what the TRANSITIONS table allows. A refusal says why."""
    demande = Demande.objects.select_for_update().get(pk=demande.pk)
    if to == Status.REFUSEE and not comment.strip():
        raise NotAllowed("a refusal needs a reason")
    _change_status(demande=demande, to=to, actor=actor, comment=comment.strip())
    return demande


@transaction.atomic
def take(*, demande: Demande, agent: User) -> Demande:
    """« Prendre en charge »: assigned to the agent, en cours d'instruction — only where the table
    allows « en cours » (from « en attente », or « complément demandé » when the agent resumes
    without waiting for the answer); a closed request is never reassigned."""
    demande = Demande.objects.select_for_update().get(pk=demande.pk)
    if Status.EN_COURS not in TRANSITIONS[demande.status]:
        raise NotAllowed(f"{demande.status} → {Status.EN_COURS}")
    demande.assigned_to = agent
    demande.save(update_fields=["assigned_to", "updated_at"])
    _change_status(demande=demande, to=Status.EN_COURS, actor=agent, comment="")
    return demande


@transaction.atomic
def ask_complement(*, demande: Demande, agent: User, message: str) -> Demande:
    demande = Demande.objects.select_for_update().get(pk=demande.pk)
    _change_status(demande=demande, to=Status.COMPLEMENT, actor=agent, comment=message.strip())
    if demande.assigned_to_id is None:
        # Asked straight from « en attente »: the agent who asks instructs the answer.
        demande.assigned_to = agent
        demande.save(update_fields=["assigned_to", "updated_at"])
    DemandeMessage.objects.create(
        demande=demande,
        from_requester=False,
        author=agent,
        author_label=agent.get_full_name() or agent.get_username(),
        body=message.strip(),
    )
    return demande


@transaction.atomic
def post_message(
    *, demande: Demande, body: str, author=None, from_requester: bool, files=()
) -> DemandeMessage:
    """A message on the request; the requester's answer to « complément demandé » puts the
    request back in instruction; a message of the service is e-mailed to the requester."""
    demande = Demande.objects.select_for_update().get(pk=demande.pk)
    if demande.status in (Status.BROUILLON, Status.ACCEPTEE, Status.REFUSEE, Status.SANS_SUITE):
        raise NotAllowed("closed")
    if from_requester:
        label = (author.get_full_name() if author else "") or demande.contact_name or _("Demandeur")
    else:  # never the requester's name on the service's message
        label = (author.get_full_name() or author.get_username()) if author else _("La mairie")
    message = DemandeMessage.objects.create(
        demande=demande,
        from_requester=from_requester,
        author=author,
        author_label=label,
        body=body.strip(),
    )
    for upload in files:
        attach_file(demande=demande, upload=upload, message=message)
    if from_requester and demande.status == Status.COMPLEMENT:
        # An anonymous requester's answer is theirs in the history, not « Parvis »'s.
        _change_status(
            demande=demande,
            to=Status.EN_COURS,
            actor=author,
            comment="",
            notify=False,
            actor_label=label,
        )
    if not from_requester:
        transaction.on_commit(
            lambda: _send(demande, "demarches/emails/message.txt", message=message)
        )
    return message


def _address_answer(answers: dict) -> dict:
    """The « adresse » answer when it says something: an optional address left blank is
    {"street": "", …}, which must not blank the coordinates."""
    address = answers.get("adresse")
    if not isinstance(address, dict) or not any(
        (address.get(part) or "").strip() for part in ("street", "postal_code", "city")
    ):
        return {}
    return address


def _famille_of_requester(demande: Demande):
    """The request's family, if its requester still acts for it (a link removed since the
    request was filed gives no say on that family any more)."""
    if demande.famille_id is None or demande.requester_id is None:
        return None
    linked = FamilyAccess.objects.filter(
        user_id=demande.requester_id, famille_id=demande.famille_id
    ).exists()
    return demande.famille if linked else None


def _member_of_requester(demande: Demande, famille):
    """The requester's own person in the family file, when their link names one."""
    if famille is None:
        return None
    access = (
        FamilyAccess.objects.filter(user_id=demande.requester_id, famille=famille)
        .select_related("personne")
        .first()
    )
    return access.personne if access is not None else None


def apply_effect(*, demande: Demande, actor) -> None:
    """What the procedure changes once accepted, through the owners' services (audited)."""
    effect, answers = demande.procedure.effect, demande.answers
    requester = demande.requester
    if effect == Effect.COORDINATES and requester is not None:
        address = _address_answer(answers)
        famille = _famille_of_requester(demande)
        fields = {}
        if address:
            fields.update(
                address=address.get("street", ""),
                postal_code=address.get("postal_code", ""),
                city=address.get("city", ""),
            )
        if answers.get("telephone"):
            fields["phone"] = answers["telephone"]
        # The form is prefilled from the account: a value left as the account has it is no
        # news, and must not overwrite what the services typed in the family file.
        account = {"phone": requester.phone, "email": requester.email}
        if fields:
            update_coordinates(user=requester, actor=actor or requester, **fields)
        member = _member_of_requester(demande, famille)
        member_fields = {
            name: value
            for name, answer in (("phone", "telephone"), ("email", "courriel"))
            if (value := (answers.get(answer) or "").strip())
            and (value != (account[name] or "").strip() or not getattr(member, name, ""))
        }
        if member is not None and member_fields:
            # What the services hold of the requester in the family file, too.
            update_member(personne=member, actor=actor or requester, **member_fields)
        if address and answers.get("tout_le_foyer") == "oui" and famille is not None:
            update_famille(
                famille=famille,
                actor=actor or requester,
                address=address.get("street", ""),
                postal_code=address.get("postal_code", ""),
                city=address.get("city", ""),
            )
    elif effect == Effect.PAPERLESS_INVOICE and answers.get("adhesion") in ("oui", "non"):
        famille = _famille_of_requester(demande)
        if famille is not None:
            update_famille(
                famille=famille,
                actor=actor or requester,
                paperless_invoice=answers["adhesion"] == "oui",
            )


def tracking_locked(*, commune, ip: str | None) -> bool:
    """Whether the follow-up form is locked for this address (TRACKING_MAX_FAILURES wrong pairs
    within 15 minutes): the page says so from the failure that reaches the limit."""
    return (
        locked_until(
            commune=commune,
            kind=Attempt.Kind.TRACKING,
            identifier=f"ip:{ip or ''}",
            ip=None,
            now=timezone.now(),
            max_failures=TRACKING_MAX_FAILURES,
        )
        is not None
    )


def find_tracked(*, commune, number: str, code: str, ip: str | None) -> Demande | None:
    """An anonymous request by its number and code; None for any mismatch (the same answer
    whatever was wrong), throttled per address."""
    identifier = f"ip:{ip or ''}"
    if tracking_locked(commune=commune, ip=ip):
        raise NotAllowed("locked")
    demande = (
        Demande.objects.select_related("procedure")
        .filter(commune=commune, number=number.strip().upper(), requester=None)
        .exclude(tracking_digest="")
        .first()
    )
    ok = demande is not None and secrets.compare_digest(
        demande.tracking_digest, tracking_digest(code)
    )
    # A success is logged against the request, not the address: failures before a success do
    # not count for an identifier (locked_until), so one's own valid pair would otherwise reset
    # the count between guesses at others' codes.
    _record_attempt(
        commune=commune,
        kind=Attempt.Kind.TRACKING,
        identifier=f"demande:{demande.pk}" if ok else identifier,
        ip=ip,
        succeeded=ok,
    )
    return demande if ok else None


def tracking_url(demande: Demande) -> str:
    return absolute_url(reverse("demarches:suivi", kwargs={"commune": demande.commune.slug}))


def email_values(demande: Demande, link: str) -> dict:
    """The values of the placeholders of a procedure's e-mails (builder.PLACEHOLDERS)."""
    return {
        "numero": demande.number,
        "demarche": demande.procedure.title,
        "nom": demande.contact_name
        or (demande.requester.get_full_name() if demande.requester else ""),
        "etat": demande.get_status_display(),
        "commune": demande.commune.name,
        "lien_suivi": link,
    }


def _send(demande: Demande, template: str, **extra) -> None:
    to = demande.contact_email or (demande.requester.email if demande.requester else "")
    if not to:
        return
    context = {
        "demande": demande,
        "commune": demande.commune,
        "procedure": demande.procedure,
        "status": demande.get_status_display(),
        "tracking_url": tracking_url(demande),
        **extra,
    }
    subject = _("%(commune)s — %(procedure)s (%(number)s) : %(status)s") % {
        "commune": demande.commune.name,
        "procedure": demande.procedure.title,
        "number": demande.number,
        "status": demande.get_status_display(),
    }
    custom = (
        (demande.procedure.emails or {}).get(demande.status) if "message" not in extra else None
    )
    if custom:  # the procedure's own e-mail for this status (the builder's « Courriels »)
        values = email_values(demande, context["tracking_url"])
        subject = render_placeholders(custom.get("subject") or subject, values)
        context["custom_body"] = render_placeholders(custom.get("body", ""), values)
    queue_email(
        subject=subject,
        body=render_to_string(template, context),
        commune_id=demande.commune_id,
        to=[to],
    )
