"""manage.py backup --to DIR: the database and every stored file into a new folder
(parvis/backup.py; README « Backups »)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from parvis.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Sauvegarde la base de données (pg_dump, ou copie SQLite) et tous les fichiers stockés "
        "(dossiers locaux ou compartiment S3) dans un dossier neuf."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, type=Path, help="dossier neuf ou vide")

    def handle(self, *args, to, **options):
        try:
            summary = backup(to)
        except BackupError as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{alias} : {count}" for alias, count in summary.files.items())
        self.stdout.write(
            f"Sauvegarde faite dans {to} (base {summary.database} ; fichiers {counts})."
        )
