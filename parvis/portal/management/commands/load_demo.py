"""Load (or refresh) the demo communes and their data. Idempotent: run it as often as you like."""

import os

from django.core.management.base import BaseCommand

from parvis.accounts import demo as accounts_demo
from parvis.activities import demo as activities_demo
from parvis.billing import demo as billing_demo
from parvis.billing import demo_invoices as billing_demo_invoices
from parvis.communes import demo as communes_demo
from parvis.demarches import demo as demarches_demo
from parvis.families import demo as families_demo
from parvis.families import demo_api_particulier, demo_documents
from parvis.payments import demo as payments_demo

# Each app with demo data adds its loader here, in dependency order.
LOADERS = [
    communes_demo.load,
    accounts_demo.load,
    families_demo.load,
    demarches_demo.load,
    demo_documents.load,
    demo_api_particulier.load,
    activities_demo.load,
    billing_demo.load,
    billing_demo_invoices.load,
    payments_demo.load,
]


class Command(BaseCommand):
    help = "Charge les communes de démonstration (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
            help="Adresse du serveur, pour afficher les liens.",
        )

    def handle(self, *args, base_url, **options):
        for loader in LOADERS:
            loader()
        base = base_url.rstrip("/")
        out = self.stdout
        out.write(self.style.SUCCESS("Données de démonstration chargées."))
        out.write("")
        out.write(f"  Communes hébergées      {base}/")
        for data in communes_demo.COMMUNES:
            out.write(f"  {data['fields']['name']:<24}{base}/{data['slug']}/")
        out.write(f"  Administration          {base}/admin/")
        out.write(f"  Courriels (dév.)        {base}/_dev/outbox/")
        out.write("")
        out.write(f"  Identifiants de démonstration (mot de passe : {communes_demo.DEMO_PASSWORD})")
        for username, slug, *_rest in communes_demo.DEMO_USERS:
            role = f"administrateur de {slug}" if slug else "opérateur (toutes les communes)"
            out.write(f"    {username:<30}{role}")
        out.write("")
        out.write("  Espaces des familles et guichet des agents")
        for slug, where, login, password, who in families_demo.DEMO_LOGINS:
            out.write(f"    {base}/{slug}/{where}/")
            out.write(f"      {login}  /  {password}  — {who}")
        out.write("")
