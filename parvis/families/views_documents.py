"""The family's secure storage (« porte-documents »), under /<commune>/mon-espace/documents/:
the list of the documents of every household the account is linked to, adding one, and, for
each document, downloading, renaming and deleting it.

Thin views: reads through parvis.families.selectors_documents and selectors_citizen, scoped to
the commune of the URL and to the logged-in citizen; writes through
parvis.families.services_documents. Every URL that names a document answers 404 — not a login
redirect — to anyone but an account linked to the document's family in this commune: an
anonymous visitor, another family, another commune, another commune's document under this
commune's address. Nothing tells them the document exists."""

from __future__ import annotations

import re
import unicodedata
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.decorators import citizen_required, is_citizen_of
from parvis.communes.links import url_if_exists
from parvis.families import selectors_citizen, selectors_documents
from parvis.families.forms_documents import WHOLE_HOUSEHOLD, DocumentForm, RenameForm
from parvis.families.models import DocumentStatus, DocumentType, MemberKind
from parvis.families.services_documents import (
    EXTENSIONS,
    delete_document,
    family_quota,
    rename_document,
    store_document,
)

FILENAME_MAX_LENGTH = 100
# Characters no file name should hold on any system, and the controls (a header's end of line).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def download_filename(label: str, content_type: str) -> str:
    """The name a download is saved under: the document's name, without what a file system or a
    header would misread, with the extension of its checked content."""
    extension = EXTENSIONS.get(content_type, "bin")
    name = unicodedata.normalize("NFC", label or "")
    name = _UNSAFE.sub(" ", name)
    name = " ".join(name.split()).strip(" .")
    if name.lower().endswith(f".{extension}"):
        name = name[: -len(extension) - 1].rstrip(" .")
    name = name[:FILENAME_MAX_LENGTH].rstrip(" .") or _("document")
    return f"{name}.{extension}"


def _porte_documents_url(request, fragment: str = "") -> str:
    url = reverse("families:porte_documents", kwargs={"commune": request.commune.slug})
    return f"{url}#{fragment}" if fragment else url


def document_view(*methods: str):
    """For the URLs of one document: 404 unless a citizen of this commune linked to the
    document's family asks (checked before anything else, the HTTP method included), then
    `view(request, document)`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, pk, *args, **kwargs):
            if not is_citizen_of(request.user, request.commune):
                raise Http404(_("Ce document n'existe pas."))
            document = selectors_documents.citizen_document(
                user=request.user, commune=request.commune, pk=pk
            )
            if document is None:
                raise Http404(_("Ce document n'existe pas."))
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            if request.user.must_choose_password:
                return redirect("accounts:premiere_connexion", commune=request.commune.slug)
            return view(request, document, *args, **kwargs)

        return wrapper

    return decorator


# --- The list -------------------------------------------------------------------------------------


class Row:
    """A document as the list shows it: its state today (« expiré » is never stored)."""

    def __init__(self, document, today):
        self.document = document
        self.state = document.state(today)
        self.state_label = DocumentStatus(self.state).label

    @property
    def is_refused(self) -> bool:
        return self.state == DocumentStatus.REFUSE

    @property
    def is_expired(self) -> bool:
        return self.state == DocumentStatus.EXPIRE


def _document_form(request, households, data=None, files=None) -> DocumentForm:
    initial = {}
    doc_type = request.GET.get("type")
    if doc_type in DocumentType.values:
        initial["doc_type"] = doc_type
    foyer = request.GET.get("foyer")
    for household in households:
        if str(household.famille.number) == foyer:
            initial["famille"] = household.famille.pk
    personne = request.GET.get("personne")
    if personne:
        initial["personne"] = personne
    return DocumentForm(data, files, households=households, initial=initial)


@never_cache
@require_GET
@citizen_required
def porte_documents(request):
    user, commune = request.user, request.commune
    today = timezone.localdate()
    stores = selectors_documents.citizen_documents(user=user, commune=commune)
    quota = family_quota()
    families = [
        {
            "famille": store.famille,
            "rows": [Row(document, today) for document in store.documents],
            "used": store.used,
            "quota": quota,
            "percent": min(100, round(store.used * 100 / quota)) if quota else 100,
        }
        for store in stores
    ]
    # The form needs the households' members only: citizen_documents already read them.
    households = [
        selectors_citizen.Household(
            famille=store.famille,
            responsables=[m for m in store.members if m.kind != MemberKind.ENFANT],
            children=[m for m in store.members if m.kind == MemberKind.ENFANT],
        )
        for store in stores
    ]
    return render(
        request,
        "families/documents/porte_documents.html",
        {
            "families": families,
            "form": _document_form(request, households) if households else None,
            "accueil_url": url_if_exists("accounts:accueil", commune.slug),
            "dossier_url": url_if_exists("inscriptions:index", commune.slug),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def document_ajouter(request):
    user, commune = request.user, request.commune
    households = selectors_citizen.households(user=user, commune=commune)
    form = None
    if households:
        if request.method == "POST":
            form = _document_form(request, households, request.POST, request.FILES)
            if form.is_valid():
                try:
                    document = store_document(actor=user, **form.store_arguments())
                except ValidationError as error:
                    form.add_service_error(error)
                else:
                    messages.success(
                        request,
                        _("« %(label)s » est déposé dans votre espace de stockage sécurisé.")
                        % {"label": document.label},
                    )
                    return redirect(_porte_documents_url(request, f"document-{document.pk}"))
        else:
            form = _document_form(request, households)
    return render(
        request,
        "families/documents/document_ajouter.html",
        {
            "form": form,
            "back_url": _porte_documents_url(request),
            "dossier_url": url_if_exists("inscriptions:index", commune.slug),
            "whole_household": WHOLE_HOUSEHOLD,
        },
    )


# --- One document ---------------------------------------------------------------------------------


@document_view("GET")
def document_telecharger(request, document):
    """The file, always as an attachment (never shown inline), typed from its checked content,
    named after the document."""
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as error:
        raise Http404(_("Ce fichier n'est plus disponible.")) from error
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=download_filename(document.label, document.content_type),
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@never_cache
@document_view("GET", "POST")
def document_renommer(request, document):
    if request.method == "POST":
        form = RenameForm(request.POST)
        if form.is_valid():
            old = document.label
            rename_document(document=document, actor=request.user, label=form.cleaned_data["label"])
            if document.label != old:
                messages.success(
                    request,
                    _("Le document « %(old)s » s'appelle désormais « %(new)s ».")
                    % {"old": old, "new": document.label},
                )
            return redirect(_porte_documents_url(request, f"document-{document.pk}"))
    else:
        form = RenameForm(initial={"label": document.label})
    return render(
        request,
        "families/documents/document_renommer.html",
        {"form": form, "document": document, "back_url": _porte_documents_url(request)},
    )


@never_cache
@document_view("GET", "POST")
def document_supprimer(request, document):
    """GET: what deleting means (a validated document: the services validated it), and the
    button. POST: the deletion."""
    if request.method == "POST":
        label = document.label
        delete_document(document=document, actor=request.user)
        messages.success(
            request,
            _("« %(label)s » est supprimé de votre espace de stockage sécurisé.")
            % {"label": label},
        )
        return redirect(_porte_documents_url(request))
    today = timezone.localdate()
    return render(
        request,
        "families/documents/document_supprimer.html",
        {
            "document": document,
            "row": Row(document, today),
            "is_validated": document.status == DocumentStatus.VALIDE,
            "back_url": _porte_documents_url(request),
        },
    )
