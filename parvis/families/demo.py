"""Demo households, citizens and agents (seeds 000 and 003). Idempotent, like communes.demo.

Everything here is documented in the README and printed by `manage.py load_demo`; these
credentials exist only in demo data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from django.db import transaction

from parvis.accounts.models import AgentRole, User
from parvis.communes.demo import DEMO_PASSWORD
from parvis.communes.models import Commune, Service
from parvis.families.models import (
    AuthorisedPerson,
    Famille,
    FamilyAccess,
    MemberKind,
    Personne,
    QfSource,
    QuotientFamilial,
    SchoolLevel,
    ServiceKey,
)
from parvis.families.services import format_key, key_digest

PARIS = ZoneInfo("Europe/Paris")

CITIZEN_EMAIL = "francoise.durand@example.fr"
# A key nobody used yet, to try the « Authentification » step (LEROY family).
UNUSED_KEY = "DEM0-CSP2-026K-EY42"
FAMILY_CODE_READY = "F000001"  # Carrières-sur-Seine, MARTIN family: password DEMO_PASSWORD
FAMILY_CODE_FIRST_LOGIN = "F000002"  # MOREAU family: temporary password below, first login
FIRST_LOGIN_PASSWORD = "PREMIERE26"  # noqa: S105 — documented demo credential
# Separated parents (issue 19 §2): Nina ROBERT belongs to her mother's foyer (PETIT) and to her
# father's (ROBERT); activities/demo.py records their custody rule (alternating weeks).
MOTHER_EMAIL = "camille.petit@example.fr"
FATHER_EMAIL = "julien.robert@example.fr"
PETIT_NUMBER, ROBERT_NUMBER = 41, 42  # next to activities/demo.py's BERNARD (40)

AGENTS = [
    # (commune slug, username, role)
    ("carrieres-sous-poissy", "csp-enfance", AgentRole.Role.ENFANCE),
    ("carrieres-sous-poissy", "csp-scolaire", AgentRole.Role.SCOLAIRE),
    ("carrieres-sous-poissy", "csp-etat-civil", AgentRole.Role.ETAT_CIVIL),
    ("carrieres-sous-poissy", "csp-regie", AgentRole.Role.REGIE),
    ("carrieres-sous-poissy", "csp-concepteur", AgentRole.Role.CONCEPTEUR),
    # Carrières-sur-Seine's SEJ hands out the code famille letters.
    ("carrieres-sur-seine", "css-sej", AgentRole.Role.ENFANCE),
]


def _famille(commune, number, name, **fields) -> Famille:
    famille, _created = Famille.objects.update_or_create(
        commune=commune, number=number, defaults={"name": name, **fields}
    )
    return famille


def _member(famille, kind, first_names, **fields) -> Personne:
    member, _created = Personne.objects.update_or_create(
        famille=famille,
        kind=kind,
        first_names=first_names,
        defaults={"commune": famille.commune, "last_name": famille.name, **fields},
    )
    return member


def _citizen(commune, username, *, password=DEMO_PASSWORD, keep_password=False, **fields) -> User:
    user, created = User.objects.update_or_create(
        username=username, defaults={"commune": commune, "is_staff": False, **fields}
    )
    # A password the visitor changed in a demo session is reset; a first-login account that
    # has chosen its own password is left alone.
    if created or not (keep_password or user.check_password(password)):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _key(famille, service, raw) -> ServiceKey:
    key, _created = ServiceKey.objects.get_or_create(
        digest=key_digest(raw),
        defaults={
            "commune": famille.commune,
            "famille": famille,
            "service": service,
            "hint": raw[-4:],
        },
    )
    return key


def _load_carrieres_sous_poissy(commune: Commune) -> None:
    enfance = Service.objects.get(commune=commune, kind="enfance")
    durand = _famille(
        commune, 1, "DURAND", address="12, rue de l'Église", postal_code="78955", city=commune.name
    )
    francoise = _member(
        durand, MemberKind.RESPONSABLE, "Françoise", civility="mme", birth_date=date(1986, 4, 9),
        email=CITIZEN_EMAIL, phone="06 12 34 56 78",
    )  # fmt: skip
    _member(durand, MemberKind.RESPONSABLE, "Marc", civility="m", birth_date=date(1984, 11, 2),
            phone="06 98 76 54 32")  # fmt: skip
    _member(
        durand, MemberKind.ENFANT, "Léa", birth_date=date(2022, 3, 14), school="Ecole du PARC",
        class_name="Moyenne section", level=SchoolLevel.MATERNELLE,
    )  # fmt: skip
    _member(
        durand, MemberKind.ENFANT, "Hugo", birth_date=date(2018, 6, 2), school="Ecole du PARC",
        class_name="CE2", level=SchoolLevel.ELEMENTAIRE, has_pai=True,
        health_notes="Allergie à l'arachide (PAI).",
    )  # fmt: skip
    AuthorisedPerson.objects.update_or_create(
        famille=durand, last_name="MARTIN", first_name="Jeanne",
        defaults={"commune": commune, "phone": "01 39 74 00 00", "relationship": "Grand-mère"},
    )  # fmt: skip
    user = _citizen(
        commune,
        "carrieres-sous-poissy/francoise.durand",
        email=CITIZEN_EMAIL,
        civility="mme",
        first_name="Françoise",
        last_name="DURAND",
        phone="06 12 34 56 78",
        address="12, rue de l'Église",
        postal_code="78955",
        city=commune.name,
        email_confirmed_at=datetime(2022, 1, 3, 18, 2, tzinfo=PARIS),
        date_joined=datetime(2022, 1, 3, 18, 1, tzinfo=PARIS),
    )
    if user.previous_login is None:
        # As in the seed's screenshot: her next login greets her with « Dernière connexion le
        # 12/01/2022 à 14:33 ».
        user.previous_login = user.last_login = datetime(2022, 1, 12, 14, 33, tzinfo=PARIS)
        user.save(update_fields=["previous_login", "last_login"])
    durand_key = _key(durand, enfance, "DEM0-DURA-ND20-22K1")
    # Made at the desk before she created her space with it, the account linked that evening:
    # « Créée le » comes before « Utilisée le », and the link is not dated the day of the load.
    used = datetime(2022, 1, 3, 18, 5, tzinfo=PARIS)
    ServiceKey.objects.filter(pk=durand_key.pk).update(
        created_at=datetime(2021, 12, 20, 10, 30, tzinfo=PARIS), used_at=used, used_by=user
    )
    access, _created = FamilyAccess.objects.update_or_create(
        famille=durand,
        user=user,
        defaults={"commune": commune, "personne": francoise, "key": durand_key},
    )
    FamilyAccess.objects.filter(pk=access.pk).update(created_at=used)

    leroy = _famille(commune, 2, "LEROY", address="5, allée des Tilleuls", postal_code="78955",
                     city=commune.name)  # fmt: skip
    _member(leroy, MemberKind.RESPONSABLE, "Nadia", civility="mme", email="nadia.leroy@example.fr")
    _member(
        leroy, MemberKind.ENFANT, "Inès", birth_date=date(2019, 9, 21), school="Ecole du PARC",
        class_name="CE1", level=SchoolLevel.ELEMENTAIRE,
    )  # fmt: skip
    _key(leroy, enfance, UNUSED_KEY)

    admin = User.objects.get(username="admin-carrieres-sous-poissy")
    AgentRole.objects.get_or_create(
        user=admin, role=AgentRole.Role.ADMINISTRATEUR, defaults={"commune": commune}
    )
    _load_separated_parents(commune)


def _load_separated_parents(commune: Commune) -> None:
    """Two households of one child, each with its own account, address and QF: Nina ROBERT's
    mother's foyer (PETIT, QF 1 250 €) and her father's (ROBERT, QF 640 €)."""
    for number, name, first, civility, email, address, qf in (
        (PETIT_NUMBER, "PETIT", "Camille", "mme", MOTHER_EMAIL, "4, rue des Écoles", "1250.00"),
        (ROBERT_NUMBER, "ROBERT", "Julien", "m", FATHER_EMAIL, "27, quai de Seine", "640.00"),
    ):
        famille = _famille(commune, number, name, address=address, postal_code="78955",
                           city=commune.name)  # fmt: skip
        parent = _member(famille, MemberKind.RESPONSABLE, first, civility=civility, email=email)
        user = _citizen(
            commune, f"carrieres-sous-poissy/{email.split('@')[0]}", email=email,
            civility=civility, first_name=first, last_name=name, address=address,
            postal_code="78955", city=commune.name,
            date_joined=datetime(2025, 9, 1, 17, 30, tzinfo=PARIS),
            email_confirmed_at=datetime(2025, 9, 1, 18, 0, tzinfo=PARIS),
        )  # fmt: skip
        FamilyAccess.objects.update_or_create(
            famille=famille, user=user, defaults={"commune": commune, "personne": parent}
        )
        QuotientFamilial.objects.update_or_create(
            famille=famille, source=QfSource.AGENT, valid_from=date(2025, 1, 1),
            defaults={"commune": commune, "value": D(qf), "valid_until": date(2030, 12, 31)},
        )  # fmt: skip
        if number == PETIT_NUMBER:
            _member(
                famille, MemberKind.ENFANT, "Nina", last_name="ROBERT",
                birth_date=date(2017, 10, 5), school="Ecole du PARC", class_name="CM1",
                level=SchoolLevel.ELEMENTAIRE,
            )  # fmt: skip


def _load_carrieres_sur_seine(commune: Commune) -> None:
    martin = _famille(commune, 1, "MARTIN", address="8, rue Gabriel-Péri", postal_code="78420",
                      city=commune.name)  # fmt: skip
    sophie = _member(
        martin, MemberKind.RESPONSABLE, "Sophie", civility="mme", email="sophie.martin@example.fr",
        phone="06 11 22 33 44",
    )  # fmt: skip
    _member(
        martin, MemberKind.ENFANT, "Jules", birth_date=date(2017, 5, 30),
        school="École Les Alouettes", class_name="CM1", level=SchoolLevel.ELEMENTAIRE,
    )  # fmt: skip
    user = _citizen(
        commune, "carrieres-sur-seine/F000001", family_code=FAMILY_CODE_READY, civility="mme",
        first_name="Sophie", last_name="MARTIN", email="sophie.martin@example.fr",
        email_confirmed_at=datetime(2025, 9, 2, 8, 0, tzinfo=PARIS), must_choose_password=False,
        phone="06 11 22 33 44", address="8, rue Gabriel-Péri", postal_code="78420",
        city=commune.name, date_joined=datetime(2025, 9, 1, 17, 30, tzinfo=PARIS),
    )  # fmt: skip
    if user.previous_login is None:
        # A family that already uses its space (it chose its password long ago): greeted with
        # its last visit, « Dernière connexion le 17/11/2025 à 18:42 », not « Première connexion »
        # (that is MOREAU's, below).
        user.previous_login = user.last_login = datetime(2025, 11, 17, 18, 42, tzinfo=PARIS)
        user.save(update_fields=["previous_login", "last_login"])
    FamilyAccess.objects.update_or_create(
        famille=martin, user=user, defaults={"commune": commune, "personne": sophie}
    )

    moreau = _famille(commune, 2, "MOREAU", postal_code="78420", city=commune.name)
    _member(moreau, MemberKind.RESPONSABLE, "Karim", civility="m")
    existing = User.objects.filter(username="carrieres-sur-seine/F000002").first()
    first_login_done = existing is not None and not existing.must_choose_password
    user = _citizen(
        commune, "carrieres-sur-seine/F000002", password=FIRST_LOGIN_PASSWORD,
        keep_password=first_login_done, family_code=FAMILY_CODE_FIRST_LOGIN, civility="m",
        first_name="Karim", last_name="MOREAU",
        **({} if first_login_done else {"must_choose_password": True}),
    )  # fmt: skip
    FamilyAccess.objects.get_or_create(famille=moreau, user=user, defaults={"commune": commune})


def _load_agents() -> None:
    for slug, username, role in AGENTS:
        commune = Commune.objects.get(slug=slug)
        agent, created = User.objects.update_or_create(
            username=username,
            defaults={
                "commune": commune,
                "is_staff": True,
                "is_superuser": False,
                "first_name": role.label,
                "last_name": "AGENT",
                "email": f"{username}@{slug}.fr",
            },
        )
        if created or not agent.check_password(DEMO_PASSWORD):
            agent.set_password(DEMO_PASSWORD)
            agent.save(update_fields=["password"])
        AgentRole.objects.get_or_create(user=agent, role=role, defaults={"commune": commune})


@transaction.atomic
def load() -> None:
    _load_carrieres_sous_poissy(Commune.objects.get(slug="carrieres-sous-poissy"))
    _load_carrieres_sur_seine(Commune.objects.get(slug="carrieres-sur-seine"))
    _load_agents()


DEMO_LOGINS = [
    # (commune slug, where, login, password, who)
    ("carrieres-sous-poissy", "connexion", CITIZEN_EMAIL, DEMO_PASSWORD,
     "Madame Françoise DURAND, famille DURAND (2 enfants)"),
    ("carrieres-sous-poissy", "creer-mon-espace", "(clé)", format_key(UNUSED_KEY.replace("-", "")),
     "clé Espace Citoyens Enfance de la famille LEROY, non utilisée"),
    ("carrieres-sous-poissy", "connexion", MOTHER_EMAIL, DEMO_PASSWORD,
     "Madame Camille PETIT, mère de Nina ROBERT (garde alternée, semaines paires)"),
    ("carrieres-sous-poissy", "connexion", FATHER_EMAIL, DEMO_PASSWORD,
     "Monsieur Julien ROBERT, père de Nina ROBERT (garde alternée, semaines impaires)"),
    ("carrieres-sur-seine", "connexion", FAMILY_CODE_READY, DEMO_PASSWORD,
     "code famille de la famille MARTIN"),
    ("carrieres-sur-seine", "connexion", FAMILY_CODE_FIRST_LOGIN, FIRST_LOGIN_PASSWORD,
     "code famille MOREAU, première connexion"),
    *((slug, "guichet/connexion", username, DEMO_PASSWORD, f"agent, rôle {role.label}")
      for slug, username, role in AGENTS),
]  # fmt: skip
