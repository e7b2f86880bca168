"""« Plan du site » (RGAA 12.1, a second way to find a page besides the menu): the commune's
public pages, the family space, the procedures it offers, the guichet's door, the display
settings and the accessibility statement. Only pages that exist are listed (url_if_exists)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from parvis.accounts.decorators import is_citizen_of
from parvis.communes.links import url_if_exists
from parvis.demarches import selectors as demarches_selectors
from parvis.demarches.links import OWN_PAGES, page_url

PUBLIC_PAGES = [
    ("portal:home", _("Accueil")),
    ("portal:actualites", _("Actualités")),
    ("portal:infos_pratiques", _("Infos pratiques")),
    ("portal:contacts", _("Contacts")),
    ("accounts:connexion", _("Se connecter")),
    ("accounts:creer_mon_espace", _("Créer mon espace")),
    ("accounts:mot_de_passe_oublie", _("Mot de passe oublié")),
    ("demarches:suivi", _("Suivre une demande sans compte")),
    ("portal:mentions_legales", _("Mentions légales")),
    ("portal:conditions_generales", _("Conditions générales d'utilisation")),
]

FAMILY_PAGES = [
    ("accounts:accueil", _("Mon accueil")),
    ("accounts:mes_informations", _("Mes informations")),
    ("demarches:tableau_de_bord", _("Mes demandes")),
    ("inscriptions:index", _("Créer une inscription")),
    ("inscriptions:dossier_administratif", _("Dossier administratif")),
    ("families:porte_documents", _("Porte-documents")),
    ("activities:index", _("Activités")),
    ("activities:inscrire", _("Inscrire un enfant à une activité")),
    ("activities:choisir", _("Réservations")),
    ("activities:foyer", _("Réservations de tout le foyer")),
    ("activities:offres", _("Places proposées")),
    ("activities:absences", _("Absences")),
    ("activities:agenda", _("Agenda")),
    ("billing:mon_compte", _("Mon compte (factures et paiements)")),
    ("billing:documents", _("Édition de documents")),
]

# The doors into the family space: shown to whoever is not in it yet.
LOGIN_DOORS = {"accounts:connexion", "accounts:creer_mon_espace", "accounts:mot_de_passe_oublie"}

GUICHET_PAGES = [("backoffice:connexion", _("Connexion des agents au guichet"))]

ACCESSIBILITY_PAGES = [
    ("portal:affichage", _("Paramètres d'affichage")),
    ("portal:accessibilite", _("Déclaration d'accessibilité")),
    ("portal:accessibilite_grille", _("Grille d'auto-évaluation RGAA")),
]


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    links: list[Link]
    needs_login: bool = False


def _links(pages, commune_slug: str) -> list[Link]:
    links = []
    for url_name, label in pages:
        url = url_if_exists(url_name, commune_slug)
        if url is not None:
            links.append(Link(label=str(label), url=url))
    return links


def _procedure_links(commune) -> list[Link]:
    """The procedures the commune offers, as « Nouvelle démarche » lists them: one query."""
    links = []
    for procedure in demarches_selectors.searched_procedures(commune=commune):
        if procedure.slug in OWN_PAGES:
            url = url_if_exists(OWN_PAGES[procedure.slug], commune.slug)
            if url is None:
                continue
        else:
            url = page_url(procedure)
        links.append(Link(label=procedure.title, url=url))
    return links


def plan(*, commune, user) -> list[Section]:
    """The sections of the plan, for this visitor: a family sees its space without the login
    doors; anyone else sees the doors and the family space with a note that it needs a login."""
    family = is_citizen_of(user, commune)
    hidden = set(LOGIN_DOORS) if family else set()
    if not commune.login_with_email:
        # In « code famille » mode accounts are handed out at the desk: no self sign-up.
        hidden.add("accounts:creer_mon_espace")
    public = _links([page for page in PUBLIC_PAGES if page[0] not in hidden], commune.slug)
    catalogue = url_if_exists("demarches:catalogue", commune.slug)
    procedures = _links([("demarches:catalogue", _("Nouvelle démarche"))], commune.slug)
    if catalogue is not None:
        procedures += _procedure_links(commune)
    return [
        Section("public", str(_("Pages publiques")), public),
        Section(
            "famille",
            str(_("Espace famille")),
            _links(FAMILY_PAGES, commune.slug),
            needs_login=not family,
        ),
        Section("demarches", str(_("Démarches")), procedures),
        Section("guichet", str(_("Guichet des agents")), _links(GUICHET_PAGES, commune.slug)),
        Section(
            "accessibilite",
            str(_("Accessibilité et affichage")),
            _links(ACCESSIBILITY_PAGES, commune.slug),
        ),
    ]
