"""The agents' guichet, under /<commune>/guichet/: login, search, family files, keys, code
famille. Thin views: reads from selectors, writes through services, permissions in
`permissions`."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth import logout
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts import services as account_services
from parvis.accounts.agents import (
    REGIE_ROLES,
    agent_of,
    agent_required,
    family_editor_required,
    forbidden,
)
from parvis.activities import custody
from parvis.backoffice.forms import (
    AgentLoginForm,
    AuthorisedPersonForm,
    FamilleForm,
    MemberForm,
    SearchForm,
    ServiceKeyForm,
)
from parvis.backoffice.journal import present_all
from parvis.backoffice.selectors import agent_key_services
from parvis.communes.links import safe_next, url_if_exists
from parvis.demarches.guichet import selectors_documents
from parvis.families import selectors
from parvis.families import services as family_services
from parvis.families.models import AuthorisedPerson, MemberKind, Personne
from parvis.mail import absolute_url

RESULTS_PER_PAGE = 20
JOURNAL_LENGTH = 100
MEMBER_KINDS = {"responsable": MemberKind.RESPONSABLE, "enfant": MemberKind.ENFANT}


def _famille_url(famille) -> str:
    return reverse("backoffice:famille", args=[famille.commune.slug, famille.number])


# --- Login ---------------------------------------------------------------------------------------


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    return safe_next(
        request, target, within=reverse("backoffice:accueil", args=[request.commune.slug])
    )


@never_cache
@require_http_methods(["GET", "POST"])
def connexion(request):
    commune = request.commune
    if request.method == "GET" and agent_of(request.user, commune) is not None:
        return redirect(_safe_next(request) or reverse("backoffice:accueil", args=[commune.slug]))
    form = AgentLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = account_services.attempt_agent_login(
            request=request,
            commune=commune,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if result.user is not None:
            account_services.log_in_agent(request, result.user)
            if result.failed_attempts:
                messages.warning(request, _failed_attempts_notice(result))
            return redirect(
                _safe_next(request) or reverse("backoffice:accueil", args=[commune.slug])
            )
        if result.locked_until is not None:
            form.add_error(None, account_services.staff_retry_message(result.locked_until))
        else:
            form.add_error(None, _("Identifiant ou mot de passe incorrect."))
    return render(
        request,
        "backoffice/connexion.html",
        {"form": form, "next": _safe_next(request) or "", "nav_entries": []},
    )


def _failed_attempts_notice(result) -> str:
    last = timezone.localtime(result.last_failed_at)
    return _(
        "Des tentatives de connexion ont échoué sur votre compte depuis votre dernière "
        "connexion : %(count)d essais d'une autre adresse que celle de cette connexion, le "
        "dernier le %(date)s à %(time)s. Si ce n'était pas vous, prévenez l'administrateur "
        "de la commune."
    ) % {
        "count": result.failed_attempts,
        "date": formats.date_format(last, "d/m/Y"),
        "time": formats.time_format(last, "H:i"),
    }


@require_POST
def deconnexion(request):
    logout(request)
    messages.info(request, _("Vous êtes déconnecté du guichet."))
    return redirect("backoffice:connexion", commune=request.commune.slug)


# --- Search and family file ---------------------------------------------------------------------


@agent_required
@require_GET
def accueil(request):
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    paginator = Paginator(selectors.search_familles(request.commune, query), RESULTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "backoffice/accueil.html",
        {"form": form, "query": query, "page": page},
    )


def _key_form(request, famille, services_qs, data=None):
    return ServiceKeyForm(
        data,
        services=services_qs,
        initial={"send_to": selectors.first_responsable_email(famille)},
        prefix="cle",
    )


@agent_required
@require_GET
def famille(request, number: int):
    famille = selectors.famille_file(request.commune, number)
    key_services = agent_key_services(request.commune, request.agent)
    family_code_user = next(
        (a.user for a in famille.accesses.all() if a.user.family_code == famille.reference), None
    )
    return render(
        request,
        "backoffice/famille.html",
        {
            "famille": famille,
            "key_form": _key_form(request, famille, key_services)
            if key_services is not None
            else None,
            "covered_key_ids": {
                key.pk for key in famille.keys.all() if request.agent.covers(key.service)
            },
            "family_code_user": family_code_user,
            "journal": present_all(selectors.famille_journal(famille, limit=JOURNAL_LENGTH)),
            "journal_length": JOURNAL_LENGTH,
            "papers": selectors_documents.family_papers(famille, request.agent),
            "today": timezone.localdate(),
            "is_regie": bool(request.agent.roles & REGIE_ROLES),
            "custodies": custody.custodies_of(famille),
        },
    )


# --- Writes on the family file ------------------------------------------------------------------


@family_editor_required
@require_http_methods(["GET", "POST"])
def famille_creer(request):
    form = FamilleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        famille = family_services.create_famille(
            commune=request.commune, actor=request.user, **form.cleaned_data
        )
        messages.success(
            request,
            _("Le dossier %(reference)s de la famille %(name)s est créé.")
            % {"reference": famille.reference, "name": famille.name},
        )
        return redirect(_famille_url(famille))
    return render(request, "backoffice/famille_form.html", {"form": form, "famille": None})


@family_editor_required
@require_http_methods(["GET", "POST"])
def famille_modifier(request, number: int):
    famille = selectors.famille_by_number(request.commune, number)
    # The form works on a copy: `famille` keeps the old values for the journal.
    form = FamilleForm(request.POST or None, instance=copy.copy(famille))
    if request.method == "POST" and form.is_valid():
        family_services.update_famille(famille=famille, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Le dossier est enregistré."))
        return redirect(_famille_url(famille))
    return render(request, "backoffice/famille_form.html", {"form": form, "famille": famille})


@family_editor_required
@require_http_methods(["GET", "POST"])
def membre_ajouter(request, number: int, kind: str):
    if kind not in MEMBER_KINDS:
        raise Http404
    famille = selectors.famille_by_number(request.commune, number)
    instance = Personne(commune=famille.commune, famille=famille, kind=MEMBER_KINDS[kind])
    form = MemberForm(
        request.POST or None,
        instance=instance,
        kind=kind,
        initial={"last_name": famille.name},
    )
    if request.method == "POST" and form.is_valid():
        personne = family_services.add_member(
            famille=famille, actor=request.user, kind=MEMBER_KINDS[kind], **form.cleaned_data
        )
        messages.success(
            request, _("%(name)s fait désormais partie du foyer.") % {"name": personne}
        )
        return redirect(_famille_url(famille))
    heading = _("Ajouter un responsable") if kind == "responsable" else _("Ajouter un enfant")
    return render(
        request,
        "backoffice/famille_element_form.html",
        {"form": form, "famille": famille, "heading": heading},
    )


@family_editor_required
@require_http_methods(["GET", "POST"])
def membre_modifier(request, number: int, pk: int):
    famille = selectors.famille_by_number(request.commune, number)
    personne = selectors.member_of(famille, pk)
    form = MemberForm(request.POST or None, instance=copy.copy(personne), kind=personne.kind)
    if request.method == "POST" and form.is_valid():
        family_services.update_member(personne=personne, actor=request.user, **form.cleaned_data)
        messages.success(
            request, _("Les informations de %(name)s sont enregistrées.") % {"name": personne}
        )
        return redirect(_famille_url(famille))
    return render(
        request,
        "backoffice/famille_element_form.html",
        {"form": form, "famille": famille, "heading": _("Modifier %(name)s") % {"name": personne}},
    )


@family_editor_required
@require_http_methods(["GET", "POST"])
def personne_autorisee_ajouter(request, number: int):
    famille = selectors.famille_by_number(request.commune, number)
    instance = AuthorisedPerson(commune=famille.commune, famille=famille)
    form = AuthorisedPersonForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        person = family_services.add_authorised_person(
            famille=famille, actor=request.user, **form.cleaned_data
        )
        messages.success(
            request, _("%(name)s peut désormais récupérer les enfants.") % {"name": person}
        )
        return redirect(_famille_url(famille))
    heading = _("Ajouter une personne autorisée à récupérer les enfants")
    return render(
        request,
        "backoffice/famille_element_form.html",
        {"form": form, "famille": famille, "heading": heading},
    )


@family_editor_required
@require_http_methods(["GET", "POST"])
def personne_autorisee_modifier(request, number: int, pk: int):
    famille = selectors.famille_by_number(request.commune, number)
    person = selectors.authorised_person_of(famille, pk)
    form = AuthorisedPersonForm(request.POST or None, instance=copy.copy(person))
    if request.method == "POST" and form.is_valid():
        family_services.update_authorised_person(
            person=person, actor=request.user, **form.cleaned_data
        )
        messages.success(
            request, _("Les informations de %(name)s sont enregistrées.") % {"name": person}
        )
        return redirect(_famille_url(famille))
    return render(
        request,
        "backoffice/famille_element_form.html",
        {"form": form, "famille": famille, "heading": _("Modifier %(name)s") % {"name": person}},
    )


@family_editor_required
@require_POST
def personne_autorisee_retirer(request, number: int, pk: int):
    famille = selectors.famille_by_number(request.commune, number)
    person = selectors.authorised_person_of(famille, pk)
    family_services.remove_authorised_person(person=person, actor=request.user)
    messages.success(
        request, _("%(name)s ne figure plus parmi les personnes autorisées.") % {"name": person}
    )
    return redirect(_famille_url(famille))


# --- Service keys --------------------------------------------------------------------------------


@agent_required
@never_cache
@require_http_methods(["GET", "POST"])
def cle_generer(request, number: int):
    """GET: the form alone (the family file shows it too). POST: a new key, shown once on the
    response itself — never in a URL, a session or a message — and e-mailed if asked."""
    famille = selectors.famille_by_number(request.commune, number)
    key_services = agent_key_services(request.commune, request.agent)
    if key_services is None:
        return forbidden(request, _("Aucun service dont vous avez la charge ne remet de clé."))
    data = request.POST if request.method == "POST" else None
    form = _key_form(request, famille, key_services, data)
    if request.method == "POST" and form.is_valid():
        service = form.cleaned_data["service"]
        send_to = form.cleaned_data["send_to"]
        service_key, key = family_services.generate_service_key(
            famille=famille, service=service, actor=request.user, send_to=send_to
        )
        return render(
            request,
            "backoffice/cle_generee.html",
            {"famille": famille, "service_key": service_key, "key": key, "send_to": send_to},
        )
    return render(request, "backoffice/cle_form.html", {"famille": famille, "form": form})


@agent_required
@require_POST
def cle_revoquer(request, number: int, pk: int):
    famille = selectors.famille_by_number(request.commune, number)
    service_key = selectors.key_of(famille, pk)
    if not request.agent.covers(service_key.service):
        return forbidden(
            request, _("Cette clé relève d'un service dont vous n'avez pas la charge.")
        )
    if service_key.is_usable:
        family_services.revoke_service_key(service_key=service_key, actor=request.user)
        messages.success(
            request,
            _("La clé se terminant par %(hint)s est révoquée : elle ne peut plus servir.")
            % {"hint": service_key.hint},
        )
    else:
        messages.info(request, _("Cette clé ne pouvait déjà plus servir."))
    return redirect(_famille_url(famille))


# --- Code famille --------------------------------------------------------------------------------


@family_editor_required
@never_cache
@require_POST
def code_famille(request, number: int):
    """The code famille and a new temporary password, on a printable letter. The password is
    shown on this response only."""
    if not request.commune.login_with_family_code:
        raise Http404
    famille = selectors.famille_by_number(request.commune, number)
    credentials = family_services.create_family_code_credentials(
        famille=famille, actor=request.user
    )
    login_path = url_if_exists("accounts:connexion", request.commune.slug)
    return render(
        request,
        "backoffice/lettre_code_famille.html",
        {
            "famille": famille,
            "credentials": credentials,
            "today": timezone.localdate(),
            "login_url": absolute_url(login_path or f"/{request.commune.slug}/connexion/"),
        },
    )
