"""The agents' queue of requests (« demandes »), under /<commune>/guichet/demandes/: the queue with
its counts and filters, a batch action, the CSV export, one request with its answers, files,
history and messages, and the decisions the TRANSITIONS table allows from its status.

Thin views: reads from `selectors_demandes` (scoped to the commune and to the agent's roles: a
request out of scope is a 404, whatever the action), writes through parvis.demarches.services."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from parvis.accounts.agents import agent_required
from parvis.communes.links import safe_next
from parvis.demarches import services, services_lots
from parvis.demarches.forms import display_answers
from parvis.demarches.guichet import selectors_demandes as selectors
from parvis.demarches.guichet.forms_demandes import (
    AcceptForm,
    BatchForm,
    ComplementForm,
    DismissForm,
    MessageForm,
    QueueFilterForm,
    RefuseForm,
    TextForm,
)
from parvis.demarches.guichet.selectors_documents import dossier_documents
from parvis.demarches.models import CLOSED, TRANSITIONS, Demande, Status
from parvis.demarches.services_dossier import DOSSIER_SLUG
from parvis.text import spreadsheet_cell

PER_PAGE = 25
SECTION = "backoffice:demandes"  # the navigation entry marked on every page of the queue


# --- The decisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A decision on one request: its URL segment (and form prefix), the status it leads to (None
    for a message, which changes none), its button and its form."""

    slug: str
    to: str | None
    title: str
    button: str
    form: type[TextForm] | None

    @property
    def url_name(self) -> str:
        return f"backoffice:demande_{self.slug}"

    def allowed(self, demande: Demande) -> bool:
        if self.to is None:
            return demande.status not in CLOSED and demande.status != Status.BROUILLON
        return self.to in TRANSITIONS[demande.status]

    def run(self, demande: Demande, agent, text: str = "") -> None:
        if self.slug == "prendre":
            services.take(demande=demande, agent=agent)
        elif self.slug == "complement":
            services.ask_complement(demande=demande, agent=agent, message=text)
        elif self.slug == "message":
            services.post_message(demande=demande, body=text, author=agent, from_requester=False)
        else:
            services.transition(demande=demande, to=self.to, actor=agent, comment=text)


ACTIONS = {
    action.slug: action
    for action in (
        Action(
            "prendre",
            Status.EN_COURS,
            gettext_lazy("Prendre en charge"),
            gettext_lazy("Prendre en charge"),
            None,
        ),
        Action(
            "complement",
            Status.COMPLEMENT,
            gettext_lazy("Demander un complément"),
            gettext_lazy("Demander un complément"),
            ComplementForm,
        ),
        Action(
            "accepter",
            Status.ACCEPTEE,
            gettext_lazy("Accepter la demande"),
            gettext_lazy("Accepter"),
            AcceptForm,
        ),
        Action(
            "refuser",
            Status.REFUSEE,
            gettext_lazy("Refuser la demande"),
            gettext_lazy("Refuser"),
            RefuseForm,
        ),
        Action(
            "classer",
            Status.SANS_SUITE,
            gettext_lazy("Classer sans suite"),
            gettext_lazy("Classer sans suite"),
            DismissForm,
        ),
        Action(
            "message",
            None,
            gettext_lazy("Envoyer un message"),
            gettext_lazy("Envoyer le message"),
            MessageForm,
        ),
    )
}


def _done_message(slug: str, count: int) -> str:
    """What was done: one request, or several by the batch action (take, accept, dismiss)."""
    if slug == "prendre":
        text = ngettext(
            "%(count)d demande prise en charge.", "%(count)d demandes prises en charge.", count
        )
    elif slug == "complement":  # one by one only
        return _("Complément demandé : le demandeur est prévenu par courriel.")
    elif slug == "accepter":
        text = ngettext("%(count)d demande acceptée.", "%(count)d demandes acceptées.", count)
    elif slug == "refuser":
        text = ngettext("%(count)d demande refusée.", "%(count)d demandes refusées.", count)
    elif slug == "classer":
        text = ngettext(
            "%(count)d demande classée sans suite.",
            "%(count)d demandes classées sans suite.",
            count,
        )
    else:  # a message, one by one only
        return _("Message envoyé au demandeur.")
    return text % {"count": count}


def _not_allowed_message(action: Action, demande: Demande) -> str:
    return _(
        "« %(action)s » n'est pas possible pour une demande à l'état « %(status)s » : "
        "rien n'a été modifié."
    ) % {"action": action.button, "status": demande.get_status_display()}


# --- The queue -----------------------------------------------------------------------------------


def _queue_url(request) -> str:
    return reverse("backoffice:demandes", args=[request.commune.slug])


def _filter_form(request) -> QueueFilterForm:
    return QueueFilterForm(
        request.GET or None,
        procedures=selectors.visible_procedures(request.commune, request.agent),
        agents=selectors.assignable_agents(request.commune),
    )


@agent_required
@require_GET
def demandes(request):
    form = _filter_form(request)
    filters = form.filters()
    paginator = Paginator(selectors.queue(request.commune, request.agent, filters), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows = list(page.object_list)
    batch_form = BatchForm(numbers=[demande.number for demande in rows])
    return render(
        request,
        "demarches/guichet/demandes/liste.html",
        {
            "form": form,
            "filters": filters,
            "filters_active": form.active,
            "counts": selectors.status_counts(request.commune, request.agent),
            "page": page,
            "rows": [
                (demande, checkbox, requester_name(demande))
                for demande, checkbox in zip(rows, batch_form["demandes"], strict=True)
            ],
            "current_section": SECTION,
        },
    )


@agent_required
@require_POST
def demandes_lot(request):
    """The batch action, on as many requests as ticked: a background job
    (guichet.services_lots) takes each through the same service as one by one, and its page
    follows it; those the table does not allow (or the agent may not see) are left as they are,
    and said there."""
    back = safe_next(request, request.POST.get("retour"), within=_queue_url(request))
    back = back or _queue_url(request)
    form = BatchForm(request.POST, numbers=request.POST.getlist("demandes"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    job = services_lots.start_demandes(
        commune=request.commune,
        actor=request.user,
        action=form.cleaned_data["action"],
        numbers=form.cleaned_data["demandes"],
        visible=selectors.demandes_by_numbers(
            request.commune, request.agent, form.cleaned_data["demandes"]
        ),
        return_url=back,
    )
    return redirect("backoffice:travail", commune=request.commune.slug, pk=job.pk)


# --- The CSV export ------------------------------------------------------------------------------


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


def requester_name(demande: Demande) -> str:
    if demande.contact_name:
        return demande.contact_name
    if demande.requester is not None:
        return demande.requester.get_full_name() or demande.requester.email
    return ""


def requester_email(demande: Demande) -> str:
    return demande.contact_email or (demande.requester.email if demande.requester else "")


@agent_required
@require_GET
def demandes_export(request):
    """The filtered queue as a CSV file for French Excel: UTF-8 with a BOM, « ; » between cells."""
    form = _filter_form(request)
    demandes_qs = selectors.queue(request.commune, request.agent, form.filters())
    filename = f"demandes-{request.commune.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Numéro"),
            _("Démarche"),
            _("État"),
            _("Demandeur"),
            _("Courriel"),
            _("Déposée le"),
            _("Close le"),
            _("Agent en charge"),
        ]
    )
    for demande in demandes_qs.iterator(chunk_size=500):
        assigned = demande.assigned_to
        writer.writerow(
            spreadsheet_cell(value)
            for value in (
                demande.number,
                demande.procedure.title,
                demande.get_status_display(),
                requester_name(demande),
                requester_email(demande),
                _when(demande.submitted_at),
                _when(demande.closed_at),
                (assigned.get_full_name() or assigned.get_username()) if assigned else "",
            )
        )
    return response


# --- One request ---------------------------------------------------------------------------------


def _demande_url(demande: Demande) -> str:
    return reverse("backoffice:demande", args=[demande.commune.slug, demande.number])


def _demande_page(request, number: str, *, bound: dict | None = None, status: int = 200):
    demande = selectors.demande_file(request.commune, request.agent, number)
    attachments = list(demande.attachments.all())
    field_files = [a for a in attachments if a.message_id is None]
    actions = [action for action in ACTIONS.values() if action.allowed(demande)]
    forms = {
        action.slug: (bound or {}).get(action.slug)
        or (action.form(prefix=action.slug) if action.form else None)
        for action in actions
    }
    return render(
        request,
        "demarches/guichet/demandes/detail.html",
        {
            "demande": demande,
            "requester_name": requester_name(demande),
            "requester_email": requester_email(demande),
            "sections": display_answers(
                demande.definition, demande.answers, attachments=field_files
            ),
            "files": field_files,
            "events": list(demande.events.all()),
            # A « Dossier administratif » request lists the documents it was filed with (those
            # the agent may see), each a link to its page and preview.
            "dossier_documents": (
                dossier_documents(
                    request.commune, request.agent, (demande.answers or {}).get("document_ids")
                )
                if getattr(demande.procedure, "slug", None) == DOSSIER_SLUG
                else None
            ),
            "thread": list(demande.messages.all()),
            "actions": [(action, forms[action.slug]) for action in actions],
            "current_section": SECTION,
        },
        status=status,
    )


@agent_required
@never_cache
@require_GET
def demande(request, number: str):
    return _demande_page(request, number)


@agent_required
@require_POST
def demande_action(request, number: str, action: str):
    """One decision. Out of the table for the current status: said, nothing changed."""
    action = ACTIONS[action]
    demande = selectors.demande_for(request.commune, request.agent, number)
    if not action.allowed(demande):
        messages.error(request, _not_allowed_message(action, demande))
        return redirect(_demande_url(demande))
    form = action.form(request.POST, prefix=action.slug) if action.form else None
    if form is not None and not form.is_valid():
        return _demande_page(request, number, bound={action.slug: form})
    try:
        action.run(demande, request.user, form.cleaned_data["text"] if form else "")
    except services.NotAllowed:
        demande.refresh_from_db(fields=["status"])
        messages.error(request, _not_allowed_message(action, demande))
    else:
        messages.success(request, _done_message(action.slug, 1))
    return redirect(_demande_url(demande))


# --- Files ---------------------------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


@agent_required
@never_cache
def piece_jointe(request, number: str, pk: int):
    """A file of a request, to download (never shown inline): its stored type, no sniffing. The
    scope is checked before the method: another's file is a 404 whatever the method."""
    attachment = selectors.attachment_for(request.commune, request.agent, number, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    name = _UNSAFE_IN_NAME.sub("_", attachment.original_name).strip() or "piece-jointe"
    response = FileResponse(
        handle, as_attachment=True, filename=name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
