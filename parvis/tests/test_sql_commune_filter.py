"""Issue 18 §2: every SQL statement of a commune's page that reads or writes a commune's table
says its commune_id, so that a sharded PostgreSQL distributed by commune_id (Citus) sends it to
one node. The main pages of both sides run on the demo data under CaptureQueriesContext; each
statement goes through parvis.testing.commune_sql. What is left, and why, is in
sql_commune_filter_allowed.py: a new offender fails here, and so does an allowance no longer
needed."""

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parvis import mail
from parvis.accounts.models import AgentRole, Attempt, User
from parvis.activities import services as activities_services
from parvis.activities import services_fermeture
from parvis.activities.models import BookingStatus, Inscription, Reservation
from parvis.activities.rules import PARIS
from parvis.background import jobs
from parvis.background.models import Job
from parvis.billing import services as billing_services
from parvis.billing import services_delivery, services_runs
from parvis.billing import tasks as billing_tasks
from parvis.billing.models import Instalment, InstalmentStatus, Invoice
from parvis.billing.tests.invoicing_factories import NOV, NOV_DAYS, book, child, family, make_world
from parvis.communes import tenancy
from parvis.communes.demo import DEMO_PASSWORD as PASSWORD
from parvis.communes.models import Commune
from parvis.demarches import services as demarches_services
from parvis.demarches.models import Demande, Procedure
from parvis.demarches.tests.suivi_support import file_request
from parvis.families.models import Famille
from parvis.families.tests.factories import CitizenFactory, FamilyAccessFactory
from parvis.payments.services_sepa import mark_sent
from parvis.payments.tests.conftest import make_world as make_sepa_world
from parvis.payments.tests.sepa_fixtures import collection_day, creditor, regie_agent, sign
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.rgpd import services as rgpd_services
from parvis.testing.commune_sql import commune_tables, offences
from parvis.testing.guichet import make_agent
from parvis.tests.sql_commune_filter_allowed import ALLOWED

NEW_ADDRESS = {"street": "4, avenue des Tilleuls", "postal_code": "78955", "city": "Carrières"}
TABLES = {
    "billing_invoice",
    "billing_invoiceline",
    "families_famille",
    "families_personne",
}


def test_the_checker_finds_a_commune_table_read_without_its_commune_id():
    bad = 'SELECT "billing_invoice"."id" FROM "billing_invoice" WHERE "billing_invoice"."id" = 1'
    assert [o.table for o in offences(bad, TABLES)] == ["billing_invoice"]
    good = bad + ' AND "billing_invoice"."commune_id" = 3'
    assert offences(good, TABLES) == []


def test_the_checker_wants_the_predicate_of_each_table_and_alias():
    joined = (
        'SELECT * FROM "billing_invoiceline" INNER JOIN "billing_invoice" ON '
        '("billing_invoiceline"."invoice_id" = "billing_invoice"."id") '
        'WHERE "billing_invoice"."commune_id" = 3'
    )
    assert [o.table for o in offences(joined, TABLES)] == ["billing_invoiceline"]
    co_located = joined.replace(
        '"billing_invoice"."id")',
        '"billing_invoice"."id" AND ("billing_invoice"."commune_id" = '
        '"billing_invoiceline"."commune_id"))',
    )
    assert offences(co_located, TABLES) == []
    subquery = (
        'SELECT * FROM "families_famille" WHERE "families_famille"."commune_id" = 3 AND '
        '"families_famille"."id" IN (SELECT U0."famille_id" FROM "families_personne" U0 '
        "WHERE U0.\"kind\" = 'enfant')"
    )
    assert [o.table for o in offences(subquery, TABLES)] == ["families_personne"]
    assert (
        offences(subquery.replace("WHERE U0.", 'WHERE U0."commune_id" IN (3) AND U0.'), TABLES)
        == []
    )
    # An unqualified `"commune_id" = (U0."commune_id")` compares nothing to it (always true).
    unqualified = subquery.replace("WHERE U0.", 'WHERE "commune_id" = (U0."commune_id") AND U0.')
    assert [o.table for o in offences(unqualified, TABLES)] == ["families_personne"]
    # A column of the table, not the table: EXTRACT(… FROM "t"."c").
    extract = (
        'SELECT EXTRACT(YEAR FROM "billing_invoice"."month") FROM "billing_invoice" '
        'WHERE "billing_invoice"."commune_id" = 3'
    )
    assert offences(extract, TABLES) == []


def test_the_checker_wants_writes_to_carry_the_commune():
    update = 'UPDATE "billing_invoice" SET "status" = \'x\' WHERE "billing_invoice"."id" = 1'
    assert len(offences(update, TABLES)) == 1
    assert offences(update + ' AND "billing_invoice"."commune_id" = 3', TABLES) == []
    delete = 'DELETE FROM "families_personne" WHERE "families_personne"."id" IN (1, 2)'
    assert len(offences(delete, TABLES)) == 1
    insert = 'INSERT INTO "billing_invoiceline" ("invoice_id", "label") VALUES (1, \'x\')'
    assert len(offences(insert, TABLES)) == 1
    assert offences(insert.replace('("invoice_id"', '("commune_id", "invoice_id"'), TABLES) == []
    assert offences('SAVEPOINT "s1"', TABLES) == []
    assert offences('SELECT * FROM "django_session" WHERE "session_key" = 1', TABLES) == []


def test_the_demo_has_commune_tables_to_check():
    assert {"billing_invoice", "billing_invoiceline", "activities_reservation"} <= commune_tables()


def pages(commune: Commune) -> tuple[list, list]:
    """(client, method, url, data) of both sides' main pages, on the demo's DURAND family."""
    slug = commune.slug
    famille = Famille.objects.get(commune=commune, name="DURAND")
    citizen_user = User.objects.get(commune=commune, email="francoise.durand@example.fr")
    agent_user = User.objects.filter(
        commune=commune, is_staff=True, agent_roles__role="administrateur"
    ).order_by("username")[0]
    citizen, agent = Client(), Client()  # they log in through the pages, first
    inscription = (
        Inscription.objects.filter(famille=famille, status="acceptee")
        .select_related("activity", "child")
        .order_by("pk")
        .first()
    )
    activity, child = inscription.activity, inscription.child
    unit = activity.units.order_by("pk").first()
    day = timezone.localdate() + timedelta(days=21)
    day += timedelta(days=(7 - day.weekday()) % 7 + 1)  # a Tuesday, three weeks ahead
    invoice = Invoice.objects.filter(famille=famille).order_by("pk").first()
    demande, _code = file_request(
        Procedure.objects.get(commune=commune, slug="changement-de-coordonnees"),
        user=citizen_user,
        answers={"adresse": NEW_ADDRESS, "telephone": "07 00 11 22 33", "tout_le_foyer": "oui"},
    )
    me = f"/{slug}/mon-espace"
    calendar = f"{me}/reservations/{activity.slug}/{child.pk}/"
    citizen_pages = [
        ("GET", f"/{slug}/", None),
        ("POST", f"/{slug}/connexion/", {"username": citizen_user.email, "password": PASSWORD}),
        ("GET", f"{me}/", None),
        ("GET", f"{me}/mes-informations/", None),
        ("GET", f"{me}/documents/", None),
        ("GET", f"{me}/inscriptions/", None),
        ("GET", f"{me}/activites/", None),
        ("GET", f"{me}/reservations/", None),
        ("GET", calendar, None),
        ("GET", f"{me}/reservations/foyer/", None),
        ("POST", f"{calendar}panier/", {"ajout": [f"{unit.pk}:{day.isoformat()}"]}),
        ("GET", f"{calendar}confirmation/", None),
        ("GET", f"{me}/absences/", None),
        ("GET", f"{me}/factures/", None),
        ("GET", f"{me}/factures/{invoice.pk}/", None),
        ("GET", f"/{slug}/demarches/", None),
        ("GET", f"/{slug}/demarches/mes-demandes/", None),
        ("GET", f"/{slug}/demarches/mes-demandes/{demande.number}/", None),
    ]
    agent_pages = [
        (
            "POST",
            f"/{slug}/guichet/connexion/",
            {"username": agent_user.username, "password": PASSWORD},
        ),
        ("GET", f"/{slug}/guichet/", None),
        ("GET", f"/{slug}/guichet/?q=DURAND", None),
        ("GET", f"/{slug}/guichet/familles/{famille.number}/", None),
        ("GET", f"/{slug}/guichet/demandes/", None),
        ("GET", f"/{slug}/guichet/demandes/{demande.number}/", None),
        ("GET", f"/{slug}/guichet/documents/", None),
        ("GET", f"/{slug}/guichet/activites/", None),
        ("GET", f"/{slug}/guichet/activites/a-valider/", None),
        ("GET", f"/{slug}/guichet/regie/", None),
        ("GET", f"/{slug}/guichet/regie/factures/{invoice.pk}/", None),
        ("GET", f"/{slug}/guichet/regie/paiements/", None),
        ("GET", f"/{slug}/guichet/regie/facturation/", None),
        ("GET", f"/{slug}/guichet/regie/echeanciers/", None),
        ("GET", f"/{slug}/guichet/statistiques/", None),
    ]
    return [(citizen, *p) for p in citizen_pages] + [(agent, *p) for p in agent_pages]


def _names_one(sql: str, tables: set[str]) -> bool:
    return any(f'"{table}"' in sql for table in tables)


@pytest.mark.django_db
def test_the_main_pages_of_both_sides_say_the_commune_of_every_table_they_query():
    for loader in LOADERS:
        loader()
    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    tables = commune_tables()
    found, used, statuses, checked = [], set(), {}, 0
    for client, method, url, data in pages(commune):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url) if method == "GET" else client.post(url, data)
        statuses[url] = response.status_code
        for query in captured.captured_queries:
            checked += _names_one(query["sql"], tables)
            for offence in offences(query["sql"], tables):
                matches = {pattern for pattern in ALLOWED if pattern in offence.sql}
                used |= matches
                if not matches:
                    found.append(f"{method} {url}\n  {offence.table}: {offence.sql}")
    assert checked > 150  # the pages did read the commune's tables (SQLite: 300+)
    assert all(status in (200, 302) for status in statuses.values()), statuses
    logins = [url for url in statuses if url.endswith("connexion/")]
    assert len(logins) == 2 and all(statuses[url] == 302 for url in logins), statuses
    assert found == [], "\n".join(found)
    assert set(ALLOWED) - used == set(), "allowances no longer needed"


@pytest.mark.django_db
def test_the_invoicing_run_says_the_commune_of_every_table_it_queries():
    """The run works in a task, without a request: it enters its commune's scope itself."""

    with time_machine.travel(date(2026, 12, 1), tick=False):
        world = make_world()
        for index in range(3):
            famille = family(world, f"FAMILLE{index:02d}", paperless_invoice=index == 1)
            kid = child(world, famille, "Enfant", date(2017, 1, 1))
            book(kid, world.meal, NOV_DAYS[: index + 1])
        tables = commune_tables()
        with CaptureQueriesContext(connection) as captured:
            run = services_runs.issue_run(regie=world.regie, month=NOV, actor=None)
    assert run.invoice_count == 3
    statements = [q["sql"] for q in captured.captured_queries]
    assert sum(_names_one(sql, tables) for sql in statements) > 10
    found = [str(o) for sql in statements for o in offences(sql, tables)]
    assert found == [], "\n".join(found)


def _run_queued(callbacks) -> list[str]:
    """Runs the tasks queued by `callbacks` (and those they queue) as a worker would, outside
    any request's scope; returns their statements."""
    assert tenancy.current_commune_id() is None
    with (
        CaptureQueriesContext(connection) as captured,
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        for callback in callbacks:
            callback()
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.django_db
def test_the_tasks_of_a_journey_say_the_commune_of_every_table_they_query(
    django_capture_on_commit_callbacks, monkeypatch
):
    """The background tasks (a worker, no request): each is queued with its commune's id and
    works in its scope (tenancy.commune_task, background.jobs). The run's task and its
    invoices' PDFs e-mailed (« Envoyer »), a payment's receipt PDF, the basket's summary
    e-mail, the closing of a day (a job: its batches and the families' e-mails), an RGPD
    export."""
    ran = []
    for module, name in (
        (billing_tasks.delivery, "send_invoices"),
        (billing_tasks.delivery, "send_receipt"),
        (services_runs, "_work"),
        (rgpd_services, "build_export"),
        (jobs, "_run"),
        (mail, "_send_one"),
    ):
        real = getattr(module, name)
        monkeypatch.setattr(
            module,
            name,
            lambda *a, _real=real, _name=name, **k: ran.append(_name) or _real(*a, **k),
        )
    with time_machine.travel(datetime(2026, 12, 1, 10, tzinfo=PARIS), tick=False):
        world = make_world()
        commune = world.commune
        kids = []
        for index in range(3):
            famille = family(world, f"FAMILLE{index:02d}", paperless_invoice=True)
            FamilyAccessFactory(famille=famille, user__email=f"f{index}@example.fr")
            kid = child(world, famille, "Enfant", date(2017, 1, 1))
            book(kid, world.meal, NOV_DAYS[: index + 1])
            kids.append(kid)
        tables = commune_tables()
        statements = []

        def queued_by(work):
            # The request's part, in its commune's scope as CommuneMiddleware sets it.
            with tenancy.scope(commune.pk), django_capture_on_commit_callbacks() as callbacks:
                result = work()
            statements.extend(_run_queued(callbacks))
            return result

        run, _queued = queued_by(
            lambda: services_runs.start_run(regie=world.regie, month=NOV, actor=None)
        )
        agent = make_agent(commune, AgentRole.Role.ADMINISTRATEUR)
        queued_by(lambda: services_delivery.deliver_run(run=run, actor=agent))
        invoice = Invoice.objects.filter(run=run).order_by("pk").first()
        queued_by(
            lambda: billing_services.record_payment(
                regie=world.regie, famille=invoice.famille, allocations=[(invoice, invoice.total)],
                method="especes", received_on=date(2026, 12, 1), actor=None,
            )
        )  # fmt: skip
        monday = date(2026, 12, 14)
        queued_by(
            lambda: activities_services.validate_basket(
                famille=kids[0].famille, child=kids[0], activity=world.peri,
                add=[(world.am, monday)], remove=[], actor=None,
            )
        )  # fmt: skip
        for kid in kids[1:]:
            book(kid, world.am, [monday])
        job = queued_by(
            lambda: services_fermeture.start_closing(
                commune=commune, activity=world.peri, day=monday, reason="Grève", actor=agent
            )
        )
        export = queued_by(
            lambda: rgpd_services.request_export(
                user=CitizenFactory(commune=commune), commune=commune
            )
        )
    run.refresh_from_db()
    job.refresh_from_db()
    export.refresh_from_db()
    assert (run.invoice_count, job.status, export.status) == (3, Job.Status.DONE, "prete")
    assert {"_work", "send_invoices", "send_receipt", "_run", "_send_one", "build_export"} <= set(
        ran
    ), ran
    assert sum(_names_one(sql, tables) for sql in statements) > 50
    found = [str(o) for sql in statements for o in offences(sql, tables)]
    assert found == [], "\n".join(found)


# What the timers run (README « Periodic commands »), each through `manage.py run_periodic`.
PERIODIC_JOBS = (
    "expire_offers",
    "send_booking_reminders",
    "send_penalty_warnings",
    "send_plan_reminders",
    "run_invoicing",
    "purge_drafts",
    "settle_direct_debits",
    "apply_retention",
    "purge_emails",
    "purge_attempts",
    "clearsessions",
)


@pytest.mark.django_db
def test_the_periodic_commands_say_the_commune_of_every_table_they_query(
    settings, django_capture_on_commit_callbacks
):
    """Each periodic command works commune by commune in its scope (tenancy.for_each_commune):
    run over the demo's two communes (and a third whose direct debits are due), with work for
    each (an offer past its time, a late instalment, an abandoned draft, a batch to settle, the
    month to bill), no statement of theirs reads or writes a commune's table without its
    commune_id. The tables of the platform (e-mails, periodic runs, attempts, sessions) are no
    commune's."""
    settings.PARVIS_PERIODIC_MIN_INTERVAL = 0
    for loader in LOADERS:
        loader()
    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    now = timezone.now()
    waiting = Reservation.objects.filter(status=BookingStatus.LISTE_ATTENTE).order_by("pk")[0]
    Reservation.objects.filter(pk=waiting.pk).update(
        status=BookingStatus.PROPOSEE, offer_expires_at=now - timedelta(hours=1)
    )
    instalment = Instalment.objects.filter(status=InstalmentStatus.A_PAYER).order_by("due_on")[0]
    Instalment.objects.filter(pk=instalment.pk).update(
        due_on=timezone.localdate() - timedelta(days=1)
    )
    draft = demarches_services.start_draft(
        procedure=Procedure.objects.get(commune=commune, slug="changement-de-coordonnees"),
        user=User.objects.get(commune=commune, email="francoise.durand@example.fr"),
        draft_key="cle-de-brouillon",
    )
    Demande.objects.filter(pk=draft.pk).update(updated_at=now - timedelta(days=200))
    Attempt.objects.create(kind=Attempt.Kind.ADMIN_LOGIN, at=now - timedelta(days=40))
    sepa = make_sepa_world(slug="prelevements", name="Prélèvements")
    creditor(sepa.regie)
    sepa.agent = regie_agent(sepa)
    sign(sepa)
    batch = services_sepa_batch(sepa)
    options = {"settle_direct_debits": ["--date", f"{batch.collection_date:%Y-%m-%d}"]}
    tables = commune_tables()
    outputs, found, checked = {}, [], {}
    for job in PERIODIC_JOBS:
        out = StringIO()
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            call_command("run_periodic", job, "--", *options.get(job, []), stdout=out)
        outputs[job] = out.getvalue()
        statements = [query["sql"] for query in captured.captured_queries]
        checked[job] = sum(_names_one(sql, tables) for sql in statements)
        found += [f"{job}: {o}" for sql in statements for o in offences(sql, tables)]
        assert tenancy.current_commune_id() is None
    assert found == [], "\n".join(found)
    assert "1 offre(s) expirée(s)." in outputs["expire_offers"]
    assert "1 échéance(s) passée(s) en retard ; 1 relance(s)" in outputs["send_plan_reminders"]
    assert "1 brouillon(s) supprimé(s)." in outputs["purge_drafts"]
    assert "2 prélèvement(s) réglé(s)" in outputs["settle_direct_debits"]
    assert "facture(s)" in outputs["run_invoicing"], outputs
    assert "1 tentative(s) de connexion à l'administration" in outputs["apply_retention"]
    # Every command of the communes' data did read their tables (each commune, in its scope).
    platform = {"purge_emails", "purge_attempts", "clearsessions"}
    assert all(checked[job] >= 3 for job in PERIODIC_JOBS if job not in platform), checked
    assert all(checked[job] == 0 for job in platform), checked


def services_sepa_batch(world):
    """A batch of the world's two invoices, transmitted to the bank (due on its date)."""
    from parvis.payments import services_sepa

    batch = services_sepa.prepare_batch(
        regie=world.regie, collection_date=collection_day(world), actor=world.agent
    )
    return mark_sent(batch=batch, actor=world.agent)
