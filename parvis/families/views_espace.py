"""The citizen's own space: « Gérer mes informations » (tabs « Compte » and « Coordonnées »),
« Modification de votre espace » (authentication, e-mail, service keys) and the data rights
(« Télécharger mes données », « Supprimer mon espace »).

From the « Compte » tab, a family edits itself what its commune allows (Commune settings of the
« Espace des familles »): the people authorised to pick the children up, a child's health
information. Where the commune does not allow it, those URLs answer 404, as for a row of another
family or another commune: the feature does not exist there.

Thin views: reads through parvis.families.selectors_citizen, always scoped to the commune of the
URL and to the logged-in citizen; writes through the services.

These pages live in families (they show and edit the household; accounts is below families in
the app chain) but keep their URL names in the « accounts » namespace (parvis/urls.py) and their
templates under accounts/espace/."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts import services
from parvis.accounts.decorators import citizen_required
from parvis.accounts.fields import use_commune_postal_code
from parvis.communes.links import url_if_exists, urls_if_exist
from parvis.families import selectors_citizen, selectors_documents, services_api_particulier
from parvis.families import services as family_services
from parvis.families.forms_espace import (
    AuthorisedPersonForm,
    CoordinatesForm,
    EmailChangeForm,
    HealthForm,
    PasswordChangeForm,
    PasswordConfirmForm,
    ServiceKeysForm,
)
from parvis.families.models import DocumentType, MemberKind
from parvis.families.services import KeyRefused, redeem_service_key, remove_family_access
from parvis.families.views_documents import Row

TAB_COMPTE = "compte"
TAB_COORDONNEES = "coordonnees"
TABS = (TAB_COMPTE, TAB_COORDONNEES)

# The sections of « Modification de votre espace »: each posts its own form.
SECTION_AUTH = "authentification"
SECTION_EMAIL = "courriel"
SECTION_KEYS = "services"
SECTION_REMOVE = "retirer"
PREFIXES = {SECTION_AUTH: "mdp", SECTION_EMAIL: "courriel", SECTION_KEYS: "cle"}


def _url(name: str, request, query: str = "") -> str:
    return reverse(f"accounts:{name}", kwargs={"commune": request.commune.slug}) + query


def _url_families(name: str, request) -> str:
    return reverse(f"families:{name}", kwargs={"commune": request.commune.slug})


# --- Mon accueil ---------------------------------------------------------------------------------

# Tiles of « Mon accueil » for features of later issues, shown once their page exists:
# (URL name, title, description).
LATER_TILES = [
    (
        "demarches:tableau_de_bord",
        gettext_lazy("Mes demandes"),
        gettext_lazy("Le tableau de bord de vos demandes et de leur avancement."),
    ),
    (
        "inscriptions:index",
        gettext_lazy("Créer une inscription"),
        gettext_lazy(
            "Le dossier administratif de chaque année scolaire : l'avis d'imposition et les "
            "autres documents que la commune demande."
        ),
    ),
    (
        "families:porte_documents",
        gettext_lazy("Mes documents"),
        gettext_lazy("Votre espace de stockage sécurisé pour les pièces de votre famille."),
    ),
    (
        "billing:mon_compte",
        gettext_lazy("Mes factures"),
        gettext_lazy("Consulter, imprimer et payer vos factures."),
    ),
]

# Every page « Mon accueil » links to, by URL name (its addresses worked out once per process).
ACCUEIL_PAGES = tuple(
    (name, name)
    for name in [
        *(url_name for url_name, _title, _description in LATER_TILES),
        "accounts:mes_informations",
        "activities:choisir",
        "accounts:modifier_espace",
    ]
)


@never_cache
@require_GET
@citizen_required
def accueil(request):
    """« Mon accueil »: the greeting, the previous login, the families the account acts for,
    and a tile per feature of the personal space that exists. Constant number of queries."""
    commune = request.commune
    accesses = selectors_citizen.family_accesses(user=request.user, commune=commune)
    families = [
        {
            "famille": access.famille,
            "children": [
                m.first_names for m in access.famille.members.all() if m.kind == MemberKind.ENFANT
            ],
        }
        for access in accesses
    ]
    key_services = [] if families else selectors_citizen.key_services(commune=commune)
    urls = urls_if_exist(ACCUEIL_PAGES, commune.slug)
    later_tiles = [
        {"url": urls[url_name], "title": title, "description": description}
        for url_name, title, description in LATER_TILES
        if urls[url_name] is not None
    ]
    return render(
        request,
        "accounts/auth/accueil.html",
        {
            "families": families,
            "key_services": key_services,
            "later_tiles": later_tiles,
            "mes_informations_url": urls["accounts:mes_informations"],
            # Seed 000: « Dans la rubrique « Ma famille », cliquez sur « Modifier les
            # réservations » » (the same page as under « Activités »).
            "reservations_url": urls["activities:choisir"],
            "modifier_espace_url": urls["accounts:modifier_espace"],
        },
    )


# --- Gérer mes informations -----------------------------------------------------------------------

# The « Pièces justificatives » of the « Compte » tab: documents about a person of the household.
# The tax notice and the administrative file's documents go to « Créer une inscription » ›
# « Dossier administratif » instead (the seed's warning).
PERSON_DOCUMENT_TYPES = (
    DocumentType.CARNET_VACCINATION,
    DocumentType.CERTIFICAT_MEDICAL,
    DocumentType.ATTESTATION_ASSURANCE,
    DocumentType.JUGEMENT_GARDE,
    DocumentType.PIECE_IDENTITE,
)


def _household_papers(households) -> list[dict]:
    """Each household's current QF and documents about a person, with their state today."""
    today = timezone.localdate()
    return [
        {
            "famille": papers.famille,
            "quotient": papers.quotient,
            "rows": [Row(document, today) for document in papers.documents],
        }
        for papers in selectors_documents.household_papers(
            households, doc_types=PERSON_DOCUMENT_TYPES, today=today
        )
    ]


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def mes_informations(request):
    tab = request.GET.get("onglet")
    if tab not in TABS:
        tab = TAB_COMPTE
    user, commune = request.user, request.commune
    form = None
    if tab == TAB_COORDONNEES or request.method == "POST":
        tab = TAB_COORDONNEES
        if request.method == "POST":
            form = CoordinatesForm(request.POST)
            use_commune_postal_code(form, commune)
            if form.is_valid():
                services.update_coordinates(user=user, **form.cleaned_data)
                messages.success(request, _("Vos coordonnées sont enregistrées."))
                return redirect(_url("mes_informations", request, f"?onglet={TAB_COORDONNEES}"))
        else:
            form = CoordinatesForm(initial=CoordinatesForm.initial_for(user))
            use_commune_postal_code(form, commune)
    context = {
        "tab": tab,
        "tabs": [
            (TAB_COMPTE, _("Compte"), _url("mes_informations", request, f"?onglet={TAB_COMPTE}")),
            (
                TAB_COORDONNEES,
                _("Coordonnées"),
                _url("mes_informations", request, f"?onglet={TAB_COORDONNEES}"),
            ),
        ],
        "form": form,
        "household_services": selectors_citizen.household_services(commune=commune),
        "coordinates_request_url": selectors_citizen.coordinates_request_url(commune=commune),
    }
    if tab == TAB_COMPTE:
        households = selectors_citizen.households(user=user, commune=commune)
        context["households"] = households
        context["papers"] = _household_papers(households)
        context["person_document_types"] = [
            (value, DocumentType(value).label) for value in PERSON_DOCUMENT_TYPES
        ]
        context["dossier_url"] = url_if_exists("inscriptions:index", commune.slug)
        # Issue 20 §2: the CAF/MSA quotient through API Particulier, where the commune offers it.
        if households and services_api_particulier.commune_config(commune) is not None:
            context["api_particulier_url"] = _url_families("quotient_api_particulier", request)
    return render(request, "accounts/espace/mes_informations.html", context)


# --- Modification de votre espace -----------------------------------------------------------------


def _redeem_keys(request, form: ServiceKeysForm, key_services) -> ServiceKeysForm | None:
    """Try each key entered; the links made are announced, the refusals go next to their field
    with the entry kept. None when every key linked its family."""
    refused = {}
    for name, raw_key in form.entered_keys():
        try:
            redeemed = redeem_service_key(
                user=request.user, raw_key=raw_key, ip=services.client_ip(request)
            )
        except KeyRefused as error:
            message = str(error)
            if error.locked_until is not None:
                message = _("Trop de clés erronées : réessayez à partir de %(time)s.") % {
                    "time": services.retry_time(error.locked_until)
                }
            refused[name] = message
            continue
        messages.success(
            request,
            _("Votre espace est lié à la famille %(famille)s (%(service)s).")
            % {
                "famille": redeemed.access.famille.name,
                "service": redeemed.service.key_label or redeemed.service.name,
            },
        )
    if not refused:
        return None
    # Keep the refused entries (and only them: a key that linked is used now).
    prefix = PREFIXES[SECTION_KEYS]
    data = {f"{prefix}-{name}": request.POST.get(f"{prefix}-{name}", "") for name in refused}
    kept = ServiceKeysForm(key_services, data=data, prefix=prefix)
    kept.is_valid()
    for name, message in refused.items():
        kept.add_error(name, message)
    return kept


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def modifier_espace(request):
    user, commune = request.user, request.commune
    key_services = selectors_citizen.key_services(commune=commune)
    forms = {
        SECTION_AUTH: PasswordChangeForm(user, prefix=PREFIXES[SECTION_AUTH]),
        SECTION_EMAIL: EmailChangeForm(user, prefix=PREFIXES[SECTION_EMAIL]),
        SECTION_KEYS: ServiceKeysForm(key_services, prefix=PREFIXES[SECTION_KEYS]),
    }
    if request.method == "POST":
        section = request.POST.get("section")
        done = _url("modifier_espace", request, f"#{section}")
        ip = services.client_ip(request)
        if section == SECTION_AUTH:
            form = PasswordChangeForm(user, request.POST, prefix=PREFIXES[section], ip=ip)
            if form.is_valid():
                services.set_password(user=user, password=form.cleaned_data["new_password1"])
                # This session stays open; the others end (their hash no longer matches).
                update_session_auth_hash(request, user)
                messages.success(
                    request,
                    _(
                        "Votre mot de passe est enregistré : vous pouvez aussi vous connecter "
                        "avec votre identifiant. Vos autres sessions sont fermées."
                    )
                    if form.first_password
                    else _("Votre mot de passe est modifié. Vos autres sessions sont fermées."),
                )
                return redirect(done)
            forms[section] = form
        elif section == SECTION_EMAIL:
            form = EmailChangeForm(user, request.POST, prefix=PREFIXES[section], ip=ip)
            if form.is_valid():
                services.request_email_change(user=user, new_email=form.cleaned_data["new_email"])
                messages.success(
                    request,
                    _(
                        "Un message de confirmation est envoyé à %(email)s. Suivez son lien pour "
                        "valider la nouvelle adresse ; d'ici là, vous vous connectez toujours "
                        "avec l'actuelle."
                    )
                    % {"email": user.pending_email},
                )
                return redirect(done)
            forms[section] = form
        elif section == SECTION_KEYS:
            form = ServiceKeysForm(key_services, request.POST, prefix=PREFIXES[section])
            if form.is_valid():
                form = _redeem_keys(request, form, key_services)
                if form is None:
                    return redirect(done)
            forms[section] = form
        elif section == SECTION_REMOVE:
            access = selectors_citizen.family_link(
                user=user, commune=commune, access_id=request.POST.get("acces")
            )
            if access is None:
                raise Http404(_("Ce lien n'existe pas."))
            name = access.famille.name
            remove_family_access(access=access, actor=user)
            messages.success(
                request,
                _("Votre espace n'est plus lié à la famille %(famille)s.") % {"famille": name},
            )
            return redirect(_url("modifier_espace", request, f"#{SECTION_KEYS}"))
        else:
            return HttpResponseBadRequest()
    return render(
        request,
        "accounts/espace/modifier_espace.html",
        {
            "password_form": forms[SECTION_AUTH],
            "email_form": forms[SECTION_EMAIL],
            "keys_form": forms[SECTION_KEYS],
            "key_services": key_services,
            "links": selectors_citizen.family_links(user=user, commune=commune),
            "sections": {
                "password": SECTION_AUTH,
                "email": SECTION_EMAIL,
                "keys": SECTION_KEYS,
                "remove": SECTION_REMOVE,
            },
        },
    )


# --- Data rights ----------------------------------------------------------------------------------


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def supprimer_espace(request):
    data = request.POST if request.method == "POST" else None
    form = PasswordConfirmForm(
        request.user, data, prefix="suppression", ip=services.client_ip(request)
    )
    if request.method == "POST" and form.is_valid():
        services.delete_citizen_account(user=request.user)
        logout(request)
        messages.success(
            request,
            _(
                "Votre espace est supprimé. Le dossier de votre famille reste tenu par les "
                "services de la commune."
            ),
        )
        return redirect("portal:home", commune=request.commune.slug)
    return render(request, "accounts/espace/supprimer_espace.html", {"form": form})


# --- What a family edits itself, from the « Compte » tab -----------------------------------------

# The Commune settings that open each feature.
EDIT_AUTHORISED_PEOPLE = "families_edit_authorised_people"
EDIT_HEALTH = "families_edit_health"


def commune_allows(setting: str):
    """404 unless the commune of the URL lets families edit this themselves (after
    citizen_required: a visitor is still asked to log in first)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not getattr(request.commune, setting):
                raise Http404(_("Cette page n'existe pas dans cette commune."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _household_url(request, famille) -> str:
    """Back to the household on the « Compte » tab."""
    return _url("mes_informations", request, f"?onglet={TAB_COMPTE}#foyer-{famille.pk}")


def _own_famille(request, number):
    famille = selectors_citizen.linked_famille(
        user=request.user, commune=request.commune, number=number
    )
    if famille is None:
        raise Http404(_("Ce foyer n'est pas lié à votre espace."))
    return famille


def _own_authorised_person(request, number, pk):
    person = selectors_citizen.authorised_person(
        user=request.user, commune=request.commune, number=number, pk=pk
    )
    if person is None:
        raise Http404(_("Cette personne ne figure pas dans un foyer lié à votre espace."))
    return person


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
@commune_allows(EDIT_AUTHORISED_PEOPLE)
def personne_autorisee_ajouter(request, number: int):
    famille = _own_famille(request, number)
    form = AuthorisedPersonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        person = family_services.add_authorised_person(
            famille=famille, actor=request.user, **form.cleaned_data
        )
        messages.success(
            request, _("%(name)s peut désormais récupérer les enfants.") % {"name": person}
        )
        return redirect(_household_url(request, famille))
    return render(
        request,
        "accounts/espace/personne_autorisee_form.html",
        {
            "form": form,
            "famille": famille,
            "person": None,
            "back_url": _household_url(request, famille),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
@commune_allows(EDIT_AUTHORISED_PEOPLE)
def personne_autorisee_modifier(request, number: int, pk: int):
    person = _own_authorised_person(request, number, pk)
    if request.method == "POST":
        form = AuthorisedPersonForm(request.POST)
    else:
        form = AuthorisedPersonForm(initial=AuthorisedPersonForm.initial_for(person))
    if request.method == "POST" and form.is_valid():
        family_services.update_authorised_person(
            person=person, actor=request.user, **form.cleaned_data
        )
        messages.success(
            request, _("Les informations de %(name)s sont enregistrées.") % {"name": person}
        )
        return redirect(_household_url(request, person.famille))
    return render(
        request,
        "accounts/espace/personne_autorisee_form.html",
        {
            "form": form,
            "famille": person.famille,
            "person": person,
            "back_url": _household_url(request, person.famille),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
@commune_allows(EDIT_AUTHORISED_PEOPLE)
def personne_autorisee_retirer(request, number: int, pk: int):
    """GET: what removing means, and the button. POST: the removal."""
    person = _own_authorised_person(request, number, pk)
    famille = person.famille
    if request.method == "POST":
        family_services.remove_authorised_person(person=person, actor=request.user)
        messages.success(
            request,
            _("%(name)s ne figure plus parmi les personnes autorisées.") % {"name": person},
        )
        return redirect(_household_url(request, famille))
    return render(
        request,
        "accounts/espace/personne_autorisee_retirer.html",
        {"famille": famille, "person": person, "back_url": _household_url(request, famille)},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
@commune_allows(EDIT_HEALTH)
def enfant_sante(request, number: int, pk: int):
    child = selectors_citizen.child(
        user=request.user, commune=request.commune, number=number, pk=pk
    )
    if child is None:
        raise Http404(_("Cet enfant ne figure pas dans un foyer lié à votre espace."))
    if request.method == "POST":
        form = HealthForm(request.POST)
    else:
        form = HealthForm(initial=HealthForm.initial_for(child))
    if request.method == "POST" and form.is_valid():
        family_services.update_member(personne=child, actor=request.user, **form.cleaned_data)
        messages.success(
            request,
            _("Les informations de santé de %(name)s sont enregistrées.") % {"name": child},
        )
        return redirect(_household_url(request, child.famille))
    return render(
        request,
        "accounts/espace/enfant_sante.html",
        {
            "form": form,
            "famille": child.famille,
            "child": child,
            "back_url": _household_url(request, child.famille),
        },
    )


FOYER = "mon-espace/foyers/<int:number>/"

urlpatterns = [
    path("mon-espace/", accueil, name="accueil"),
    path("mon-espace/mes-informations/", mes_informations, name="mes_informations"),
    path("mon-espace/modifier/", modifier_espace, name="modifier_espace"),
    path("mon-espace/supprimer/", supprimer_espace, name="supprimer_espace"),
    path(
        f"{FOYER}personnes-autorisees/ajouter/",
        personne_autorisee_ajouter,
        name="personne_autorisee_ajouter",
    ),
    path(
        f"{FOYER}personnes-autorisees/<int:pk>/modifier/",
        personne_autorisee_modifier,
        name="personne_autorisee_modifier",
    ),
    path(
        f"{FOYER}personnes-autorisees/<int:pk>/retirer/",
        personne_autorisee_retirer,
        name="personne_autorisee_retirer",
    ),
    path(f"{FOYER}enfants/<int:pk>/sante/", enfant_sante, name="enfant_sante"),
]
