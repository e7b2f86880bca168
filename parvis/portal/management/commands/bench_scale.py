"""`make bench-scale` (issue 18 §1): the reference commune of `make bench` alone in a database,
then the same commune among a thousand (README « Benchmark »).

PostgreSQL only. The database of DATABASE_URL names two throwaway databases, `<name>_alone` and
`<name>_big`, dropped and made anew (no other is touched):

1. alone: migrated, the reference commune built by `make bench`'s builder (families, a school
   year of bookings) with a régie (tariffs, QFs, the month before last invoiced, so the unpaid
   list has invoices);
2. big: a copy of alone (CREATE DATABASE … TEMPLATE), so the reference commune is the same row
   for row, then a template commune of the bench builder cloned in SQL up to `--communes`
   (parvis/portal/bench_scale.py), sequences reset, ANALYZE, and the clones checked;
3. the pages of both sides and the reference commune's monthly invoicing (rolled back) timed in
   each database, in `--rounds` alternating rounds, printed one figure a line with their ratio.
"""

import gc
import logging
import os
import statistics
import time

from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django.utils import timezone

from parvis.activities import bench as activities_bench
from parvis.communes.dates import first_of_month
from parvis.portal import bench_scale
from parvis.portal.management.commands.bench import build_reference_commune

REFERENCE = "reference"
WARM_UP = 3


class Command(BaseCommand):
    help = "Mille communes dans une base : les pages d'une commune seule et parmi les autres."

    def add_arguments(self, parser):
        parser.add_argument("--communes", type=int, default=1000)
        parser.add_argument("--families-total", type=int, default=100_000)
        parser.add_argument("--unit-days", type=int, default=30_000_000)
        parser.add_argument("--families", type=int, default=200, help="The reference commune's.")
        parser.add_argument("--requests", type=int, default=20)
        parser.add_argument("--rounds", type=int, default=2)
        parser.add_argument("--invoicing-runs", type=int, default=2)
        parser.add_argument(
            "--reuse", action="store_true", help="Measure the databases of an earlier run."
        )
        parser.add_argument("--no-check", action="store_true", help="Skip the clones' checks.")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("make bench-scale runs on PostgreSQL (BENCH_SCALE_DATABASE_URL).")
        setup_test_environment()
        logging.getLogger("django_tasks").setLevel(logging.WARNING)  # the run's e-mails
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.SECURE_SSL_REDIRECT = False
        out = self.stdout
        base = connection.settings_dict["NAME"]
        alone, big = f"{base}_alone", f"{base}_big"
        out.write(f"date: {timezone.now():%Y-%m-%d %H:%M} UTC")
        with connection._nodb_cursor() as cursor:
            version = cursor.connection.info.server_version
        out.write(f"database: PostgreSQL {version // 10000}.{version % 10000}")
        out.write(f"cpu_count: {os.cpu_count()}")
        out.write(f"load_average_before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not options["reuse"]:
            self.build(alone, big, options)
        self.measure_both(alone, big, options)
        out.write(f"load_average_after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # --- Building ---------------------------------------------------------------------------

    def build(self, alone, big, options):
        out = self.stdout
        today = timezone.localdate()
        recreate(alone)
        use(alone)
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        out.write(f"migrate_s: {time.perf_counter() - started:.1f}")
        started = time.perf_counter()
        reference = build_reference(options["families"], today)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # both databases measured with their statistics
        out.write(f"alone_build_s: {time.perf_counter() - started:.1f}")
        out.write(f"reference_families: {options['families']}")
        out.write(f"reference_reservations: {reference['reservations']}")
        use(None)
        started = time.perf_counter()
        recreate(big, template=alone)
        use(big)
        out.write(f"big_copy_s: {time.perf_counter() - started:.1f}")
        per_commune, per_child = bench_scale.sizes(
            communes=options["communes"],
            families_total=options["families_total"],
            unit_days=options["unit_days"],
            reference=(options["families"], reference["reservations"]),
        )
        out.write(f"families_per_cloned_commune: {per_commune}")
        out.write(f"unit_days_per_cloned_child: {per_child} (asked)")
        plan = bench_scale.clone_plan()
        with connection.cursor() as cursor:
            since = bench_scale.max_ids(cursor, plan)
        started = time.perf_counter()
        bench_scale.build_template(
            per_commune,
            today=today,
            unit_days_per_child=per_child,
            month=invoiced_month(today),
            build_commune=build_reference_commune,
        )
        out.write(f"template_build_s: {time.perf_counter() - started:.1f}")
        copies = options["communes"] - 2
        with connection.cursor() as cursor:
            ranges = bench_scale.template_ranges(cursor, plan, since)
            bench_scale.check_template(cursor, plan, ranges, copies)
            started = time.perf_counter()
            # No foreign-key triggers while loading (checked afterwards, below).
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET maintenance_work_mem = '256MB'")  # the deferred indexes' sorts
            with bench_scale.indexes_deferred(cursor, plan, ranges, copies) as deferred:
                written = bench_scale.clone(cursor, plan, ranges, copies)
                out.write(f"clone_insert_s: {time.perf_counter() - started:.1f}")
                out.write(f"indexes_deferred: {len(deferred)}")
            cursor.execute("SET session_replication_role = DEFAULT")
            out.write(f"clone_s: {time.perf_counter() - started:.1f}")
            out.write(f"clone_rows: {sum(written.values())}")
            bench_scale.reset_sequences(cursor, plan)
            started = time.perf_counter()
            cursor.execute("ANALYZE")
            out.write(f"analyze_s: {time.perf_counter() - started:.1f}")
            for name, model in [("communes", "communes_commune"), ("families", "families_famille"),
                                ("people", "families_personne"),
                                ("reservations", "activities_reservation"),
                                ("invoices", "billing_invoice")]:  # fmt: skip
                cursor.execute(f"SELECT count(*) FROM {model}")  # noqa: S608
                out.write(f"big_{name}: {cursor.fetchone()[0]}")
            cursor.execute("SELECT count(*) FROM families_personne WHERE kind = 'enfant'")
            out.write(f"big_children: {cursor.fetchone()[0]}")
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            out.write(f"big_database_size: {cursor.fetchone()[0]}")
            if not options["no_check"]:
                started = time.perf_counter()
                out.write(
                    f"counters_not_equal_to_bookings: {bench_scale.counters_not_equal(cursor)}"
                )
                wrong = bench_scale.inconsistencies(cursor, plan)
                out.write(f"rows_pointing_to_another_commune: {sum(wrong.values())}")
                for where, count in wrong.items():
                    out.write(f"rows_pointing_to_another_commune: {count} in {where}")
                out.write(f"check_s: {time.perf_counter() - started:.1f}")

    # --- Measuring --------------------------------------------------------------------------

    def measure_both(self, alone, big, options):
        out = self.stdout
        timings = {}  # (figure, database) → [ms]
        queries = {}
        sql_times = {}  # (figure, database) → [ms of the reads on the server], one a round
        for _round in range(options["rounds"]):
            for name in (alone, big):
                side = "big" if name == big else "alone"
                use(name)
                gc.collect()
                for figure, ms, count, sql in measure_pages(options["requests"]):
                    timings.setdefault((figure, side), []).extend(ms)
                    queries[(figure, side)] = count
                    if sql is not None:  # (server ms of the reads, this process's CPU ms)
                        sql_times.setdefault((figure, side), []).append(sql)
                for _ in range(options["invoicing_runs"]):
                    ms, count = measure_invoicing()
                    timings.setdefault(("invoicing", side), []).append(ms)
                    queries[("invoicing", side)] = count
        use(None)
        figures = list(dict.fromkeys(figure for figure, _side in timings))
        for figure in figures:
            p = {side: percentiles(timings[(figure, side)]) for side in ("alone", "big")}
            for side in ("big", "alone"):
                out.write(f"{figure}_{side}_ms_p50: {p[side][0]:.2f} ms")
                out.write(f"{figure}_{side}_ms_p95: {p[side][1]:.2f} ms")
            out.write(
                f"{figure}_queries_big/alone: {queries[(figure, 'big')]}/"
                f"{queries[(figure, 'alone')]}"
            )
            out.write(f"{figure}_ratio_p50: {p['big'][0] / p['alone'][0]:.2f}")
            out.write(f"{figure}_ratio_p95: {p['big'][1] / p['alone'][1]:.2f}")
            if (figure, "big") in sql_times:
                sql = {s: min(t[0] for t in sql_times[(figure, s)]) for s in ("alone", "big")}
                cpu = {s: statistics.median(t[1] for t in sql_times[(figure, s)])
                       for s in ("alone", "big")}  # fmt: skip
                out.write(f"{figure}_sql_ms_big/alone: {sql['big']:.2f}/{sql['alone']:.2f} ms")
                out.write(f"{figure}_cpu_ms_p50_big/alone: {cpu['big']:.1f}/{cpu['alone']:.1f} ms")
                out.write(f"{figure}_cpu_ratio: {cpu['big'] / cpu['alone']:.2f}")


def recreate(name: str, *, template: str | None = None) -> None:
    """Drops and creates the throwaway database `name` (of this command's only)."""
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)")
        copy = f" TEMPLATE {connection.ops.quote_name(template)}" if template else ""
        cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}{copy}")


def use(name: str | None) -> None:
    """Points the default connection at `name` (None: the one of DATABASE_URL); the process's
    caches are emptied so nothing read in one database is served in the other."""
    if not hasattr(use, "original"):
        use.original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name or use.original
    settings.DATABASES["default"]["NAME"] = name or use.original
    for cache in caches.all():
        cache.clear()


def invoiced_month(today):
    """The month invoiced while building (the unpaid list's); the next one is timed."""
    return first_of_month(today, -2)


def build_reference(families: int, today) -> dict:
    """make bench's reference commune (the same builder), its régie and the month before last
    invoiced; its first family's account has the password bench_scale.PASSWORD."""
    from django.contrib.auth.hashers import make_password

    from parvis.activities.models import Reservation
    from parvis.billing.services_runs import issue_run

    world = build_reference_commune(families, slug=REFERENCE)
    world.update(activities_bench.build_bookings(world["commune"], world["service"], today))
    regie = bench_scale.add_billing(world, month=first_of_month(today, -1))
    issue_run(regie=regie, month=invoiced_month(today), actor=None)
    world["citizen"].password = make_password(bench_scale.PASSWORD)
    world["citizen"].save(update_fields=["password"])
    return {"reservations": Reservation.objects.filter(commune=world["commune"]).count()}


def reference_world() -> dict:
    """The reference commune's actors and rows, read from the database in use (the same ids
    in both databases)."""
    from parvis.accounts.models import User
    from parvis.activities.models import Activity, Unit
    from parvis.billing.models import Regie
    from parvis.communes.models import Commune
    from parvis.families.models import Famille, Personne

    commune = Commune.objects.get(slug=REFERENCE)
    families = list(
        User.objects.filter(commune=commune, is_staff=False).order_by("pk")[:2]
    )  # the first has 2 children, the second 3
    activity = Activity.objects.get(commune=commune, slug="periscolaire")
    count = Famille.objects.filter(commune=commune).count()
    return {
        "commune": commune,
        "citizen": families[0],
        "household": families[1],
        "agent": User.objects.get(username=f"{REFERENCE}-agent"),
        "activity": activity,
        "units": list(Unit.objects.filter(activity=activity).order_by("position")),
        "child": Personne.objects.filter(famille__accesses__user=families[1], kind="enfant")
        .order_by("pk")
        .first(),
        "famille": Famille.objects.get(commune=commune, number=count // 2),
        "regie": Regie.objects.get(commune=commune),
    }


def measure_pages(requests: int):
    """(figure, timings in ms, SQL queries, server ms of its reads) of each page, then of
    « Valider »."""
    world = reference_world()
    citizen, household, agent = Client(), Client(), Client()
    citizen.force_login(world["citizen"], backend="parvis.accounts.backends.CommuneBackend")
    household.force_login(world["household"], backend="parvis.accounts.backends.CommuneBackend")
    agent.force_login(world["agent"], backend="django.contrib.auth.backends.ModelBackend")
    slug, child = world["commune"].slug, world["child"]
    pages = [
        ("platform_communes", Client(), "/"),
        ("commune_home", Client(), f"/{slug}/"),
        ("login", Client(), f"/{slug}/connexion/"),
        ("mon_espace", citizen, f"/{slug}/mon-espace/"),
        ("calendar_child", household, f"/{slug}/mon-espace/reservations/periscolaire/{child.pk}/"),
        ("household_grid", household, f"/{slug}/mon-espace/reservations/foyer/"),
        ("mon_compte", citizen, f"/{slug}/mon-espace/factures/"),
        ("guichet_search", agent, f"/{slug}/guichet/?q=famille"),
        ("guichet_family_file", agent, f"/{slug}/guichet/familles/{world['famille'].pk}/"),
        ("guichet_requests", agent, f"/{slug}/guichet/demandes/"),
        ("guichet_unpaid", agent, f"/{slug}/guichet/regie/"),
    ]
    for figure, client, url in pages:
        yield (figure, *measure(client, url, requests))
    ms = activities_bench.measure_basket(household, world["commune"], world, child, requests)
    with CaptureQueriesContext(connection) as captured:
        activities_bench.measure_basket(household, world["commune"], world, child, 0)
    yield "basket_validate", ms, len(captured) // 2, None  # the two warm-up baskets (writes)


def measure(client, url, requests):
    for _ in range(WARM_UP):
        response = client.get(url)
        if response.status_code != 200:
            raise CommandError(f"{url}: {response.status_code}")
    timings, cpu = [], []
    for _ in range(requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return timings, len(captured), (sql_ms(captured.captured_queries), statistics.median(cpu))


def sql_ms(queries) -> float:
    """The server's planning and execution time of a page's reads (EXPLAIN ANALYZE, best of 3
    each): what the size of the database changes, apart from the Python of the page."""
    total = 0.0
    with connection.cursor() as cursor:
        for query in queries:
            if not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            best = None
            for _ in range(3):
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
                plan = cursor.fetchone()[0][0]
                ms = plan["Planning Time"] + plan["Execution Time"]
                best = ms if best is None else min(best, ms)
            total += best
    return total


def measure_invoicing() -> tuple[float, int]:
    """The reference commune's monthly run for last month, rolled back: (ms, queries)."""
    from parvis.billing.services_runs import issue_run

    regie = reference_world()["regie"]
    month = first_of_month(timezone.localdate(), -1)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        issue_run(regie=regie, month=month, actor=None)
        elapsed = (time.perf_counter() - start) * 1000
        transaction.set_rollback(True)
    return elapsed, len(captured)


def percentiles(timings: list[float]) -> tuple[float, float]:
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) >= 20 else max(timings)
    return p50, p95
