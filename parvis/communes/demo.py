"""Demo communes modelled on the seeds' towns. Idempotent: loading twice leaves the same rows
(same ids, same values), so `make run` can load it at every start."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction

from parvis.communes.models import Actualite, Closure, Commune, OpeningRange, Service
from parvis.communes.services import make_commune_admin

# The accounts app is above this one (docs/ARCHITECTURE.md): its user model through Django's
# AUTH_USER_MODEL, never an import.
User = get_user_model()

PARIS = ZoneInfo("Europe/Paris")
DEMO_PASSWORD = "parvis-demo-2026"  # noqa: S105 — documented in the README, demo only

MON, TUE, WED, THU, FRI = range(5)


def _hm(text: str) -> time:
    hour, _sep, minute = text.partition("h")
    return time(int(hour), int(minute or 0))


def _week(spec: dict[tuple[int, ...], str]) -> list[tuple[int, time, time]]:
    """{(MON, TUE): "8h30-12h / 13h45-17h30"} → [(weekday, opens, closes), …]"""
    rows = []
    for days, text in spec.items():
        for part in text.split("/"):
            opens, closes = part.strip().split("-")
            rows.extend((day, _hm(opens), _hm(closes)) for day in days)
    return sorted(rows)


def _paris(y, m, d, hh=9, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=PARIS)


TOWN_HALL_WEEK = {(MON, TUE, WED, THU, FRI): "8h30-12h / 13h45-17h30"}

COMMUNES = [
    {
        "slug": "carrieres-sous-poissy",
        "fields": {
            "name": "Carrières-sous-Poissy",
            "address": "Hôtel de Ville, 1, place Saint-Blaise",
            "postal_code": "78955",
            "phone": "01 39 22 36 00",
            "email": "accueil@carrieres-sous-poissy.fr",
            "website": "https://www.carrieres-sous-poissy.fr",
            "theme_colour": "#1B4F8A",
            "holiday_zone": "C",
            "login_with_email": True,
            "login_with_family_code": False,
            "families_edit_authorised_people": True,
            "families_edit_health": True,
            "publication_director": "Le Maire de Carrières-sous-Poissy",
        },
        "town_hall_hours": TOWN_HALL_WEEK,
        "services": [
            {
                "name": "Affaires scolaires",
                "kind": "scolaire",
                "phone": "01 39 22 36 11",
                "email": "service-scolaire@carrieres-sous-poissy.fr",
                "description": "Inscriptions scolaires, dérogations, Clé Espace Citoyens Enfance.",
            },
            {
                "name": "Accueils périscolaires et de loisirs",
                "kind": "enfance",
                "key_label": "Clé Espace Citoyens Enfance",
                "phone": "01 39 22 36 66",
                "email": "service.periscolairesloisirs@carrieres-sous-poissy.fr",
                "description": "Accueils du matin et du soir, restauration scolaire, "
                "accueils de loisirs du mercredi et des vacances.",
            },
            {
                "name": "État-civil",
                "kind": "etat_civil",
                "phone": "01 39 22 36 08",
                "email": "etatscivil-elections@carrieres-sous-poissy.fr",
                "description": "Actes de naissance, de mariage et de décès, livret de famille, "
                "listes électorales, recensement citoyen.",
            },
            {
                "name": "Régie centrale",
                "kind": "regie",
                "phone": "01 39 22 36 27",
                "email": "regie@carrieres-sous-poissy.fr",
                "description": "Paiement des factures des activités périscolaires et de loisirs.",
                "hours": {
                    (MON, THU): "8h30-12h / 13h45-16h",
                    (TUE, FRI): "8h30-12h",
                    (WED,): "8h30-12h / 13h45-17h30",
                },
            },
        ],
        "closures": [
            {
                "service": "Régie centrale",
                "start": date(2026, 12, 28),
                "end": date(2026, 12, 31),
                "reason": "Clôture de l'exercice comptable",
            },
            {
                "service": None,
                "start": date(2027, 5, 7),
                "end": date(2027, 5, 7),
                "reason": "Pont de l'Ascension",
            },
        ],
        "news": [
            {
                "slug": "regie-fermee-fin-decembre",
                "title": "La Régie centrale fermée du 28 au 31 décembre",
                "summary": "Pensez à régler vos factures en ligne pendant la clôture "
                "de l'exercice.",
                "body": "La Régie centrale sera fermée au public du lundi 28 au jeudi "
                "31 décembre pour la clôture de l'exercice comptable.\n\nLe paiement en ligne "
                "de vos factures reste possible à tout moment depuis votre espace, rubrique "
                "« Mon compte ».",
                "published_at": _paris(2026, 11, 16),
            },
            {
                "slug": "paiement-en-ligne",
                "title": "Payez vos factures en ligne",
                "summary": "Cantine, accueils périscolaires et de loisirs : une seule facture, "
                "payable par carte bancaire.",
                "body": "Dans l'onglet « Mon compte », cliquez sur la facture, vérifiez le "
                "montant puis cliquez sur « Paiements » et « Payer ».\n\nVous recevez votre "
                "reçu de paiement par courriel.",
                "published_at": _paris(2026, 10, 5),
            },
            {
                "slug": "recensement-citoyen",
                "title": "Recensement citoyen : dès 16 ans",
                "summary": "Chaque jeune doit se faire recenser dans les trois mois qui suivent "
                "son seizième anniversaire.",
                "body": "Le recensement citoyen est obligatoire. Il permet d'être convoqué à la "
                "Journée défense et citoyenneté et d'être inscrit d'office sur les listes "
                "électorales à 18 ans.\n\nLa démarche est possible en ligne, sans créer de "
                "compte, ou au service État-civil.",
                "published_at": _paris(2026, 9, 14),
            },
            {
                "slug": "inscriptions-periscolaires-2026-2027",
                "title": "Inscriptions périscolaires 2026-2027",
                "summary": "Accueils du matin et du soir, restauration scolaire, mercredis : "
                "inscrivez vos enfants.",
                "body": "Les inscriptions aux activités périscolaires pour l'année scolaire "
                "2026-2027 sont ouvertes.\n\nPour joindre l'avis d'imposition et les autres "
                "documents administratifs, cliquez sur « Créer une inscription » puis sur "
                "« Dossier administratif ».",
                "published_at": _paris(2026, 6, 2),
            },
            {
                "slug": "fete-de-la-ville-2026",
                "title": "Fête de la ville 2026",
                "summary": "Rendez-vous au parc du Peuple de l'Herbe.",
                "body": "Concerts, jeux et restauration tout l'après-midi.",
                "published_at": _paris(2026, 5, 20),
                "expires_at": _paris(2026, 6, 30, 23, 59),
            },
        ],
    },
    {
        "slug": "carrieres-sur-seine",
        "fields": {
            "name": "Carrières-sur-Seine",
            "address": "Hôtel de Ville, 1, rue Victor-Hugo",
            "postal_code": "78420",
            "phone": "01 30 86 89 00",
            "email": "accueil@carrieres-sur-seine.fr",
            "website": "https://carrieres-sur-seine.fr",
            "theme_colour": "#00695C",
            "holiday_zone": "C",
            "login_with_email": False,
            "login_with_family_code": True,
            "nom_portail": "Espace Citoyens Premium",  # the name of seed 003's guide
            "families_edit_authorised_people": True,
            "families_edit_health": False,
            "publication_director": "Le Maire de Carrières-sur-Seine",
        },
        "town_hall_hours": {
            (MON, TUE, WED, THU, FRI): "8h30-12h / 13h30-17h30",
        },
        "services": [
            {
                "name": "Scolaire-Enfance-Jeunesse (SEJ)",
                "kind": "enfance",
                "phone": "01 30 86 89 30",
                "email": "sej@carrieres-sur-seine.fr",
                "description": "Inscriptions scolaires et périscolaires, remise du code famille "
                "et du mot de passe de l'Espace Citoyens Premium.",
                "hours": {
                    (MON, TUE, THU, FRI): "8h30-12h / 13h30-17h30",
                    (WED,): "8h30-12h",
                },
            },
            {
                "name": "État civil",
                "kind": "etat_civil",
                "phone": "01 30 86 89 10",
                "email": "etat-civil@carrieres-sur-seine.fr",
            },
            {
                "name": "Régie",
                "kind": "regie",
                "phone": "01 30 86 89 35",
                "email": "regie@carrieres-sur-seine.fr",
                "hours": {(MON, WED, FRI): "8h30-12h / 13h30-17h"},
            },
        ],
        "closures": [],
        "news": [
            {
                "slug": "espace-citoyens-premium",
                "title": "L'Espace Citoyens Premium : mode d'emploi",
                "summary": "Inscriptions, réservations et paiement des services périscolaires "
                "avec votre code famille.",
                "body": "Vos code famille et mot de passe vous sont remis lors de la première "
                "inscription scolaire ou périscolaire, au service Scolaire-Enfance-Jeunesse.\n\n"
                "Si vous les avez oubliés, cliquez sur « mot de passe oublié ».",
                "published_at": _paris(2026, 9, 1),
            },
            {
                "slug": "menus-cantine-decembre",
                "title": "Les menus de la cantine de décembre",
                "summary": "Repas de Noël le jeudi 17 décembre.",
                "body": "Les menus de décembre sont affichés dans les écoles et disponibles à "
                "l'accueil de l'Hôtel de Ville.",
                "published_at": _paris(2026, 11, 20),
            },
        ],
    },
]

DEMO_USERS = [
    # (username, commune slug or None for the operator, first name, last name, e-mail)
    ("operateur", None, "Olivia", "OPÉRATRICE", "operateur@parvis.local"),
    ("admin-carrieres-sous-poissy", "carrieres-sous-poissy", "Camille", "MARTIN",
     "admin@carrieres-sous-poissy.fr"),
    ("admin-carrieres-sur-seine", "carrieres-sur-seine", "Sami", "BERNARD",
     "admin@carrieres-sur-seine.fr"),
]  # fmt: skip


def _sync_ranges(commune: Commune, service: Service | None, spec) -> None:
    wanted = set(_week(spec)) if spec else set()
    existing = {
        (r.weekday, r.opens, r.closes): r
        for r in OpeningRange.objects.filter(commune=commune, service=service)
    }
    for key, row in existing.items():
        if key not in wanted:
            row.delete()
    OpeningRange.objects.bulk_create(
        OpeningRange(commune=commune, service=service, weekday=d, opens=o, closes=c)
        for (d, o, c) in sorted(wanted - existing.keys())
    )


def _load_commune(data: dict) -> Commune:
    commune, _created = Commune.objects.update_or_create(slug=data["slug"], defaults=data["fields"])
    _sync_ranges(commune, None, data["town_hall_hours"])
    services = {}
    for position, spec in enumerate(data["services"]):
        fields = {k: v for k, v in spec.items() if k not in {"name", "hours"}}
        service, _created = Service.objects.update_or_create(
            commune=commune, name=spec["name"], defaults={**fields, "position": position}
        )
        services[service.name] = service
        _sync_ranges(commune, service, spec.get("hours"))
    for spec in data["closures"]:
        Closure.objects.update_or_create(
            commune=commune,
            service=services.get(spec["service"]),
            start=spec["start"],
            defaults={"end": spec["end"], "reason": spec["reason"]},
        )
    for spec in data["news"]:
        Actualite.objects.update_or_create(
            commune=commune,
            slug=spec["slug"],
            defaults={"expires_at": None, **{k: v for k, v in spec.items() if k != "slug"}},
        )
    return commune


def _load_user(username, commune, first_name, last_name, email) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first_name, "last_name": last_name, "email": email},
    )
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    if commune is None:
        if not (user.is_superuser and user.is_staff and user.commune_id is None):
            user.is_superuser = user.is_staff = True
            user.commune = None
            user.save(update_fields=["is_superuser", "is_staff", "commune"])
    else:
        make_commune_admin(user=user, commune=commune)
    return user


@transaction.atomic
def load() -> list[Commune]:
    communes = [_load_commune(data) for data in COMMUNES]
    by_slug = {c.slug: c for c in communes}
    for username, slug, first_name, last_name, email in DEMO_USERS:
        _load_user(username, by_slug.get(slug), first_name, last_name, email)
    return communes
