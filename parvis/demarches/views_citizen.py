"""The citizen's side of « démarches », under /<commune>/demarches/: the catalogue (« Nouvelle
démarche », « LES DÉMARCHES » with « votre recherche »), a procedure's page with « Commencer »,
the wizard (one address per step, then the summary and « Valider ») and the confirmation.

The draft (a Demande « brouillon ») holds the answers: going back, leaving and coming back keep
them. An account holder's draft is theirs; an anonymous draft is tied to the browser's session by
a random key kept in the session (`DRAFT_KEY_SESSION`), so only that session continues it. Every
write goes through parvis.demarches.services.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, register_converter, reverse
from django.urls.converters import SlugConverter
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.decorators import is_citizen_of
from parvis.accounts.services import client_ip
from parvis.communes.links import url_if_exists
from parvis.demarches import services
from parvis.demarches.definitions import all_fields
from parvis.demarches.forms import (
    ADDRESS_PARTS,
    ContactForm,
    Member,
    StepForm,
    contact_from_steps,
    display_answers,
)
from parvis.demarches.models import Audience, Demande, Procedure, Status
from parvis.demarches.selectors import offered_procedures
from parvis.demarches.services_dossier import DOSSIER_SLUG
from parvis.families import selectors_citizen, selectors_documents
from parvis.families.models import DocumentStatus, FamilyAccess

# The seed's categories, in its order; the others follow in alphabetical order.
CATEGORY_ORDER = [
    "Actes d'état civil",
    "Listes électorales",
    "Recensement citoyen",
    "Autorisation parentale",
    "Livret de famille",
    "Attestation de changement de domicile / d'hébergement",
    "Petite Enfance",
    "Seniors",
]
MAX_QUERY_LENGTH = 100
DRAFT_KEY_SESSION = "parvis.demarches.draft_key"  # ties anonymous drafts to the session
FILED_SESSION = "parvis.demarches.filed"  # {request id: tracking code not shown yet, or ""}
ROBOT_SESSION = "parvis.demarches.robot"  # drafts whose honeypot was filled at some step
MAX_FILED_IN_SESSION = 20  # the confirmations a session may show again
# Procedures filled in their own page, not through the wizard: slug → that page's URL name
# (« Créer une inscription » › « Dossier administratif », « Inscrire un enfant à une activité »).
OWN_PAGES = {
    DOSSIER_SLUG: "inscriptions:dossier_administratif",
    "inscription-activite": "activities:inscrire",
}


# --- Search --------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, without accents, typographic apostrophes made plain: « Électorales » and
    « electorales » fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _search_terms(query: str) -> list[str]:
    # A final « s » is dropped so that « actes » finds « acte » (each term is a substring).
    return [
        word[:-1] if len(word) > 3 and word.endswith("s") else word
        for word in re.findall(r"\w+", fold(query))
    ]


def matches(procedure: Procedure, terms: list[str]) -> bool:
    """Every term of the search appears in the procedure's title or keywords."""
    haystack = fold(f"{procedure.title} {procedure.keywords}")
    return all(term in haystack for term in terms)


# --- Who asks ------------------------------------------------------------------------------------


def _citizen(request):
    """The logged-in citizen of this commune, or None (anonymous, an agent, another commune's
    account: they file as anyone without an account)."""
    return request.user if is_citizen_of(request.user, request.commune) else None


def _login_url(request, next_url: str) -> str:
    login = reverse("accounts:connexion", kwargs={"commune": request.commune.slug})
    return f"{login}?{urlencode({'next': next_url})}"


def _session_draft_key(request, *, create: bool = False) -> str:
    key = request.session.get(DRAFT_KEY_SESSION, "")
    if not key and create:
        key = secrets.token_urlsafe(32)
        request.session[DRAFT_KEY_SESSION] = key
    return key


def _gate(request, procedure: Procedure):
    """The answer when this visitor may not go on with `procedure`'s wizard, else None: the
    login page for a procedure that needs an account, the first-login page, or the procedure's
    page (which says why) when the account may not file it."""
    citizen = _citizen(request)
    if procedure.audience != Audience.ANYONE:
        if citizen is None:
            next_url = request.get_full_path() if request.method == "GET" else _page_url(procedure)
            return redirect(_login_url(request, next_url))
        if citizen.must_choose_password:
            return redirect("accounts:premiere_connexion", commune=request.commune.slug)
        if not services.may_file(procedure, citizen):
            return redirect(_page_url(procedure))
    return None


# --- Lookups -------------------------------------------------------------------------------------


def _procedure(request, slug: str) -> Procedure:
    return get_object_or_404(
        offered_procedures(request.commune).select_related("commune", "service"), slug=slug
    )


def _owned(request) -> Q:
    """The requests of whoever asks: the citizen's own, and the anonymous drafts of this
    session."""
    citizen = _citizen(request)
    owner = Q(requester=citizen) if citizen is not None else Q(pk__in=[])
    key = _session_draft_key(request)
    if key:
        owner |= Q(requester=None, draft_key=key)
    return owner


def _draft(request, procedure: Procedure, pk: int) -> Demande:
    """The visitor's own draft of `procedure`; 404 for anyone else's, a submitted request or
    another commune's."""
    return get_object_or_404(
        Demande.objects.filter(_owned(request)),
        pk=pk,
        commune=request.commune,
        procedure=procedure,
        status=Status.BROUILLON,
    )


def _drafts_in_progress(request, procedure: Procedure) -> list[Demande]:
    if _citizen(request) is None and not _session_draft_key(request):
        return []
    return list(
        Demande.objects.filter(_owned(request))
        .filter(commune=request.commune, procedure=procedure, status=Status.BROUILLON)
        .order_by("-updated_at")[:3]
    )


def _members(request, procedure: Procedure) -> list[Member]:
    """The members of the citizen's households, for « member » fields (none asked otherwise)."""
    citizen = _citizen(request)
    definition = procedure.definition
    if citizen is None or not any(
        field["type"] == "member" for step in definition["steps"] for field in step["fields"]
    ):
        return []
    members = []
    for household in selectors_citizen.households(user=citizen, commune=request.commune):
        for person in [*household.responsables, *household.children]:
            members.append(Member(pk=person.pk, kind=person.kind, label=str(person)))
    return members


def _stored_documents(request, procedure: Procedure, step: int) -> list:
    """The documents of the citizen's families that a file field of `step` may join instead of
    a new file: neither refused nor expired (none asked when the step has no file field)."""
    citizen = _citizen(request)
    fields = procedure.definition["steps"][step - 1]["fields"]
    if citizen is None or not any(field["type"] == "file" for field in fields):
        return []
    today = timezone.localdate()
    return [
        document
        for store in selectors_documents.citizen_documents(user=citizen, commune=request.commune)
        for document in store.documents
        if document.state(today) not in (DocumentStatus.REFUSE, DocumentStatus.EXPIRE)
    ]


def _attached(demande: Demande) -> dict[str, list[str]]:
    """{file field: names of the files joined in the draft}."""
    attached: dict[str, list[str]] = {}
    for field_name, name in (
        demande.attachments.filter(message=None)
        .exclude(field_name="")
        .values_list("field_name", "original_name")
    ):
        attached.setdefault(field_name, []).append(name)
    return attached


# --- Addresses -----------------------------------------------------------------------------------


def _own_page_redirect(request, slug: str):
    """A procedure of OWN_PAGES is not filled through the wizard: its page, its steps and its
    summary lead to its own page (GET), nothing is created (POST); 404 while that page does not
    exist. None for any other procedure."""
    if slug not in OWN_PAGES:
        return None
    url = url_if_exists(OWN_PAGES[slug], request.commune.slug)
    if url is None:
        raise Http404
    return redirect(url)


def _page_url(procedure: Procedure) -> str:
    return reverse(
        "demarches:demarche", kwargs={"commune": procedure.commune.slug, "slug": procedure.slug}
    )


def step_url(demande: Demande, step: int) -> str:
    """A step of the wizard; past the last one, the summary."""
    kwargs = {"commune": demande.commune.slug, "slug": demande.procedure.slug, "pk": demande.pk}
    if step > len(demande.procedure.definition["steps"]):
        return reverse("demarches:recapitulatif", kwargs=kwargs)
    return reverse("demarches:etape", kwargs={**kwargs, "step": step})


def resume_url(demande: Demande) -> str:
    """Where a draft goes on (the dashboard links unfinished drafts here)."""
    return step_url(demande, demande.current_step)


def _confirmation_url(demande: Demande) -> str:
    return reverse(
        "demarches:confirmation",
        kwargs={"commune": demande.commune.slug, "slug": demande.procedure.slug, "pk": demande.pk},
    )


# --- Catalogue -----------------------------------------------------------------------------------


@dataclass
class Entry:
    procedure: Procedure
    url: str
    needs_login: bool


@dataclass
class Category:
    name: str
    anchor: str
    entries: list[Entry]


def _category_rank(name: str) -> tuple[int, str]:
    order = [fold(category) for category in CATEGORY_ORDER]
    folded = fold(name)
    return (order.index(folded), "") if folded in order else (len(order), folded)


@require_GET
def catalogue(request):
    """« Nouvelle démarche »: the commune's procedures by category, searched without regard to
    accents or case. One query for the procedures, whatever their number."""
    citizen = _citizen(request)
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    terms = _search_terms(query)
    procedures = offered_procedures(request.commune).only(
        "slug",
        "title",
        "category",
        "keywords",
        "description",
        "duration_minutes",
        "audience",
        "position",
        "commune",
    )
    by_category: dict[str, list[Entry]] = {}
    for procedure in procedures:
        if terms and not matches(procedure, terms):
            continue
        procedure.commune = request.commune
        if procedure.slug in OWN_PAGES:
            # Its own page, when it exists; hidden otherwise.
            url = url_if_exists(OWN_PAGES[procedure.slug], request.commune.slug)
            if url is None:
                continue
        else:
            url = _page_url(procedure)
        needs_login = procedure.audience != Audience.ANYONE and citizen is None
        by_category.setdefault(procedure.category, []).append(
            Entry(
                procedure=procedure,
                url=_login_url(request, url) if needs_login else url,
                needs_login=needs_login,
            )
        )
    names = sorted(by_category, key=_category_rank)
    categories = [
        Category(name=name, anchor=f"categorie-{n}", entries=by_category[name])
        for n, name in enumerate(names, start=1)
    ]
    return render(
        request,
        "demarches/citoyen/catalogue.html",
        {
            "categories": categories,
            "query": query,
            "count": sum(len(category.entries) for category in categories),
            "current_section": "demarches:catalogue",
        },
    )


# --- A procedure's page --------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def demarche(request, slug: str):
    """What the procedure asks and who may file it, and « Commencer » (a new draft)."""
    response = _own_page_redirect(request, slug)
    if response is not None:
        return response
    commune = request.commune
    procedure = _procedure(request, slug)
    citizen = _citizen(request)
    if request.method == "POST":
        response = _gate(request, procedure)
        if response is not None:
            return response
        draft = services.start_draft(
            procedure=procedure,
            user=citizen,
            draft_key="" if citizen is not None else _session_draft_key(request, create=True),
        )
        return redirect(step_url(draft, 1))
    needs_login = procedure.audience != Audience.ANYONE and citizen is None
    family_missing = (
        procedure.audience == Audience.FAMILY
        and citizen is not None
        and not FamilyAccess.objects.filter(user=citizen, commune=commune).exists()
    )
    return render(
        request,
        "demarches/citoyen/demarche.html",
        {
            "procedure": procedure,
            "documents": procedure.definition.get("documents", []),
            "steps": [step["title"] for step in procedure.definition["steps"]],
            "needs_login": needs_login,
            "login_url": _login_url(request, request.get_full_path()) if needs_login else "",
            "family_missing": family_missing,
            "key_labels": [
                service.key_label
                for service in selectors_citizen.key_services(commune=commune)
                if family_missing
            ],
            "keys_url": url_if_exists("accounts:modifier_espace", commune.slug),
            "may_start": not needs_login and not family_missing,
            "drafts": [
                (draft, resume_url(draft)) for draft in _drafts_in_progress(request, procedure)
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


def _step_form(
    request,
    demande: Demande,
    step: int,
    *,
    data=None,
    files=None,
    attached=None,
    documents=None,
):
    return StepForm(
        data=data,
        files=files,
        procedure=demande.procedure,
        step=step,
        answers=demande.answers,
        user=_citizen(request),
        members=_members(request, demande.procedure),
        attached=attached if attached is not None else _attached(demande),
        documents=(
            documents
            if documents is not None
            else _stored_documents(request, demande.procedure, step)
        ),
    )


@dataclass
class FieldItem:
    """A field of a step as the page shows it: the files already joined to a file field, and
    the group (a new file or a stored document) when the family's documents are offered."""

    field: forms.BoundField
    files: list[str]
    group: object = None
    choice: forms.BoundField | None = None


def _field_items(form: StepForm, attached: dict) -> list[FieldItem]:
    choices = set(form.document_fields.values())
    items = []
    for field in form.visible_fields():
        if field.name in choices:
            continue  # shown in its file field's group
        files = attached.get(field.name, []) if field.widget_type == "clearablefile" else []
        group = form.file_groups.get(field.name)
        items.append(
            FieldItem(
                field=field,
                files=files,
                group=group,
                choice=form[group.choice] if group else None,
            )
        )
    return items


def _render_step(request, demande: Demande, step: int, form: StepForm, attached: dict):
    definition_step = demande.procedure.definition["steps"][step - 1]
    fields = _field_items(form, attached)
    return render(
        request,
        "demarches/citoyen/etape.html",
        {
            **_wizard_context(demande, step),
            "step_title": definition_step["title"],
            "intro": definition_step.get("intro", ""),
            "form": form,
            "fields": fields,
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


def _valid_part(form: StepForm) -> dict:
    """The answers of a step sent with errors, without those in error."""
    in_error = {name.split("__", 1)[0] for name in form.errors}
    return {name: value for name, value in form.cleaned_answers().items() if name not in in_error}


@never_cache
@require_http_methods(["GET", "POST"])
def etape(request, slug: str, pk: int, step: int):
    """One step of the wizard: « Aller à l'étape N » keeps the answers and goes on, « Retour à
    l'étape précédente » keeps what is valid and goes back, « Annuler la démarche » deletes the
    draft."""
    response = _own_page_redirect(request, slug)
    if response is not None:
        return response
    procedure = _procedure(request, slug)
    response = _gate(request, procedure)
    if response is not None:
        return response
    demande = _draft(request, procedure, pk)
    demande.procedure, demande.commune = procedure, request.commune
    if step < 1:
        raise Http404
    if step > demande.current_step or step > len(procedure.definition["steps"]):
        return redirect(resume_url(demande))  # no skipping ahead; past the last: the summary
    attached = _attached(demande)
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
            answers=form.cleaned_answers() if valid else _valid_part(form),
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
        attached = _attached(demande)
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


def _as_data(procedure_step: dict, answers: dict) -> MultiValueDict:
    """A step's stored answers as the form data that would give them, to check them again."""
    data = MultiValueDict()
    for spec in procedure_step["fields"]:
        name, value = spec["name"], answers.get(spec["name"])
        if value is None or spec["type"] == "file":
            continue
        if spec["type"] == "address" and isinstance(value, dict):
            for part in ADDRESS_PARTS:
                data[f"{name}__{part}"] = value.get(part, "")
        elif spec["type"] == "member" and isinstance(value, dict):
            data[name] = str(value.get("id", ""))
        elif isinstance(value, list):
            data.setlist(name, [str(item) for item in value])
        else:
            data[name] = str(value)
    return data


def _first_step_to_complete(request, demande: Demande, attached: dict) -> int | None:
    """The first step whose stored answers no longer pass (an earlier answer changed what it
    asks, or the procedure changed), None when all do."""
    members = _members(request, demande.procedure)
    for number, procedure_step in enumerate(demande.procedure.definition["steps"], start=1):
        form = StepForm(
            data=_as_data(procedure_step, demande.answers),
            procedure=demande.procedure,
            step=number,
            answers=demande.answers,
            user=_citizen(request),
            members=members,
            attached=attached,
        )
        if not form.is_valid():
            return number
    return None


def _contact_initial(demande: Demande) -> dict:
    """The requester's name and e-mail when the steps already asked them: the fields an account
    would pre-fill with its own name and e-mail, else the first e-mail answer."""
    found: dict[str, str] = {}
    for spec in all_fields(demande.procedure.definition):
        value = demande.answers.get(spec["name"])
        if not value or not isinstance(value, str):
            continue
        found.setdefault(spec.get("prefill", ""), value)
        if spec["type"] == "email":
            found.setdefault("email", value)
    name = " ".join(filter(None, [found.get("user.first_name"), found.get("user.last_name")]))
    email = found.get("user.email") or found.get("email")
    return {
        key: value for key, value in (("contact_name", name), ("contact_email", email)) if value
    }


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
            "citizen": _citizen(request),
        },
        status=status,
    )


def _filed(request) -> dict:
    return request.session.get(FILED_SESSION, {})


@never_cache
@require_http_methods(["GET", "POST"])
def recapitulatif(request, slug: str, pk: int):
    """The summary: every answer with « Modifier » per step, the requester's name and e-mail
    when without an account, and « Valider »."""
    response = _own_page_redirect(request, slug)
    if response is not None:
        return response
    procedure = _procedure(request, slug)
    response = _gate(request, procedure)
    if response is not None:
        return response
    if (
        str(pk) in _filed(request)
        and not Demande.objects.filter(pk=pk, status=Status.BROUILLON).exists()
    ):
        return redirect(  # sent twice (a double click): the first one went through
            "demarches:confirmation", commune=request.commune.slug, slug=slug, pk=pk
        )
    demande = _draft(request, procedure, pk)
    demande.procedure, demande.commune = procedure, request.commune
    steps = len(procedure.definition["steps"])
    if demande.current_step <= steps:
        return redirect(resume_url(demande))
    attached = _attached(demande)
    to_complete = _first_step_to_complete(request, demande, attached)
    if to_complete is not None:
        messages.warning(request, _("Cette étape est à compléter avant de valider la demande."))
        return redirect(step_url(demande, to_complete))
    attachments = list(demande.attachments.filter(message=None))
    anonymous = demande.requester_id is None
    asked = contact_from_steps(procedure.definition, demande.answers) if anonymous else {}
    if request.method == "GET":
        contact_form = (
            ContactForm(initial=_contact_initial(demande), asked=asked) if anonymous else None
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
    if anonymous and services.anonymous_rate_limited(commune=request.commune, ip=ip):
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
    return redirect(_confirmation_url(demande))


@never_cache
@require_GET
def confirmation(request, slug: str, pk: int):
    """The number, the procedure's confirmation text and, without an account, the tracking code
    (shown once: it is kept only as a digest) and where to follow the request."""
    commune = request.commune
    filed = _filed(request)
    citizen = _citizen(request)
    owner = Q(requester=citizen) if citizen is not None else Q(pk__in=[])
    if str(pk) in filed:
        owner |= Q(requester=None)
    demande = get_object_or_404(
        Demande.objects.select_related("procedure").filter(owner).exclude(number=""),
        pk=pk,
        commune=commune,
        procedure__slug=slug,
    )
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
            "confirmation_text": demande.procedure.definition.get("confirmation", ""),
            "tracking_url": url_if_exists("demarches:suivi", commune.slug),
            "dashboard_url": url_if_exists("demarches:tableau_de_bord", commune.slug),
            "current_section": "demarches:catalogue",
        },
    )


# --- Addresses -----------------------------------------------------------------------------------


@cache
def _reserved_segments() -> frozenset[str]:
    """The fixed first segments of the other pages under /<commune>/demarches/ (« suivi »…),
    which are never a procedure's slug: those pages are found whatever the order of inclusion."""
    from parvis.demarches import views_suivi

    segments = set()
    for pattern in views_suivi.urlpatterns:
        first = str(pattern.pattern).lstrip("^").split("/", 1)[0]
        if first and "<" not in first and "(" not in first:
            segments.add(first)
    return frozenset(segments)


class ProcedureSlugConverter(SlugConverter):
    def to_python(self, value):
        if value in _reserved_segments():
            raise ValueError(value)
        return value


register_converter(ProcedureSlugConverter, "demarche")

urlpatterns = [
    path("", catalogue, name="catalogue"),
    path("<demarche:slug>/", demarche, name="demarche"),
    path("<demarche:slug>/<int:pk>/etape-<int:step>/", etape, name="etape"),
    path("<demarche:slug>/<int:pk>/recapitulatif/", recapitulatif, name="recapitulatif"),
    path("<demarche:slug>/<int:pk>/confirmation/", confirmation, name="confirmation"),
]
