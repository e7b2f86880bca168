"""« Créer une inscription » and the administrative file (« Dossier administratif »), under
/<commune>/mon-espace/inscriptions/, as the seed says: « 1. Cliquez sur « Créer une inscription »
2. Cliquez sur « Dossier administratif » 3. Insérez les documents ».

* index: what the family can create. Each entry comes from a function of OFFERS (today the
  administrative file, with its state for each school year the commune has set); the activities'
  inscriptions add theirs to that list.
* dossier_administratif (?annee=2026, default the latest year the commune has set; &famille=<n°>
  for an account linked to several families): the checklist of the year, a document inserted
  right into a slot (stored in the family's « espace de stockage sécurisé » through
  families.services_documents.store_document), the file's state, and « Valider ».
* valider: files the request (demarches.services_dossier.file_dossier); transmis/<number>/: its
  confirmation.

Thin views: the reads are the families' and démarches' selectors, scoped to the commune of the
URL and to the families the account is linked to (anything else: 404); the writes are services.
Constant number of queries whatever the number of requirements, members or documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.decorators import citizen_required
from parvis.communes.links import url_if_exists
from parvis.demarches import selectors, selectors_dossier
from parvis.demarches import services as demarches_services
from parvis.demarches.forms_dossier import InsertDocumentForm
from parvis.demarches.models import CLOSED, Status
from parvis.demarches.services_dossier import DOSSIER_SLUG, DossierNotReady, file_dossier
from parvis.families import services_api_particulier
from parvis.families.documents import (
    SlotState,
    dossier_state,
    school_year_label,
)
from parvis.families.models import DocumentStatus, DocumentType
from parvis.families.selectors_citizen import _linked_families, households, key_services
from parvis.families.selectors_documents import dossier, dossier_years
from parvis.families.services_documents import store_document
from parvis.ids import parse_id

# How a slot's state reads: a symbol (hidden from screen readers) and always the words.
SLOT_DISPLAY = {
    SlotState.VALIDE: ("✓", gettext_lazy("valide")),
    SlotState.A_VALIDER: ("⏳", gettext_lazy("à valider")),
    SlotState.MANQUANT: ("✗", gettext_lazy("manquant")),
}
FILE_SYMBOLS = {"complet": "✓", "a_valider": "⏳", "incomplet": "✗"}


# --- « Créer une inscription » --------------------------------------------------------------------


@dataclass
class OfferLine:
    """One line under an entry: a school year's file of one family, an activity…"""

    label: str
    url: str
    state: str = ""
    state_label: str = ""
    symbol: str = ""


@dataclass
class Offer:
    """One thing a family can create from « Créer une inscription »."""

    title: str
    description: str
    url: str | None = None
    lines: list[OfferLine] = field(default_factory=list)
    empty_text: str = ""


def _dossier_url(commune, *, year: int | None = None, famille=None, several: bool = False) -> str:
    url = reverse("inscriptions:dossier_administratif", kwargs={"commune": commune.slug})
    query = {}
    if year is not None:
        query["annee"] = year
    if famille is not None and several:
        query["famille"] = famille.number
    return f"{url}?{urlencode(query)}" if query else url


def dossier_offer(request, household_list, today) -> Offer | None:
    """« Dossier administratif », with the state of each family's file for every school year the
    commune has set: six queries in all, whatever the number of years, families or documents."""
    commune = request.commune
    years = dossier_years(commune=commune, today=today)
    several = len(household_list) > 1
    offer = Offer(
        title=_("Dossier administratif"),
        description=_(
            "Joignez l'avis d'imposition et les autres documents administratifs que la commune "
            "demande pour chaque année scolaire."
        ),
        url=_dossier_url(commune),
        empty_text=_(
            "La commune n'a pas encore fixé la liste des documents de l'année scolaire : "
            "revenez plus tard."
        ),
    )
    if not years:
        return offer
    requirements = selectors_dossier.requirements(commune=commune, years=years)
    ids = [h.famille.pk for h in household_list]
    documents = selectors_dossier.documents_of_families(commune=commune, famille_ids=ids)
    quotients = selectors_dossier.current_quotients_of_families(
        commune=commune, famille_ids=ids, today=today
    )
    for household in household_list:
        famille = household.famille
        members = [*household.responsables, *household.children]
        for year in years:
            state = dossier_state(
                requirements=[r for r in requirements if r.school_year == year],
                members=members,
                documents=[d for d in documents if d.famille_id == famille.pk],
                school_year=year,
                today=today,
                quotients=[q for q in quotients if q.famille_id == famille.pk],
            )
            label = _("Année scolaire %(year)s") % {"year": school_year_label(year)}
            if several:
                label = _("%(label)s — famille %(name)s") % {"label": label, "name": famille.name}
            offer.lines.append(
                OfferLine(
                    label=label,
                    url=_dossier_url(commune, year=year, famille=famille, several=several),
                    state=state.state,
                    state_label=state.state_label,
                    symbol=FILE_SYMBOLS[state.state],
                )
            )
    return offer


# What « Créer une inscription » offers, in order: each function takes (request, the account's
# households, today) and returns an Offer, or None when it has nothing for this family. The
# activities' inscriptions (next issue) add theirs here.
OFFERS: list[Callable] = [dossier_offer]


def _link_help_context(commune) -> dict:
    """For an account linked to no family: whom to ask for a key, and where to enter it."""
    return {
        "key_services": key_services(commune=commune),
        "modifier_espace_url": url_if_exists("accounts:modifier_espace", commune.slug),
    }


def _common_context(commune) -> dict:
    return {
        "accueil_url": url_if_exists("accounts:accueil", commune.slug),
        "index_url": reverse("inscriptions:index", kwargs={"commune": commune.slug}),
        "current_section": "accounts:accueil",
    }


@never_cache
@require_GET
@citizen_required
def index(request):
    commune = request.commune
    household_list = households(user=request.user, commune=commune)
    context = _common_context(commune)
    if not household_list:
        return render(
            request, "demarches/dossier/index.html", {**context, **_link_help_context(commune)}
        )
    today = timezone.localdate()
    offers = [
        offer for build in OFFERS if (offer := build(request, household_list, today)) is not None
    ]
    return render(
        request,
        "demarches/dossier/index.html",
        {**context, "households": household_list, "offers": offers},
    )


# --- « Dossier administratif » --------------------------------------------------------------------


@dataclass
class Where:
    """The family and the school year a page is about, resolved from ?famille= and ?annee=."""

    famille: object
    families: list
    years: list[int]
    year: int | None


def _where(request) -> Where | None:
    """None when the account is linked to no family; 404 for a family or a year that is not
    the account's or the commune's."""
    commune = request.commune
    families = list(_linked_families(user=request.user, commune=commune))
    if not families:
        return None
    famille = families[0]
    if "famille" in request.GET:
        number = parse_id(request.GET["famille"])
        famille = next((f for f in families if f.number == number), None)
        if famille is None:
            raise Http404(_("Aucune de vos familles ne porte ce numéro."))
    years = dossier_years(commune=commune)
    year = years[0] if years else None
    if "annee" in request.GET:
        year = parse_id(request.GET["annee"])
        if year not in years:
            raise Http404(_("La commune n'a pas de dossier administratif pour cette année."))
    return Where(famille=famille, families=families, years=years, year=year)


def _why_not_counted(document, *, school_year: int, today) -> str:
    """Why a stored document of the slot's type does not fill it, in words."""
    state = document.state(today)
    if state == DocumentStatus.REFUSE:
        return _("Votre document « %(label)s » a été refusé : %(reason)s") % {
            "label": document.label,
            "reason": document.refusal_reason,
        }
    if state == DocumentStatus.EXPIRE:
        return _("Votre document « %(label)s » n'est plus valable depuis le %(date)s.") % {
            "label": document.label,
            "date": (document.valid_until + timedelta(days=1)).strftime("%d/%m/%Y"),
        }
    if document.doc_type == DocumentType.AVIS_IMPOSITION:
        return _(
            "Votre avis d'imposition sur les revenus %(given)s ne compte pas pour l'année "
            "scolaire %(year)s : il faut celui sur les revenus %(income)s."
        ) % {
            "given": document.income_year,
            "year": school_year_label(school_year),
            "income": school_year - 1,
        }
    return ""


def _explanations(*, famille, state, today) -> dict[str, str]:
    """For each missing slot, why the family's latest document of that type does not count
    (refused, expired, a tax notice of another year): one query."""
    missing = state.missing
    if not missing:
        return {}
    types = {slot.requirement.doc_type for slot in missing}
    stored = selectors_dossier.latest_documents(famille=famille, doc_types=types)
    found = {}
    for slot in missing:
        latest = next(
            (
                d
                for d in stored
                if d.doc_type == slot.requirement.doc_type
                and (slot.personne is None or d.personne_id == slot.personne.pk)
            ),
            None,
        )
        if latest is not None:
            reason = _why_not_counted(latest, school_year=state.school_year, today=today)
            if reason:
                found[slot.key] = reason
    return found


@dataclass
class Row:
    slot: object
    symbol: str
    state_label: str
    form: InsertDocumentForm
    explanation: str = ""

    @property
    def anchor(self) -> str:
        return f"piece-{self.slot.key}"


def _render_dossier(request, where: Where, *, failed=None, valider_error="", status=200):
    """The page of the file of `where`; `failed` is the insertion form sent back with its
    errors (the other slots get empty forms)."""
    commune, famille, year = request.commune, where.famille, where.year
    context = {
        **_common_context(commune),
        "famille": famille,
        "families": where.families if len(where.families) > 1 else [],
        "years": [
            {
                "year": y,
                "label": school_year_label(y),
                "url": _dossier_url(
                    commune, year=y, famille=famille, several=len(where.families) > 1
                ),
            }
            for y in where.years
        ],
        "year": year,
        "valider_error": valider_error,
        "has_errors": bool(valider_error) or (failed is not None and bool(failed.errors)),
        "porte_documents_url": url_if_exists("families:porte_documents", commune.slug),
        "mes_informations_url": url_if_exists("accounts:mes_informations", commune.slug),
        # Issue 20 §2: the QF from the CAF/MSA instead of the tax notice, where the commune can.
        "api_particulier_url": url_if_exists("families:quotient_api_particulier", commune.slug)
        if services_api_particulier.commune_config(commune) is not None
        else None,
    }
    if year is None:
        return render(request, "demarches/dossier/dossier.html", context, status=status)
    today = timezone.localdate()
    state = dossier(famille=famille, school_year=year, today=today)
    explanations = _explanations(famille=famille, state=state, today=today)
    rows = []
    for slot in state.slots:
        symbol, label = SLOT_DISPLAY[slot.state]
        form = (
            failed
            if failed is not None and failed.slot.key == slot.key
            else InsertDocumentForm(slot=slot, school_year=year)
        )
        rows.append(
            Row(
                slot=slot,
                symbol=symbol,
                state_label=str(label),
                form=form,
                explanation=explanations.get(slot.key, ""),
            )
        )
    latest = selectors_dossier.latest_request(famille=famille, school_year=year)
    open_request = latest if latest is not None and latest.status not in CLOSED else None
    accepted = (
        latest
        if latest is not None and latest.status == Status.ACCEPTEE and state.is_complete
        else None
    )
    context.update(
        {
            "state": state,
            "state_symbol": FILE_SYMBOLS[state.state],
            "rows": rows,
            "open_request": open_request,
            "accepted_request": accepted,
            "request_url": _request_url(commune, latest, request.user) if latest else None,
            "receives_files": selectors_dossier.receives_files(commune=commune),
            "page_url": _dossier_url(
                commune, year=year, famille=famille, several=len(where.families) > 1
            ),
            "valider_url": _action_url(commune, "inscriptions:dossier_valider", where),
        }
    )
    return render(request, "demarches/dossier/dossier.html", context, status=status)


def _request_url(commune, demande, user) -> str | None:
    """The follow-up page of the request, when it is this account's (another parent's request
    is in their own dashboard)."""
    if demande.requester_id != user.pk:
        return None
    return url_if_exists("demarches:ma_demande", commune.slug, number=demande.number)


def _action_url(commune, name: str, where: Where) -> str:
    url = reverse(name, kwargs={"commune": commune.slug})
    query = {"annee": where.year}
    if len(where.families) > 1:
        query["famille"] = where.famille.number
    return f"{url}?{urlencode(query)}"


def _add_service_errors(form: InsertDocumentForm, error: ValidationError) -> None:
    """The service's refusal next to the field it names (the file otherwise)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else "fichier", errors)
    else:
        form.add_error("fichier", error)


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def dossier_administratif(request):
    commune = request.commune
    where = _where(request)
    if where is None:
        return render(
            request,
            "demarches/dossier/dossier.html",
            {**_common_context(commune), **_link_help_context(commune), "no_family": True},
        )
    if request.method == "GET" or where.year is None:
        return _render_dossier(request, where)
    # « Insérer » a document into one slot of the checklist.
    state = dossier(famille=where.famille, school_year=where.year)
    slot = next((s for s in state.slots if s.key == request.POST.get("slot")), None)
    if slot is None:
        raise Http404(_("Ce document ne fait pas partie de votre dossier administratif."))
    form = InsertDocumentForm(request.POST, request.FILES, slot=slot, school_year=where.year)
    if form.is_valid():
        try:
            document = store_document(
                famille=where.famille,
                actor=request.user,
                doc_type=slot.requirement.doc_type,
                personne=slot.personne,
                service=slot.requirement.service,
                **form.service_arguments(),
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "« %(label)s » est ajouté à votre dossier et à votre espace de stockage "
                    "sécurisé : le service va le vérifier."
                )
                % {"label": document.label},
            )
            page = _dossier_url(
                commune, year=where.year, famille=where.famille, several=len(where.families) > 1
            )
            return redirect(f"{page}#piece-{slot.key}")
    return _render_dossier(request, where, failed=form)


@never_cache
@require_POST
@citizen_required
def valider(request):
    """« Valider »: the file goes to the service as a numbered request."""
    commune = request.commune
    where = _where(request)
    if where is None or where.year is None:
        raise Http404(_("Aucun dossier administratif à transmettre."))
    try:
        demande = file_dossier(famille=where.famille, user=request.user, school_year=where.year)
    except DossierNotReady as error:
        return _render_dossier(request, where, valider_error=str(error))
    except demarches_services.NotAllowed:
        return _render_dossier(
            request,
            where,
            valider_error=_(
                "Votre compte ne peut pas transmettre ce dossier : contactez la mairie."
            ),
        )
    # file_dossier hands back the draft it submitted: its number is on the row.
    demande.refresh_from_db(fields=["number", "status"])
    return redirect("inscriptions:dossier_transmis", commune=commune.slug, number=demande.number)


@never_cache
@require_GET
@citizen_required
def transmis(request, number: str):
    """The confirmation of a filed administrative file: its number and where to follow it."""
    commune = request.commune
    demande = selectors.request_of_account(user=request.user, commune=commune, number=number)
    if demande is None or demande.procedure.slug != DOSSIER_SLUG:
        raise Http404(_("Aucun de vos dossiers administratifs ne porte ce numéro."))
    year = demande.answers.get("school_year")
    dossier_url = _dossier_url(commune, year=year if isinstance(year, int) else None)
    return render(
        request,
        "demarches/dossier/transmis.html",
        {
            **_common_context(commune),
            "demande": demande,
            "year_label": demande.answers.get("annee_scolaire", ""),
            "request_url": url_if_exists("demarches:ma_demande", commune.slug, number=number),
            "tableau_url": url_if_exists("demarches:tableau_de_bord", commune.slug),
            "dossier_url": dossier_url,
        },
    )


urlpatterns = [
    path("", index, name="index"),
    path("dossier-administratif/", dossier_administratif, name="dossier_administratif"),
    path("dossier-administratif/valider/", valider, name="dossier_valider"),
    path("dossier-administratif/transmis/<str:number>/", transmis, name="dossier_transmis"),
]
