"""Create a commune on a deployment, with its default services, its procedures and, optionally,
its first administrator: the first deployment's step after `createsuperuser` (README « First
deployment »). The operator can do the same in the admin (« Communes » › « Ajouter »)."""

import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from parvis.communes.models import HolidayZone
from parvis.communes.services import create_commune

PASSWORD_VARIABLE = "PARVIS_ADMIN_PASSWORD"  # noqa: S105 — the name of a variable


class Command(BaseCommand):
    help = (
        "Crée une commune (services par défaut, démarches) et, avec --admin, son premier "
        f"administrateur (mot de passe demandé, ou lu dans ${PASSWORD_VARIABLE})."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="identifiant dans l'adresse : /<slug>/")
        parser.add_argument("--name", required=True, help="nom de la commune")
        parser.add_argument("--postal-code", required=True)
        parser.add_argument("--address", required=True, help="adresse de l'Hôtel de Ville")
        parser.add_argument("--phone", required=True, help="téléphone de l'accueil central")
        parser.add_argument("--email", required=True, help="courriel de la mairie")
        parser.add_argument("--zone", required=True, choices=HolidayZone.values)
        parser.add_argument(
            "--family-code",
            action="store_true",
            help="les familles se connectent par « code famille » (et non par courriel)",
        )
        parser.add_argument("--admin", metavar="IDENTIFIANT", help="premier administrateur")
        parser.add_argument("--admin-email", default="")

    def handle(self, *args, **options):
        administrator = None
        if options["admin"]:
            administrator = {
                "username": options["admin"],
                "email": options["admin_email"],
                "password": self._password(),
            }
        try:
            commune = create_commune(
                actor=None,
                administrator=administrator,
                slug=options["slug"],
                name=options["name"],
                postal_code=options["postal_code"],
                address=options["address"],
                phone=options["phone"],
                email=options["email"],
                holiday_zone=options["zone"],
                login_with_email=not options["family_code"],
                login_with_family_code=options["family_code"],
            )
        except ValidationError as error:
            lines = [
                f"{field} : {' '.join(messages)}" for field, messages in error.message_dict.items()
            ]
            raise CommandError("\n".join(lines)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Commune « {commune.name} » créée : /{commune.slug}/")
        )
        if administrator:
            self.stdout.write(
                f"Administrateur « {administrator['username']} » : /admin/ et "
                f"/{commune.slug}/guichet/connexion/"
            )

    def _password(self) -> str:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password:
            return password
        if not os.isatty(0):
            raise CommandError(
                f"Donnez le mot de passe de l'administrateur dans ${PASSWORD_VARIABLE}."
            )
        password = getpass.getpass("Mot de passe de l'administrateur : ")
        if password != getpass.getpass("Le même, encore une fois : "):
            raise CommandError("Les deux mots de passe diffèrent.")
        return password
