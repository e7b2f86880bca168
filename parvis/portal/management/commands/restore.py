"""manage.py restore --from DIR: a backup of manage.py backup into an EMPTY database and EMPTY
stores (those of the settings: DATABASE_URL, PARVIS_STORAGE…), never over a running deployment
(parvis/backup.py; README « Backups »)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from parvis.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde (manage.py backup) dans une base de données et un stockage "
        "vides, après avoir vérifié chaque fichier."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, type=Path)

    def handle(self, *args, source, **options):
        try:
            summary = restore(source)
        except BackupError as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{alias} : {count}" for alias, count in summary.files.items())
        self.stdout.write(
            f"Restauration faite depuis {source} (base {summary.database} ; fichiers {counts})."
        )
