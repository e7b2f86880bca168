"""Following one's requests, under /<commune>/demarches/:

* « Tableau de bord de mes demandes » (mes-demandes/): an account's requests, drafts included,
  filterable by status; each request's page with its answers, files, history and messages, where
  the requester answers a « complément demandé » (with a file) or writes to the service;
* the follow-up without an account (suivi/): the request's number and tracking code open, for
  this browser session only and for an hour, the request's page.

Thin views: reads through parvis.demarches.selectors, scoped to the commune of the URL and to who
asks (the account, or the session that proved the code); writes through the services. Another
person's request, or another commune's, is a 404, the same as a request that does not exist."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.decorators import citizen_required
from parvis.accounts.services import client_ip
from parvis.communes.links import url_if_exists
from parvis.demarches import selectors, services
from parvis.demarches.forms import display_answers
from parvis.demarches.forms_suivi import DashboardFilterForm, MessageForm, TrackingForm
from parvis.demarches.models import Status

# The anonymous requests this session proved the code of: {str(pk): when (epoch seconds)}.
SUIVI_SESSION_KEY = "parvis_demarches_suivi"
SUIVI_PROOF_MAX_AGE = 60 * 60  # a shared computer does not keep the request open for weeks
SUIVI_MAX_PROOFS = 10
LOCKED = gettext_lazy("Trop d'essais, réessayez dans 15 minutes.")


# --- Tableau de bord de mes demandes -------------------------------------------------------------


@never_cache
@require_GET
@citizen_required
def tableau_de_bord(request):
    commune = request.commune
    form = DashboardFilterForm(request.GET or None)
    status = form.status()
    rows = selectors.dashboard(user=request.user, commune=commune, status=status)
    return render(
        request,
        "demarches/tableau/tableau_de_bord.html",
        {
            "form": form,
            "rows": rows,
            "status": status,
            "status_label": Status(status).label if status else "",
            "catalogue_url": url_if_exists("demarches:catalogue", commune.slug),
            "accueil_url": url_if_exists("accounts:accueil", commune.slug),
        },
    )


def _message_form(request, demande):
    """The requester's form on an open request (None once it is closed); bound on POST."""
    if not selectors.is_open(demande):
        return None
    complement = demande.status == Status.COMPLEMENT
    if request.method == "POST":
        return MessageForm(request.POST, request.FILES, complement=complement)
    return MessageForm(complement=complement)


def _post_message(request, demande, form, *, author) -> bool:
    """Send the requester's message through the services; False (with the reason on the form or
    in the messages) when it could not be."""
    was_complement = demande.status == Status.COMPLEMENT
    try:
        services.post_message(
            demande=demande,
            body=form.cleaned_data["message"],
            author=author,
            from_requester=True,
            files=form.uploads(),
        )
    except ValidationError as error:  # the file, checked again by the services
        form.add_error("fichier", error)
        return False
    except services.NotAllowed:
        messages.error(request, _("Cette demande est close : vous ne pouvez plus y écrire."))
        return True
    if was_complement:
        messages.success(
            request,
            _(
                "Votre réponse est envoyée au service : votre demande est de nouveau en cours "
                "d'instruction."
            ),
        )
    else:
        messages.success(request, _("Votre message est envoyé au service."))
    return True


def _page_context(demande, form) -> dict:
    events = list(demande.events.all())
    complement = demande.status == Status.COMPLEMENT
    return {
        "demande": demande,
        "procedure": demande.procedure,
        "events": events,
        "thread": list(demande.messages.all()),
        "form": form,
        "complement": complement,
        # What the service asked for: the comment of the latest « complément demandé ».
        "complement_request": next(
            (e for e in reversed(events) if e.to_status == Status.COMPLEMENT), None
        )
        if complement
        else None,
        "is_closed": not selectors.is_open(demande),
    }


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def ma_demande(request, number: str):
    commune = request.commune
    demande = selectors.request_of_account(user=request.user, commune=commune, number=number)
    if demande is None:
        raise Http404(_("Aucune de vos demandes ne porte ce numéro."))
    here = reverse("demarches:ma_demande", kwargs={"commune": commune.slug, "number": number})
    form = _message_form(request, demande)
    if request.method == "POST":
        if form is None:
            messages.error(request, _("Cette demande est close : vous ne pouvez plus y écrire."))
            return redirect(here)
        if form.is_valid() and _post_message(request, demande, form, author=request.user):
            return redirect(here)
    return render(
        request,
        "demarches/tableau/ma_demande.html",
        {
            **_page_context(demande, form),
            "sections": display_answers(
                demande.definition, demande.answers, demande.answer_attachments
            ),
            "answer_files": demande.answer_attachments,
            "tableau_url": reverse("demarches:tableau_de_bord", kwargs={"commune": commune.slug}),
        },
    )


@never_cache
@require_GET
@citizen_required
def piece_jointe(request, number: str, pk: int):
    """A file of one's own request, always downloaded (never shown inline), typed from its
    checked content."""
    attachment = selectors.attachment_of_account(
        user=request.user, commune=request.commune, number=number, pk=pk
    )
    if attachment is None:
        raise Http404(_("Aucune pièce jointe de vos demandes ne porte ce numéro."))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as error:
        raise Http404(_("Ce fichier n'est plus disponible.")) from error
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Suivi sans compte ----------------------------------------------------------------------------


def _proofs(request) -> dict[str, float]:
    """The live proofs of this session (the expired ones dropped)."""
    now = time.time()
    proofs = request.session.get(SUIVI_SESSION_KEY) or {}
    return {pk: at for pk, at in proofs.items() if now - at < SUIVI_PROOF_MAX_AGE}


def _remember(request, demande) -> None:
    proofs = _proofs(request)
    proofs[str(demande.pk)] = time.time()
    newest = sorted(proofs.items(), key=lambda item: item[1])[-SUIVI_MAX_PROOFS:]
    request.session[SUIVI_SESSION_KEY] = dict(newest)
    # A new session key once the code is proven: a session id known before gives nothing.
    request.session.cycle_key()


def _suivi_url(commune, number: str = "") -> str:
    url = reverse("demarches:suivi", kwargs={"commune": commune.slug})
    return f"{url}?{urlencode({'numero': number})}" if number else url


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def suivi(request):
    commune = request.commune
    if request.method == "POST":
        form = TrackingForm(request.POST)
    else:
        form = TrackingForm(initial={"numero": request.GET.get("numero", "")[:40]})
    if form.is_valid():
        try:
            demande = services.find_tracked(
                commune=commune,
                number=form.cleaned_data["numero"],
                code=form.cleaned_data["code"],
                ip=client_ip(request),
            )
        except services.NotAllowed:
            form.add_error(None, LOCKED)
        else:
            if demande is not None:
                _remember(request, demande)
                return redirect(
                    "demarches:suivi_demande", commune=commune.slug, number=demande.number
                )
            if services.tracking_locked(commune=commune, ip=client_ip(request)):
                # The failure that reaches the limit already says so, as the login does.
                form.add_error(None, LOCKED)
            else:
                # The same words whatever was wrong: nothing tells which numbers exist.
                form.add_error(
                    None,
                    _(
                        "Ce numéro et ce code de suivi ne correspondent à aucune demande. "
                        "Vérifiez-les dans le courriel reçu au dépôt de votre demande."
                    ),
                )
    return render(request, "demarches/suivi/suivi.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def suivi_demande(request, number: str):
    commune = request.commune
    demande = selectors.tracked_request(
        commune=commune, number=number, proven_ids=[int(pk) for pk in _proofs(request)]
    )
    if demande is None:
        # Not proven by this session (or no longer): the same way back whatever the number.
        return redirect(_suivi_url(commune, number))
    here = reverse("demarches:suivi_demande", kwargs={"commune": commune.slug, "number": number})
    form = _message_form(request, demande)
    if request.method == "POST":
        if form is None:
            messages.error(request, _("Cette demande est close : vous ne pouvez plus y écrire."))
            return redirect(here)
        if form.is_valid() and _post_message(request, demande, form, author=None):
            return redirect(here)
    return render(
        request,
        "demarches/suivi/suivi_demande.html",
        {
            **_page_context(demande, form),
            "quitter_url": reverse(
                "demarches:suivi_quitter", kwargs={"commune": commune.slug, "number": number}
            ),
        },
    )


@require_POST
def suivi_quitter(request, number: str):
    """« Fermer le suivi sur cet appareil »: this session forgets the request."""
    commune = request.commune
    proofs = _proofs(request)
    demande = selectors.tracked_request(
        commune=commune, number=number, proven_ids=[int(pk) for pk in proofs]
    )
    if demande is not None:
        proofs.pop(str(demande.pk), None)
        request.session[SUIVI_SESSION_KEY] = proofs
        messages.success(request, _("Le suivi de cette demande est fermé sur cet appareil."))
    return redirect(_suivi_url(commune))


urlpatterns = [
    path("mes-demandes/", tableau_de_bord, name="tableau_de_bord"),
    path("mes-demandes/<str:number>/", ma_demande, name="ma_demande"),
    path("mes-demandes/<str:number>/pieces/<int:pk>/", piece_jointe, name="piece_jointe"),
    path("suivi/", suivi, name="suivi"),
    path("suivi/<str:number>/", suivi_demande, name="suivi_demande"),
    path("suivi/<str:number>/quitter/", suivi_quitter, name="suivi_quitter"),
]
