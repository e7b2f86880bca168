"""Parvis's self-assessment against the 106 criteria of RGAA 4.1, and the rules that turn a
compliance rate into the status the accessibility statement and every page's footer show.

The grid is data: one `Criterion` per RGAA criterion, with its status for Parvis as shipped
(`CONFORME`, `NON_CONFORME`, `NON_APPLICABLE`), the pages of the sample (`SAMPLE`) where it was
checked and a note. It is the software's own assessment, the same for every commune; a commune
that had its portal audited records that audit (date, auditor, rate) on its settings instead.

The rules (RGAA 4.1, « Méthode technique » and the statement's model):
- the rate is conformes / (conformes + non conformes); non applicables are left out;
- 100 % gives « totalement conforme », at least 50 % « partiellement conforme », less
  « non conforme »;
- a status is only claimed on the rate of an audit. Without one (this grid is a
  self-assessment made by the people who build Parvis) the statement says « non conforme » and
  gives the self-assessment's rate as information only (`status_for`).
A criterion is marked conforme only when it was checked on the sample; what was not checked, or
only in part, is « non conforme » with a note saying so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

# The day this grid was last filled in; the statement's date when a commune gives none.
ASSESSED_ON = date(2026, 12, 6)

CONFORME = "C"
NON_CONFORME = "NC"
NON_APPLICABLE = "NA"
STATUS_LABELS = {
    CONFORME: _("conforme"),
    NON_CONFORME: _("non conforme"),
    NON_APPLICABLE: _("non applicable"),
}

THEMES = {
    1: _("Images"),
    2: _("Cadres"),
    3: _("Couleurs"),
    4: _("Multimédia"),
    5: _("Tableaux"),
    6: _("Liens"),
    7: _("Scripts"),
    8: _("Éléments obligatoires"),
    9: _("Structuration de l'information"),
    10: _("Présentation de l'information"),
    11: _("Formulaires"),
    12: _("Navigation"),
    13: _("Consultation"),
}
# How many criteria each theme has in RGAA 4.1 (106 in all).
CRITERIA_PER_THEME = {
    1: 9,
    2: 2,
    3: 3,
    4: 13,
    5: 8,
    6: 2,
    7: 5,
    8: 10,
    9: 4,
    10: 14,
    11: 13,
    12: 11,
    13: 12,
}

# The sample of pages (« échantillon ») the grid was checked on, under /<commune>/.
SAMPLE = {
    "accueil": (_("Accueil"), ""),
    "connexion": (_("Connexion à l'espace famille"), "connexion/"),
    "creation": (_("Création de l'espace (assistant en étapes)"), "creer-mon-espace/"),
    "contacts": (_("Contacts"), "contacts/"),
    "mentions": (_("Mentions légales"), "mentions-legales/"),
    "accessibilite": (_("Déclaration d'accessibilité"), "accessibilite/"),
    "actualites": (_("Actualités et une actualité"), "actualites/"),
    "demarches": (_("Catalogue des démarches et une démarche en ligne"), "demarches/"),
    "espace": (_("Mon espace (tableau de bord)"), "mon-espace/"),
    "calendrier": (
        _("Calendrier de réservation d'un enfant et panier"),
        "mon-espace/reservations/",
    ),
    "absences": (_("Absences et justificatifs"), "mon-espace/absences/"),
    "factures": (_("Mon compte, une facture et son paiement"), "mon-espace/factures/"),
    "documents": (_("Porte-documents (envoi d'un justificatif)"), "mon-espace/documents/"),
    "guichet": (_("Guichet : connexion et dossier d'une famille"), "guichet/"),
    "occupation": (_("Guichet : grille d'occupation d'une activité"), "guichet/activites/"),
}
ALL = tuple(SAMPLE)
FORMS = ("connexion", "creation", "demarches", "calendrier", "absences", "documents", "guichet")
TABLES = ("calendrier", "factures", "occupation", "guichet", "accueil")


@dataclass(frozen=True)
class Criterion:
    number: str  # « 1.1 »
    title: str  # short French title
    status: str  # CONFORME, NON_CONFORME or NON_APPLICABLE
    pages: tuple[str, ...] = ()  # keys of SAMPLE where it was checked
    note: str = ""

    @property
    def theme(self) -> int:
        return int(self.number.split(".")[0])

    @property
    def theme_label(self) -> str:
        return THEMES[self.theme]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def page_labels(self) -> list[str]:
        return [SAMPLE[key][0] for key in self.pages]

    @property
    def whole_sample(self) -> bool:
        return set(self.pages) == set(SAMPLE)


def _c(number, title, pages=ALL, note=""):
    return Criterion(number, title, CONFORME, tuple(pages), note)


def _nc(number, title, note, pages=ALL):
    return Criterion(number, title, NON_CONFORME, tuple(pages), note)


def _na(number, title, note=""):
    return Criterion(number, title, NON_APPLICABLE, (), note)


NOT_CHECKED = _("Non vérifié à ce jour : ne peut être déclaré conforme.")

GRID: tuple[Criterion, ...] = (
    # 1. Images
    _c(
        "1.1",
        _("Images porteuses d'information : alternative textuelle"),
        ("actualites", "guichet"),
        _(
            "Image d'une actualité (texte de remplacement saisi avec l'image), aperçu d'un "
            "justificatif au guichet."
        ),
    ),
    _c(
        "1.2",
        _("Images de décoration ignorées par les technologies d'assistance"),
        ("accueil",),
        _("Le logo, à côté du nom de la commune, a un texte de remplacement vide."),
    ),
    _c(
        "1.3",
        _("Alternative textuelle pertinente"),
        ("actualites", "guichet"),
        _(
            "La pertinence du texte de remplacement d'une actualité dépend de ce que la commune "
            "saisit."
        ),
    ),
    _na(
        "1.4",
        _("CAPTCHA et image-test : alternative identifiant nature et fonction"),
        _("Aucun CAPTCHA."),
    ),
    _na("1.5", _("CAPTCHA : solution d'accès alternatif"), _("Aucun CAPTCHA.")),
    _na(
        "1.6",
        _("Images porteuses d'information : description détaillée si nécessaire"),
        _("Aucune image complexe."),
    ),
    _na("1.7", _("Description détaillée pertinente"), _("Aucune image complexe.")),
    _na(
        "1.8", _("Images texte remplacées par du texte stylé"), _("Aucune image texte (hors logo).")
    ),
    _na("1.9", _("Légendes d'images reliées à leur image"), _("Aucune image légendée.")),
    # 2. Cadres
    _c(
        "2.1",
        _("Cadres : titre de cadre"),
        ("guichet",),
        _("Seul cadre : l'aperçu d'un justificatif PDF au guichet."),
    ),
    _c("2.2", _("Titre de cadre pertinent"), ("guichet",), _("« Aperçu du document … (PDF) ».")),
    # 3. Couleurs
    _c(
        "3.1",
        _("Information non donnée uniquement par la couleur"),
        note=_("États des factures, des jours du calendrier et des démarches dits aussi en texte."),
    ),
    _c(
        "3.2",
        _("Contraste du texte suffisant"),
        note=_(
            "Vérifié par axe-core sur chaque page des parcours ; la couleur d'une commune est "
            "refusée sous 4,5:1 avec le texte blanc."
        ),
    ),
    _nc(
        "3.3",
        _("Contraste des composants d'interface et éléments graphiques"),
        _(
            "Le contour de focus est mesuré (3:1 au moins) sur le simulateur de paiement et les "
            "champs de date seulement ; les bordures des champs et des cases à cocher n'ont pas "
            "été mesurées, ni en contraste renforcé."
        ),
    ),
    # 4. Multimédia
    _na(
        "4.1",
        _("Médias temporels : transcription ou audiodescription"),
        _("Aucun média audio ou vidéo."),
    ),
    _na(
        "4.2", _("Transcription et audiodescription pertinentes"), _("Aucun média audio ou vidéo.")
    ),
    _na(
        "4.3", _("Médias synchronisés : sous-titres synchronisés"), _("Aucun média audio ou vidéo.")
    ),
    _na("4.4", _("Sous-titres pertinents"), _("Aucun média audio ou vidéo.")),
    _na(
        "4.5",
        _("Médias temporels : audiodescription synchronisée"),
        _("Aucun média audio ou vidéo."),
    ),
    _na("4.6", _("Audiodescription pertinente"), _("Aucun média audio ou vidéo.")),
    _na("4.7", _("Médias temporels clairement identifiables"), _("Aucun média audio ou vidéo.")),
    _na("4.8", _("Médias non temporels : alternative"), _("Aucun média non temporel.")),
    _na(
        "4.9", _("Alternative aux médias non temporels pertinente"), _("Aucun média non temporel.")
    ),
    _na("4.10", _("Sons déclenchés automatiquement contrôlables"), _("Aucun son.")),
    _na(
        "4.11",
        _("Médias temporels contrôlables au clavier et au pointeur"),
        _("Aucun média audio ou vidéo."),
    ),
    _na(
        "4.12",
        _("Médias non temporels contrôlables au clavier et au pointeur"),
        _("Aucun média non temporel."),
    ),
    _na("4.13", _("Médias compatibles avec les technologies d'assistance"), _("Aucun média.")),
    # 5. Tableaux
    _na(
        "5.1",
        _("Tableaux de données complexes : résumé"),
        _("Aucun tableau à plusieurs niveaux d'en-têtes."),
    ),
    _na("5.2", _("Résumé des tableaux complexes pertinent"), _("Aucun tableau complexe.")),
    _na(
        "5.3",
        _("Tableaux de mise en forme : linéarisation compréhensible"),
        _("Aucun tableau de mise en forme."),
    ),
    _c(
        "5.4",
        _("Titre du tableau de données associé au tableau"),
        TABLES,
        _("Chaque tableau a un élément caption."),
    ),
    _c("5.5", _("Titre du tableau de données pertinent"), TABLES),
    _c(
        "5.6",
        _("En-têtes de colonnes et de lignes déclarés"),
        TABLES,
        _("Éléments th avec l'attribut scope."),
    ),
    _c("5.7", _("Cellules associées à leurs en-têtes"), TABLES),
    _na(
        "5.8",
        _("Tableaux de mise en forme sans éléments de tableau de données"),
        _("Aucun tableau de mise en forme."),
    ),
    # 6. Liens
    _c(
        "6.1",
        _("Liens explicites"),
        note=_(
            "Relu sur l'échantillon ; les liens répétés (« Voir », « Payer ») portent le nom de "
            "ce qu'ils ouvrent."
        ),
    ),
    _c("6.2", _("Chaque lien a un intitulé"), note=_("Vérifié par axe-core.")),
    # 7. Scripts
    _nc(
        "7.1",
        _("Scripts compatibles avec les technologies d'assistance"),
        _(
            "Le calendrier de réservation (grille à un arrêt de tabulation et flèches, marque "
            "« ✎ », compteurs du panier) est vérifié au clavier par des parcours automatisés, "
            "mais n'a pas été essayé avec un lecteur d'écran (NVDA, VoiceOver)."
        ),
        ("calendrier", "absences"),
    ),
    _c(
        "7.2",
        _("Alternative aux scripts pertinente"),
        ("calendrier", "absences"),
        _("Chaque page fonctionne sans JavaScript : le serveur fait ce que fait le script."),
    ),
    _c(
        "7.3",
        _("Scripts contrôlables au clavier et au pointeur"),
        ("calendrier", "absences"),
        _("Les scripts ne reposent que sur des contrôles natifs (cases, boutons)."),
    ),
    _c(
        "7.4",
        _("Changement de contexte annoncé ou contrôlé par l'utilisateur"),
        note=_("Aucun changement de contexte sans bouton (la langue se choisit puis se valide)."),
    ),
    _c(
        "7.5",
        _("Messages de statut restitués par les technologies d'assistance"),
        ("calendrier",),
        _(
            "Après « Tout cocher » un message de statut dit ce qui a changé ; les compteurs du "
            "panier, mis à jour par script à chaque case cochée, sont dans une zone de statut "
            '(role="status") ; les messages de confirmation et les résumés d\'erreur sont des '
            "zones de statut ou d'alerte."
        ),
    ),
    # 8. Éléments obligatoires
    _c("8.1", _("Type de document défini")),
    _nc(
        "8.2",
        _("Code source valide"),
        _("Le code n'a pas été passé au validateur du W3C : ne peut être déclaré conforme."),
    ),
    _c("8.3", _("Langue par défaut présente")),
    _c(
        "8.4",
        _("Code de langue pertinent"),
        note=_("Français, ou anglais quand la page est en anglais."),
    ),
    _c("8.5", _("Titre de page présent")),
    _c(
        "8.6",
        _("Titre de page pertinent"),
        note=_(
            "Un parcours des communes de démonstration (visiteur, deux familles, deux agents) "
            "vérifie que deux pages différentes n'ont jamais le même titre : le calendrier nomme "
            "l'enfant, le guichet son côté, ses pages la famille."
        ),
    ),
    _c(
        "8.7",
        _("Changements de langue indiqués"),
        note=_("Le nom de chaque langue du sélecteur porte sa langue (attribut lang)."),
    ),
    _c("8.8", _("Code de langue des changements valide et pertinent")),
    _c("8.9", _("Balises non utilisées à des fins de présentation")),
    _na(
        "8.10",
        _("Changements du sens de lecture signalés"),
        _("Aucun texte lu de droite à gauche."),
    ),
    # 9. Structuration
    _c(
        "9.1",
        _("Information structurée par des titres"),
        note=_("Un titre h1 par page, puis h2, h3."),
    ),
    _c(
        "9.2",
        _("Structure du document cohérente"),
        note=_("En-tête, navigation, contenu principal et pied de page balisés."),
    ),
    _c("9.3", _("Listes correctement structurées")),
    _c(
        "9.4",
        _("Citations correctement indiquées"),
        ("demarches",),
        _("Le message d'un agent sur une demande."),
    ),
    # 10. Présentation
    _c(
        "10.1",
        _("Feuilles de styles pour la présentation"),
        note=_("Aucun style en ligne (politique de sécurité)."),
    ),
    _nc("10.2", _("Contenu visible présent sans feuilles de styles"), NOT_CHECKED),
    _nc("10.3", _("Information compréhensible sans feuilles de styles"), NOT_CHECKED),
    _nc(
        "10.4",
        _("Texte lisible à 200 % de la taille des caractères"),
        _(
            "Non vérifié à 200 % sur tout l'échantillon ; seule la largeur de 640 px (un écran "
            "de 1280 px à 200 %) est mesurée, pour les tableaux larges."
        ),
    ),
    _c(
        "10.5",
        _("Couleurs de fond et de police déclarées ensemble"),
        note=_("La couleur d'une commune va toujours avec la couleur de texte qui lui correspond."),
    ),
    _c("10.6", _("Liens visibles par rapport au texte environnant"), note=_("Liens soulignés.")),
    _nc(
        "10.7",
        _("Prise de focus visible"),
        _(
            "Contour de focus mesuré sur le simulateur de paiement et les champs de date "
            "seulement, pas encore sur chaque page de l'échantillon."
        ),
        ("absences", "demarches", "factures"),
    ),
    _c("10.8", _("Contenus cachés destinés à être ignorés")),
    _c("10.9", _("Information non donnée uniquement par la forme, la taille ou la position")),
    _c(
        "10.10",
        _(
            "Information non donnée par la forme, la taille ou la position : mise en œuvre "
            "pertinente"
        ),
    ),
    _nc(
        "10.11",
        _("Contenus consultables sans double défilement (320 px de large, 256 px de haut)"),
        _(
            "Vérifié à 360 et 640 px de large : les tableaux larges du guichet défilent dans leur "
            "boîte, et les pages des deux guides ne défilent pas en largeur, dans chaque "
            "paramètre d'affichage ; ni à 320 px de large ni à 256 px de haut."
        ),
        ("occupation", "guichet", "accueil", "connexion", "creation", "espace", "calendrier"),
    ),
    _nc(
        "10.12",
        _("Espacement du texte redéfinissable sans perte"),
        _(
            "Les « Paramètres d'affichage » appliquent les valeurs du critère (lettres 0,12 em, "
            "mots 0,16 em, paragraphes 2 em, lignes 1,8) ; les pages des deux guides sont "
            "vérifiées ainsi sans défilement horizontal, mais pas les pages du guichet, les "
            "absences ni le porte-documents, et sans contrôle d'un texte tronqué."
        ),
        ("accueil", "connexion", "creation", "espace", "demarches", "calendrier", "factures"),
    ),
    _na(
        "10.13",
        _("Contenus additionnels au survol ou au focus contrôlables"),
        _("Aucune infobulle ni contenu au survol."),
    ),
    _na(
        "10.14",
        _("Contenus additionnels en CSS visibles au clavier et au pointeur"),
        _("Aucun contenu affiché au survol."),
    ),
    # 11. Formulaires
    _c("11.1", _("Chaque champ a une étiquette"), FORMS, _("Vérifié par axe-core.")),
    _c("11.2", _("Étiquettes pertinentes"), FORMS),
    _c(
        "11.3",
        _("Étiquettes cohérentes d'une page à l'autre"),
        FORMS,
        _("L'identifiant de connexion porte le même nom partout."),
    ),
    _c("11.4", _("Étiquette et champ accolés"), FORMS),
    _c(
        "11.5",
        _("Champs de même nature regroupés"),
        FORMS,
        _("Groupes de boutons radio et de cases dans un fieldset."),
    ),
    _c("11.6", _("Regroupements de champs avec une légende"), FORMS),
    _c("11.7", _("Légendes pertinentes"), FORMS),
    _na(
        "11.8",
        _("Items de même nature d'une liste de choix regroupés"),
        _("Aucune liste de choix à regrouper."),
    ),
    _c(
        "11.9",
        _("Intitulé des boutons pertinent"),
        FORMS,
        _(
            "Une semaine qui ne peut plus changer n'a plus de « Tout cocher » : elle dit pourquoi, "
            "une fois, dans l'en-tête de sa ligne."
        ),
    ),
    _c(
        "11.10",
        _("Contrôle de saisie pertinent"),
        FORMS,
        _(
            "Un seul modèle d'erreur sur chaque formulaire (novalidate, « Erreur : » dans le "
            "titre, récapitulatif avec un lien vers chaque champ, aria-invalid, message lié au "
            "champ ou au groupe de boutons radio) : une analyse de chaque gabarit et un parcours "
            "qui envoie vides les formulaires des deux guides le vérifient."
        ),
    ),
    _c(
        "11.11",
        _("Suggestions de correction des erreurs"),
        FORMS,
        _(
            "Chaque message dit quoi saisir (« Indiquez votre mot de passe. »), à la connexion "
            "de l'espace famille comme ailleurs."
        ),
    ),
    _c(
        "11.12",
        _("Données modifiables avant une validation aux conséquences financières ou juridiques"),
        ("calendrier", "factures", "demarches"),
        _(
            "Panier puis confirmation pour les réservations ; récapitulatif avant paiement et "
            "envoi d'une démarche."
        ),
    ),
    _c(
        "11.13",
        _("Finalité des champs déductible (remplissage automatique)"),
        ("connexion", "creation", "demarches"),
        _("Attribut autocomplete sur les champs d'identité et de coordonnées."),
    ),
    # 12. Navigation
    _c(
        "12.1",
        _("Deux systèmes de navigation différents au moins"),
        note=_(
            "Le menu et un « Plan du site », lié depuis le pied de chaque page, qui liste les "
            "pages publiques, l'espace famille, les démarches de la commune, le guichet, "
            "l'affichage et l'accessibilité."
        ),
    ),
    _c("12.2", _("Menu et barres de navigation toujours à la même place")),
    _na("12.3", _("Page « plan du site » pertinente"), _("Pas de plan du site (voir 12.1).")),
    _na(
        "12.4",
        _("Plan du site accessible de façon identique"),
        _("Pas de plan du site (voir 12.1)."),
    ),
    _na(
        "12.5",
        _("Moteur de recherche atteignable de façon identique"),
        _("Pas de moteur de recherche."),
    ),
    _c(
        "12.6",
        _("Zones de regroupement atteignables ou évitables"),
        note=_("Régions balisées (header, nav, main, footer)."),
    ),
    _c(
        "12.7",
        _("Lien d'évitement vers le contenu principal"),
        note=_("« Aller au contenu », premier arrêt de tabulation de chaque page."),
    ),
    _c(
        "12.8",
        _("Ordre de tabulation cohérent"),
        ("calendrier",),
        _(
            "Sur le calendrier, « Aller à la semaine » mène à la première semaine modifiable en "
            "moins de 10 tabulations depuis le lien d'évitement ; après « Tout cocher », le "
            "focus revient sur le bouton utilisé."
        ),
    ),
    _c(
        "12.9",
        _("Aucun piège au clavier"),
        note=_("Les parcours des deux guides ont été faits au clavier seul."),
    ),
    _na(
        "12.10",
        _("Raccourcis clavier à une seule touche contrôlables"),
        _("Aucun raccourci clavier."),
    ),
    _c(
        "12.11",
        _("Contenus additionnels atteignables au clavier"),
        ("calendrier", "demarches", "accueil"),
        _(
            "Sections repliées en éléments details et summary natifs ; menu replié sur téléphone "
            "derrière un bouton « Menu »."
        ),
    ),
    # 13. Consultation
    _c(
        "13.1",
        _("Contrôle des limites de temps"),
        note=_(
            "Aucune limite de temps sur une page ; les dates limites de réservation et les offres "
            "de place sont des échéances réelles."
        ),
    ),
    _c(
        "13.2",
        _("Pas de nouvelle fenêtre sans action de l'utilisateur"),
        note=_("Les seuls liens qui ouvrent une fenêtre le disent dans leur intitulé."),
    ),
    _nc(
        "13.3",
        _("Documents bureautiques téléchargeables : version accessible"),
        _(
            "Les PDF (factures, reçus, attestations) ne sont pas balisés ; une facture a sa page "
            "HTML, pas encore les reçus ni les attestations."
        ),
        ("factures",),
    ),
    _nc(
        "13.4",
        _("Version accessible d'un document : même information"),
        _("Non vérifié que la page d'une facture dise tout ce que dit son PDF."),
        ("factures",),
    ),
    _c(
        "13.5",
        _("Contenus cryptiques : alternative"),
        ("calendrier", "demarches"),
        _(
            "Les signes « ✎ », « ✓ », « ⚠ » sont doublés d'un texte ou ignorés par les lecteurs "
            "d'écran."
        ),
    ),
    _c(
        "13.6",
        _("Alternative aux contenus cryptiques pertinente"),
        ("calendrier", "demarches"),
    ),
    _na("13.7", _("Changements brusques de luminosité et flashs"), _("Aucun.")),
    _na(
        "13.8",
        _("Contenus en mouvement ou clignotants contrôlables"),
        _("Aucun contenu en mouvement."),
    ),
    _c("13.9", _("Consultable en portrait et en paysage"), note=_("Aucune orientation imposée.")),
    _na("13.10", _("Gestes complexes : alternative en geste simple"), _("Aucun geste complexe.")),
    _c(
        "13.11",
        _("Actions au pointeur annulables"),
        note=_("Seuls des contrôles natifs, qui agissent au relâchement."),
    ),
    _na(
        "13.12",
        _("Mouvements de l'appareil : alternative"),
        _("Aucune fonction liée au mouvement."),
    ),
)


def compliance_rate(criteria: Iterable[Criterion]) -> Fraction | None:
    """RGAA's rate: conformes / (conformes + non conformes), in percent, exact; None when every
    criterion is non applicable."""
    statuses = [criterion.status for criterion in criteria]
    conformes = statuses.count(CONFORME)
    assessed = conformes + statuses.count(NON_CONFORME)
    if not assessed:
        return None
    return Fraction(100 * conformes, assessed)


def status_for_rate(rate) -> str:
    """The status a rate (in percent) gives, as a key of communes.models.AccessibilityStatus."""
    if rate >= 100:
        return "total"
    if rate >= 50:
        return "partiel"
    return "non"


def status_for(*, audit_rate) -> str:
    """The status a commune may claim: from its audit's rate, else « non conforme » (a
    self-assessment does not support a claim of conformity)."""
    if audit_rate is None:
        return "non"
    return status_for_rate(audit_rate)


def format_rate(rate) -> str:
    """« 72,4 % »: cut (never rounded up) to one decimal, so that a rate never reads as the
    next bracket's (49,96 % is « 49,9 % », not « 50,0 % »)."""
    value = (
        Decimal(rate.numerator) / Decimal(rate.denominator)
        if isinstance(rate, Fraction)
        else Decimal(rate)
    )
    value = value.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    if value == value.to_integral_value():
        value = value.quantize(Decimal("1"))
    return f"{number_format(value)} %"


def by_theme(criteria: Iterable[Criterion] = GRID) -> list[tuple[int, str, list[Criterion]]]:
    """[(1, "Images", [criteria of theme 1…]), …] in RGAA's order."""
    groups: dict[int, list[Criterion]] = {number: [] for number in THEMES}
    for criterion in criteria:
        groups[criterion.theme].append(criterion)
    return [(number, THEMES[number], groups[number]) for number in THEMES]
