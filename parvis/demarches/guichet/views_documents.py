"""The families' documents at the guichet, under /<commune>/guichet/documents/: the queue of
documents to validate (oldest first, per service) with its batch « Valider la sélection », one
document with its history, its preview and the decisions « Valider » / « Refuser »; and the family
quotient calculator of a family file.

Thin views: reads from `selectors_documents` (scoped to the commune and to the agent: a document
out of scope is a 404, whatever the action), writes through parvis.demarches.services_dossier (a
decision and the file requests it completes, in one transaction) and
parvis.families.services.record_quotient."""

from __future__ import annotations

import re
from decimal import Decimal

from csp.constants import SELF
from csp.decorators import csp_replace, csp_update
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.agents import agent_required, family_editor_required
from parvis.communes.links import safe_next
from parvis.demarches import services_dossier as services
from parvis.demarches import services_lots
from parvis.demarches.guichet import selectors_documents as selectors
from parvis.demarches.guichet.forms_documents import (
    DocumentBatchForm,
    DocumentFilterForm,
    QfCalculatorForm,
    QfDirectForm,
    RefuseDocumentForm,
    default_validity,
)
from parvis.demarches.guichet.selectors_documents import plain_number
from parvis.families import selectors as family_selectors
from parvis.families import services as family_services
from parvis.families.models import DOCUMENT_TRANSITIONS, Document, DocumentStatus, QfSource
from parvis.families.quotient import compute_qf, number_of_parts
from parvis.families.services_documents import NotAllowed
from parvis.uploads import safe_to_show

PER_PAGE = 25
SECTION = "backoffice:documents"  # the navigation entry marked on every page of the queue
# What a browser may show inline, once the file passes today's upload check again (`_inline`);
# anything else is only downloaded.
INLINE_TYPES = {"application/pdf": "pdf", "image/jpeg": "image", "image/png": "image"}


def _queue_url(request) -> str:
    return reverse("backoffice:documents", args=[request.commune.slug])


def _document_url(document: Document) -> str:
    return reverse("backoffice:document", args=[document.commune.slug, document.pk])


def _settled_messages(request, reviewed: services.Reviewed) -> None:
    for demande in reviewed.accepted:
        messages.success(
            request,
            _(
                "Le dossier administratif de la famille %(name)s est complet : la demande "
                "%(number)s est acceptée."
            )
            % {"name": demande.famille.name if demande.famille else "", "number": demande.number},
        )


# --- The queue -----------------------------------------------------------------------------------


@agent_required
@require_GET
def documents(request):
    form = DocumentFilterForm(
        request.GET or None,
        services=selectors.visible_services(request.commune, request.agent),
        with_no_service=request.agent.can_edit_families,
    )
    filters = form.filters()
    paginator = Paginator(selectors.queue(request.commune, request.agent, filters), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows = selectors.with_state(list(page.object_list), timezone.localdate())
    batch_form = DocumentBatchForm(pks=[document.pk for document in rows])
    return render(
        request,
        "demarches/guichet/documents/liste.html",
        {
            "form": form,
            "filters_active": form.active,
            "page": page,
            "rows": list(zip(rows, batch_form["documents"], strict=True)),
            "current_section": SECTION,
        },
    )


@agent_required
@require_POST
def documents_lot(request):
    """« Valider la sélection », on as many documents as ticked: a background job
    (guichet.services_lots) validates those the agent may see, and its page follows it; the
    others (another service's, another commune's, unknown) are ignored, and said there."""
    back = safe_next(request, request.POST.get("retour"), within=_queue_url(request))
    back = back or _queue_url(request)
    form = DocumentBatchForm(request.POST, pks=request.POST.getlist("documents"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    job = services_lots.start_documents(
        commune=request.commune,
        actor=request.user,
        pks=form.cleaned_data["documents"],
        visible=selectors.documents_by_pks(
            request.commune, request.agent, form.cleaned_data["documents"]
        ),
        return_url=back,
    )
    return redirect("backoffice:travail", commune=request.commune.slug, pk=job.pk)


# --- One document --------------------------------------------------------------------------------


def _inline(document: Document) -> str | None:
    """How the file may be shown inline (« pdf », « image »), or None: never a file that fails
    the upload check of today (too many pixels, a PDF with JavaScript…), even one stored before
    that check existed. Judged again at each view: nothing stored can go stale."""
    kind = INLINE_TYPES.get(document.content_type)
    if kind is None or not safe_to_show(document.file, document.content_type):
        return None
    return kind


def _document_page(request, pk: int, *, refuse_form=None, status: int = 200):
    document = selectors.document_file(request.commune, request.agent, pk)
    selectors.with_state([document], timezone.localdate())
    allowed = DOCUMENT_TRANSITIONS.get(document.status, set())
    preview = _inline(document)
    return render(
        request,
        "demarches/guichet/documents/detail.html",
        {
            "document": document,
            "events": list(document.events.all()),
            "preview": preview,
            # A type a browser shows, refused by the check: said, and only downloaded.
            "unsafe": preview is None and document.content_type in INLINE_TYPES,
            "can_validate": DocumentStatus.VALIDE in allowed,
            "refuse_form": (refuse_form or RefuseDocumentForm(prefix="refus"))
            if DocumentStatus.REFUSE in allowed
            else None,
            "current_section": SECTION,
        },
        status=status,
    )


@agent_required
@never_cache
@csp_update({"frame-src": [SELF]})  # the PDF preview, served by document_apercu
def document(request, pk: int):
    if request.method not in ("GET", "HEAD"):
        # The scope before the method: another's document is a 404 whatever the method.
        selectors.document_for(request.commune, request.agent, pk)
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _document_page(request, pk)


def _not_allowed(request, document: Document):
    document.refresh_from_db(fields=["status"])
    messages.error(
        request,
        _("Ce document est déjà « %(state)s » : rien n'a été modifié.")
        % {"state": document.get_status_display()},
    )
    return redirect(_document_url(document))


@agent_required
@require_POST
def document_valider(request, pk: int):
    document = selectors.document_for(request.commune, request.agent, pk)
    try:
        reviewed = services.review(document=document, actor=request.user, to=DocumentStatus.VALIDE)
    except NotAllowed:
        return _not_allowed(request, document)
    messages.success(
        request, _("Le document « %(label)s » est validé.") % {"label": document.label}
    )
    _settled_messages(request, reviewed)
    return redirect(_queue_url(request))


@agent_required
@require_POST
@csp_update({"frame-src": [SELF]})
def document_refuser(request, pk: int):
    document = selectors.document_for(request.commune, request.agent, pk)
    form = RefuseDocumentForm(request.POST, prefix="refus")
    if not form.is_valid():
        return _document_page(request, pk, refuse_form=form)
    try:
        services.review(
            document=document,
            actor=request.user,
            to=DocumentStatus.REFUSE,
            reason=form.cleaned_data["text"],
        )
    except NotAllowed:
        return _not_allowed(request, document)
    except ValidationError as error:  # a reason of blanks only: the service says so
        for message in error.messages:
            form.add_error("text", message)
        return _document_page(request, pk, refuse_form=form)
    messages.success(
        request,
        _("Le document « %(label)s » est refusé : la famille est prévenue par courriel.")
        % {"label": document.label},
    )
    return redirect(_queue_url(request))


# --- The file itself -----------------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"]")


def _file_response(request, pk: int, *, inline: bool):
    """The stored file, with its stored type, never sniffed nor cached. The scope is checked
    before the method: another's document is a 404 whatever the method."""
    document = selectors.document_for(request.commune, request.agent, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    shown = inline and _inline(document) is not None  # before the open: the check closes it
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    name = _UNSAFE_IN_NAME.sub("_", document.original_name).strip() or "document"
    response = FileResponse(
        handle,
        as_attachment=not shown,
        filename=name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@agent_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
def document_apercu(request, pk: int):
    """The file shown inline, for the document page's <img> or <iframe> only (framed by the
    guichet's own pages, nobody else's)."""
    return _file_response(request, pk, inline=True)


@agent_required
def document_telecharger(request, pk: int):
    return _file_response(request, pk, inline=False)


# --- Family quotient -----------------------------------------------------------------------------


def _euros(amount: Decimal) -> str:
    """« 1 234,56 » (rounded to the cent for display only)."""
    return formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


def _rules_lines(rules: dict) -> list[str]:
    """The commune's parts rules, as an agent reads them."""
    scale = [plain_number(part) for part in rules["children"]]
    children = "; ".join(
        _("%(rank)s : %(parts)s") % {"rank": _rank(n + 1, last=n == len(scale) - 1), "parts": part}
        for n, part in enumerate(scale)
    )
    return [
        _("Couple : %(couple)s ; personne seule : %(single)s ; parent isolé : + %(bonus)s.")
        % {
            "couple": plain_number(rules["couple"]),
            "single": plain_number(rules["single"]),
            "bonus": plain_number(rules["single_parent_bonus"]),
        },
        _("Par enfant : %(children)s.") % {"children": children},
    ]


def _rank(n: int, *, last: bool) -> str:
    rank = _("1er enfant") if n == 1 else _("%(n)se enfant") % {"n": n}
    return _("%(rank)s et suivants") % {"rank": rank} if last else rank


@family_editor_required
@never_cache
@require_http_methods(["GET", "POST"])
def qf_calculer(request, number: int):
    """« Calculer » shows the parts and the QF; « Enregistrer » records it (computed from the tax
    notice); the second form records a QF given as is (CAF certificate, set by an agent)."""
    famille = family_selectors.famille_file(request.commune, number)
    rules = request.commune.qf_parts_rules
    start, end = default_validity()
    action = request.POST.get("action") if request.method == "POST" else None
    calculator = QfCalculatorForm(
        request.POST if action in ("calculer", "enregistrer") else None,
        prefix="calcul",
        initial={
            "situation": QfCalculatorForm.COUPLE
            if len(famille.responsables) >= 2
            else QfCalculatorForm.SINGLE,
            "children": len(famille.children),
            "valid_from": start,
            "valid_until": end,
        },
    )
    direct = QfDirectForm(
        request.POST if action == "fixer" else None,
        prefix="direct",
        initial={"source": QfSource.CAF, "valid_from": start, "valid_until": end},
    )
    preview = None
    if calculator.is_bound and calculator.is_valid():
        data = calculator.cleaned_data
        parts = number_of_parts(rules, couple=calculator.couple, children=data["children"])
        value = compute_qf(
            annual_taxable_income=data["income"],
            monthly_benefits=calculator.benefits_amount,
            parts=parts,
        )
        preview = {
            "parts": plain_number(parts),
            "monthly_income": _euros(data["income"] / 12),
            "benefits": _euros(calculator.benefits_amount),
            "value": _euros(value),
        }
        if action == "enregistrer":
            quotient = family_services.record_quotient(
                famille=famille,
                actor=request.user,
                source=QfSource.AVIS_IMPOSITION,
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                annual_taxable_income=data["income"],
                monthly_benefits=calculator.benefits_amount,
                couple=calculator.couple,
                children=data["children"],
            )
            return _recorded(request, famille, quotient)
    if direct.is_bound and direct.is_valid():
        data = direct.cleaned_data
        quotient = family_services.record_quotient(
            famille=famille,
            actor=request.user,
            source=data["source"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            value=data["value"],
        )
        return _recorded(request, famille, quotient)
    return render(
        request,
        "demarches/guichet/qf/calculer.html",
        {
            "famille": famille,
            "calculator": calculator,
            "direct": direct,
            "preview": preview,
            "rules": _rules_lines(rules),
            "current": family_services.current_quotient(famille),
        },
    )


def _recorded(request, famille, quotient):
    messages.success(
        request,
        _("Quotient familial de %(value)s € enregistré, valable du %(start)s au %(end)s.")
        % {
            "value": _euros(quotient.value),
            "start": formats.date_format(quotient.valid_from, "SHORT_DATE_FORMAT"),
            "end": formats.date_format(quotient.valid_until, "SHORT_DATE_FORMAT"),
        },
    )
    # The family file is the shell's page (backoffice), reached by its URL name only.
    return redirect(
        reverse("backoffice:famille", args=[famille.commune.slug, famille.number]) + "#quotient"
    )
