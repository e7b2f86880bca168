"""`manage.py run_periodic JOB [options of JOB]`: one entry point for the timers, for every
periodic job. Parvis's own periodic commands lock and record themselves (PeriodicCommand), so
this only passes them on; Django's `clearsessions` and django-tasks-db's
`prune_db_task_results` are run here under the same lock and record."""

from io import StringIO

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError

from parvis.background.periodic import (
    AlreadyDone,
    AlreadyRunning,
    PeriodicCommand,
    already_done_message,
    already_running_message,
    periodic_run,
)

# Other apps' commands run as periodic jobs (README « Periodic commands »).
WRAPPED = ("clearsessions", "prune_db_task_results")


class Command(BaseCommand):
    help = (
        "Lance une tâche périodique (une seule machine à la fois l'exécute ; "
        "chaque exécution est enregistrée)."
    )

    def add_arguments(self, parser):
        parser.add_argument("job", help="nom de la commande périodique")
        parser.add_argument("options", nargs="*", help="ses options, après « -- »")

    def handle(self, *args, job, options, **base):
        app = get_commands().get(job)
        if app is None:
            raise CommandError(f"Commande inconnue : {job}")
        command = load_command_class(app, job) if isinstance(app, str) else app
        if isinstance(command, PeriodicCommand):
            call_command(command, *options, stdout=self.stdout, stderr=self.stderr)
            return
        if job not in WRAPPED:
            raise CommandError(f"{job} n'est pas une tâche périodique.")
        output = StringIO()
        try:
            with periodic_run(job) as record:
                try:
                    call_command(command, *options, stdout=output, stderr=output)
                finally:
                    record.summary = output.getvalue().strip()
        except AlreadyDone:
            self.stdout.write(already_done_message(job))
            return
        except AlreadyRunning:
            self.stdout.write(already_running_message(job))
            return
        if record.summary:
            self.stdout.write(record.summary)
