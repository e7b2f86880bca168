"""A procedure on the citizen's side, under /<commune>/demarches/<slug>/: its page with
« Commencer », the wizard (one address per step, then the summary and « Valider ») and the
confirmation.

The draft (a Demande « brouillon ») holds the answers: going back, leaving and coming back keep
them; whose draft it is: parvis.demarches.decorators. Every page of a procedure but the
confirmation goes through one guard (`procedure_view`). Every write goes through
parvis.demarches.services.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, register_converter
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.services import client_ip
from parvis.communes.links import url_if_exists
from parvis.demarches import selectors, services
from parvis.demarches.converters import ProcedureSlugConverter
from parvis.demarches.decorators import citizen, procedure_view, session_draft_key
from parvis.demarches.forms import (
    ContactForm,
    Member,
    StepForm,
    contact_from_steps,
    display_answers,
)
from parvis.demarches.forms_wizard import (
    as_data,
    contact_initial,
    field_items,
    valid_part,
)
from parvis.demarches.links import confirmation_url, login_url, resume_url, step_url
from parvis.demarches.models import Audience, Demande, Procedure
from parvis.families import selectors_citizen, selectors_documents
from parvis.families.models import DocumentStatus

FILED_SESSION = "parvis.demarches.filed"  # {request id: tracking code not shown yet, or ""}
ROBOT_SESSION = "parvis.demarches.robot"  # drafts whose honeypot was filled at some step
MAX_FILED_IN_SESSION = 20  # the confirmations a session may show again


# --- Reads for whoever asks ----------------------------------------------------------------------


def _draft(request, procedure: Procedure, pk: int) -> Demande:
    """The visitor's own draft of `procedure`; 404 for anyone else's, a submitted request or
    another commune's."""
    demande = selectors.draft_of(
        commune=request.commune,
        procedure=procedure,
        pk=pk,
        user=citizen(request),
        draft_key=session_draft_key(request),
    )
    if demande is None:
        raise Http404
    if demande.version_id is not None:
        # The questions of the version the draft started with, whatever was published since.
        procedure.definition = demande.version.definition
    demande.procedure, demande.commune = procedure, request.commune
    return demande


def _members(request, procedure: Procedure) -> list[Member]:
    """The members of the citizen's households, for « member » fields (none asked otherwise)."""
    user = citizen(request)
    definition = procedure.definition
    if user is None or not any(
        field["type"] == "member" for step in definition["steps"] for field in step["fields"]
    ):
        return []
    members = []
    for household in selectors_citizen.households(user=user, commune=request.commune):
        for person in [*household.responsables, *household.children]:
            members.append(Member(pk=person.pk, kind=person.kind, label=str(person)))
    return members


def _stored_documents(request, procedure: Procedure, step: int) -> list:
    """The documents of the citizen's families that a file field of `step` may join instead of
    a new file: neither refused nor expired (none asked when the step has no file field)."""
    user = citizen(request)
    fields = procedure.definition["steps"][step - 1]["fields"]
    if user is None or not any(field["type"] == "file" for field in fields):
        return []
    today = timezone.localdate()
    return [
        document
        for store in selectors_documents.citizen_documents(user=user, commune=request.commune)
        for document in store.documents
        if document.state(today) not in (DocumentStatus.REFUSE, DocumentStatus.EXPIRE)
    ]


# --- A procedure's page --------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@procedure_view(open_page=True)
def demarche(request, procedure: Procedure):
    """What the procedure asks and who may file it, and « Commencer » (a new draft)."""
    commune = request.commune
    user = citizen(request)
    if request.method == "POST":
        draft = services.start_draft(
            procedure=procedure,
            user=user,
            draft_key="" if user is not None else session_draft_key(request, create=True),
        )
        return redirect(step_url(draft, 1))
    needs_login = procedure.audience != Audience.ANYONE and user is None
    family_missing = (
        procedure.audience == Audience.FAMILY
        and user is not None
        and not selectors_citizen.has_family(user=user, commune=commune)
    )
    return render(
        request,
        "demarches/citoyen/demarche.html",
        {
            "procedure": procedure,
            "documents": procedure.definition.get("documents", []),
            "steps": [step["title"] for step in procedure.definition["steps"]],
            "needs_login": needs_login,
            "login_url": login_url(commune, request.get_full_path()) if needs_login else "",
            "family_missing": family_missing,
            "key_labels": [
                service.key_label
                for service in selectors_citizen.key_services(commune=commune)
                if family_missing
            ],
            "keys_url": url_if_exists("accounts:modifier_espace", commune.slug),
            "may_start": not needs_login and not family_missing,
            "drafts": [
                (draft, resume_url(draft))
                for draft in selectors.drafts_in_progress(
                    commune=commune,
                    procedure=procedure,
                    user=user,
                    draft_key=session_draft_key(request),
                )
            ],
            "current_section": "demarches:catalogue",
        },
    )


# --- The wizard ----------------------------------------------------------------------------------


def _step_bar(procedure: Procedure) -> list[dict]:
    steps = [
        {"number": n, "label": step["title"]}
        for n, step in enumerate(procedure.definition["steps"], start=1)
    ]
    steps.append({"number": len(steps) + 1, "label": _("Récapitulatif")})
    return steps


def _wizard_context(demande: Demande, step: int) -> dict:
    procedure = demande.procedure
    bar = _step_bar(procedure)
    return {
        "procedure": procedure,
        "demande": demande,
        "step": step,
        "steps": bar,
        "last_step": len(bar),
        "previous_url": step_url(demande, step - 1) if step > 1 else "",
        "current_section": "demarches:catalogue",
    }


def _step_form(request, demande: Demande, step: int, *, attached, documents, data=None, files=None):
    return StepForm(
        data=data,
        files=files,
        procedure=demande.procedure,
        step=step,
        answers=demande.answers,
        user=citizen(request),
        members=_members(request, demande.procedure),
        attached=attached,
        documents=documents,
    )


def _render_step(request, demande: Demande, step: int, form: StepForm, attached: dict):
    definition_step = demande.procedure.definition["steps"][step - 1]
    return render(
        request,
        "demarches/citoyen/etape.html",
        {
            **_wizard_context(demande, step),
            "step_title": definition_step["title"],
            "intro": definition_step.get("intro", ""),
            "form": form,
            "fields": field_items(form, attached),
            "next_step": step + 1,
        },
    )


def _mark_robot(request, demande: Demande) -> None:
    robots = set(request.session.get(ROBOT_SESSION, []))
    robots.add(demande.pk)
    request.session[ROBOT_SESSION] = sorted(robots)


def _cancel(request, demande: Demande):
    services.delete_draft(demande=demande)
    messages.info(
        request,
        _("Votre démarche « %(title)s » est annulée.") % {"title": demande.procedure.title},
    )
    return redirect("demarches:catalogue", commune=request.commune.slug)


@never_cache
@require_http_methods(["GET", "POST"])
@procedure_view
def etape(request, procedure: Procedure, pk: int, step: int):
    """One step of the wizard: « Aller à l'étape N » keeps the answers and goes on, « Retour à
    l'étape précédente » keeps what is valid and goes back, « Annuler la démarche » deletes the
    draft."""
    demande = _draft(request, procedure, pk)
    if step < 1:
        raise Http404
    if step > demande.current_step or step > len(procedure.definition["steps"]):
        return redirect(resume_url(demande))  # no skipping ahead; past the last: the summary
    attached = selectors.answer_file_names(demande)
    documents = _stored_documents(request, procedure, step)
    if request.method == "GET":
        form = _step_form(request, demande, step, attached=attached, documents=documents)
        return _render_step(request, demande, step, form, attached)

    action = request.POST.get("action", "suivant")
    if action == "annuler":
        return _cancel(request, demande)
    form = _step_form(
        request,
        demande,
        step,
        data=request.POST,
        files=request.FILES,
        attached=attached,
        documents=documents,
    )
    valid = form.is_valid()
    if form.robot:
        _mark_robot(request, demande)
    if action == "precedent" and step > 1:
        services.save_step(
            demande=demande,
            step=step,
            answers=form.cleaned_answers() if valid else valid_part(form),
            files=form.cleaned_files(),
            documents=form.cleaned_documents(),
            done=valid,
        )
        return redirect(step_url(demande, step - 1))
    if valid:
        services.save_step(
            demande=demande,
            step=step,
            answers=form.cleaned_answers(),
            files=form.cleaned_files(),
            documents=form.cleaned_documents(),
        )
        return redirect(step_url(demande, step + 1))
    files, chosen = form.cleaned_files(), form.cleaned_documents()
    if files or chosen:
        # The files that passed are kept, so that they need not be sent again.
        services.save_step(
            demande=demande, step=step, answers={}, files=files, documents=chosen, done=False
        )
        attached = selectors.answer_file_names(demande)
        said = form.errors
        form = _step_form(
            request,
            demande,
            step,
            data=request.POST,
            files=None,
            attached=attached,
            documents=documents,
        )
        form.is_valid()
        for name, errors in said.items():
            # Drawn again without the files sent: a refused file keeps the reason it was
            # refused (not « Ce champ est obligatoire », nor nothing when it is optional).
            form.errors[name] = errors
    return _render_step(request, demande, step, form, attached)


# --- The summary and the confirmation ------------------------------------------------------------


def _first_step_to_complete(request, demande: Demande, attached: dict) -> int | None:
    """The first step whose stored answers no longer pass (an earlier answer changed what it
    asks, or the procedure changed), None when all do."""
    members = _members(request, demande.procedure)
    for number, procedure_step in enumerate(demande.procedure.definition["steps"], start=1):
        form = StepForm(
            data=as_data(procedure_step, demande.answers),
            procedure=demande.procedure,
            step=number,
            answers=demande.answers,
            user=citizen(request),
            members=members,
            attached=attached,
        )
        if not form.is_valid():
            return number
    return None


def _render_summary(request, demande: Demande, attachments, contact_form, *, status=200):
    procedure = demande.procedure
    sections = display_answers(procedure.definition, demande.answers, attachments)
    return render(
        request,
        "demarches/citoyen/recapitulatif.html",
        {
            **_wizard_context(demande, len(procedure.definition["steps"]) + 1),
            "sections": [
                (section, step_url(demande, number))
                for number, section in enumerate(sections, start=1)
            ],
            "contact_form": contact_form,
            # The name and e-mail the steps asked: shown, with « Modifier », not asked again.
            "contact_asked": [
                (line, step_url(demande, line.step))
                for line in (contact_form.asked.values() if contact_form else ())
            ],
            "citizen": citizen(request),
        },
        status=status,
    )


def _filed(request) -> dict:
    return request.session.get(FILED_SESSION, {})


@never_cache
@require_http_methods(["GET", "POST"])
@procedure_view
def recapitulatif(request, procedure: Procedure, pk: int):
    """The summary: every answer with « Modifier » per step, the requester's name and e-mail
    when without an account, and « Valider »."""
    commune = request.commune
    if str(pk) in _filed(request) and not selectors.is_draft(commune=commune, pk=pk):
        return redirect(  # sent twice (a double click): the first one went through
            "demarches:confirmation", commune=commune.slug, slug=procedure.slug, pk=pk
        )
    demande = _draft(request, procedure, pk)
    steps = len(procedure.definition["steps"])
    if demande.current_step <= steps:
        return redirect(resume_url(demande))
    attached = selectors.answer_file_names(demande)
    to_complete = _first_step_to_complete(request, demande, attached)
    if to_complete is not None:
        messages.warning(request, _("Cette étape est à compléter avant de valider la demande."))
        return redirect(step_url(demande, to_complete))
    attachments = selectors.answer_files(demande)
    anonymous = demande.requester_id is None
    asked = contact_from_steps(procedure.definition, demande.answers) if anonymous else {}
    if request.method == "GET":
        contact_form = (
            ContactForm(initial=contact_initial(procedure.definition, demande.answers), asked=asked)
            if anonymous
            else None
        )
        return _render_summary(request, demande, attachments, contact_form)

    action = request.POST.get("action", "valider")
    if action == "annuler":
        return _cancel(request, demande)
    if action == "precedent":
        return redirect(step_url(demande, steps))
    contact_form = ContactForm(data=request.POST, asked=asked) if anonymous else None
    robot = demande.pk in request.session.get(ROBOT_SESSION, []) or (
        contact_form is not None and contact_form.robot
    )
    if contact_form is not None and not contact_form.is_valid():
        return _render_summary(request, demande, attachments, contact_form)
    if robot:
        # A robot filled a field hidden from people: answer as if it worked, file nothing.
        services.delete_draft(demande=demande)
        return render(
            request, "demarches/citoyen/confirmation.html", {"procedure": procedure, "robot": True}
        )
    ip = client_ip(request)
    if anonymous and services.anonymous_rate_limited(commune=commune, ip=ip):
        contact_form.add_error(
            None,
            _(
                "Trop de demandes ont été envoyées sans compte depuis votre connexion Internet "
                "au cours de la dernière heure. Votre demande est gardée : réessayez dans une "
                "heure, ou adressez-vous à la mairie."
            ),
        )
        return _render_summary(request, demande, attachments, contact_form, status=429)
    code = services.submit(demande=demande, **(contact_form.contact() if anonymous else {}), ip=ip)
    filed = {**_filed(request), str(demande.pk): code or ""}
    request.session[FILED_SESSION] = dict(list(filed.items())[-MAX_FILED_IN_SESSION:])
    return redirect(confirmation_url(demande))


@never_cache
@require_GET
def confirmation(request, slug: str, pk: int):
    """The number, the procedure's confirmation text and, without an account, the tracking code
    (shown once: it is kept only as a digest) and where to follow the request."""
    commune = request.commune
    filed = _filed(request)
    demande = selectors.filed_request(
        commune=commune,
        slug=slug,
        pk=pk,
        user=citizen(request),
        filed_in_session=str(pk) in filed,
    )
    if demande is None:
        raise Http404
    code = filed.get(str(pk), "")
    if code:
        request.session[FILED_SESSION] = {**filed, str(pk): ""}  # shown once
    return render(
        request,
        "demarches/citoyen/confirmation.html",
        {
            "procedure": demande.procedure,
            "demande": demande,
            "anonymous": demande.requester_id is None,
            "code": code,
            "confirmation_text": demande.definition.get("confirmation", ""),
            "tracking_url": url_if_exists("demarches:suivi", commune.slug),
            "dashboard_url": url_if_exists("demarches:tableau_de_bord", commune.slug),
            "current_section": "demarches:catalogue",
        },
    )


register_converter(ProcedureSlugConverter, "demarche")

urlpatterns = [
    path("<demarche:slug>/", demarche, name="demarche"),
    path("<demarche:slug>/<int:pk>/etape-<int:step>/", etape, name="etape"),
    path("<demarche:slug>/<int:pk>/recapitulatif/", recapitulatif, name="recapitulatif"),
    path("<demarche:slug>/<int:pk>/confirmation/", confirmation, name="confirmation"),
]
