"""The benchmark of ../shared/BENCHMARK.md, for the pages that exist so far.

Builds the reference commune in a throwaway database (never the one `make run` uses), then prints
one figure per line, `name: value unit`. The reservation calendar, basket, booking and invoicing
figures come with the activities and billing features; the yardstick and the pages of the portal,
the personal space and the guichet are measured now.
"""

import cProfile
import gc
import io
import os
import pstats
import statistics
import tempfile
import time
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django.utils import timezone

from parvis.activities import bench as activities_bench
from parvis.activities.models import Reservation
from parvis.billing import bench as billing_bench
from parvis.families.models import Personne

WARM_UP = 3


class Command(BaseCommand):
    help = "Mesure les pages de Parvis sur une commune de référence (base jetable)."

    def add_arguments(self, parser):
        parser.add_argument("--families", type=int, default=200)
        parser.add_argument("--requests", type=int, default=30)
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument(
            "--invoicing",
            default="2000,10000",
            help="Tailles (familles) des facturations mensuelles mesurées, séparées par des "
            "virgules ; 0 pour ne pas les mesurer.",
        )
        parser.add_argument(
            "--pages",
            default="",
            help="Seulement ces pages (noms des figures, séparés par des virgules, par exemple "
            "calendar_child,calendar_household_default,mon_accueil) : ni panier, ni débit, ni "
            "facturation.",
        )
        parser.add_argument(
            "--profile", default="", help="Le profil cProfile des requêtes de cette page."
        )

    def handle(self, *args, families, requests, clients, invoicing, pages, profile, **options):
        setup_test_environment()
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.SECURE_SSL_REDIRECT = False
        test = connection.settings_dict.setdefault("TEST", {})
        if connection.vendor == "sqlite" and not test.get("NAME"):
            # Under production settings (DJANGO_SETTINGS_MODULE=parvis.settings, README « Small
            # pages first »): a file, as settings_test's, not SQLite's shared memory, whose
            # concurrent bookings answer « table is locked » at once.
            test["NAME"] = os.path.join(tempfile.mkdtemp(prefix="parvis-bench-"), "bench.sqlite3")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        only = [name for name in pages.split(",") if name]
        try:
            self.run(
                families=families, requests=requests, clients=clients, only=only, profile=profile
            )
            sizes = [int(size) for size in invoicing.split(",") if int(size) > 0]
            if sizes and not only:
                self.run_invoicing(sizes)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def run(self, *, families, requests, clients, only=(), profile=""):
        out = self.stdout
        vendor = connection.vendor
        out.write(f"database: {vendor}")
        out.write(f"settings: {settings.SETTINGS_MODULE} (DEBUG {settings.DEBUG})")
        out.write(f"cpu_count: {os.cpu_count()}")
        out.write(f"families: {families}")
        started = time.perf_counter()
        world = build_reference_commune(families)
        bookings = activities_bench.build_bookings(
            world["commune"], world["service"], timezone.localdate()
        )
        world.update(bookings)
        out.write(f"children: {Personne.objects.filter(kind='enfant').count()}")
        out.write(f"unit_days_booked_per_child: {bookings['unit_days_per_child']}")
        out.write(f"reservations: {Reservation.objects.count()}")
        out.write(f"build_s: {time.perf_counter() - started:.2f}")

        citizen, agent, household = Client(), Client(), Client()
        citizen.force_login(world["citizen"], backend="parvis.accounts.backends.CommuneBackend")
        household.force_login(world["household"], backend="parvis.accounts.backends.CommuneBackend")
        household_child = (
            Personne.objects.filter(famille__accesses__user=world["household"], kind="enfant")
            .order_by("pk")
            .first()
        )
        agent.force_login(world["agent"], backend="django.contrib.auth.backends.ModelBackend")
        slug = world["commune"].slug
        pages = [
            ("trivial_page", Client(), "/healthz"),
            ("commune_home", Client(), f"/{slug}/"),
            ("infos_pratiques", Client(), f"/{slug}/infos-pratiques/"),
            ("mon_accueil", citizen, f"/{slug}/mon-espace/"),
            ("mes_informations", citizen, f"/{slug}/mon-espace/mes-informations/"),
            ("guichet_search", agent, f"/{slug}/guichet/?q=famille"),
            ("guichet_family_file", agent, f"/{slug}/guichet/familles/{families // 2}/"),
            (
                "calendar_child",
                household,
                f"/{slug}/mon-espace/reservations/periscolaire/{household_child.pk}/",
            ),
            ("calendar_household_default", household, f"/{slug}/mon-espace/reservations/foyer/"),
            ("calendar_household", household, f"/{slug}/mon-espace/reservations/foyer/?vue=annee"),
        ]
        if only:
            pages = [page for page in pages if page[0] == "trivial_page" or page[0] in only]
        analyze()
        # As parvis/wsgi.py does once the application is loaded (the data built above is freed).
        gc.collect()
        gc.freeze()
        trivial = None
        for name, client, url in pages:
            profiler = cProfile.Profile() if name == profile else None
            timings, queries, size, cpu = measure(client, url, requests, profiler=profiler)
            p50 = statistics.median(timings)
            p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) >= 20 else max(timings)
            out.write(f"{name}_ms_p50: {p50:.2f} ms")
            out.write(f"{name}_ms_p95: {p95:.2f} ms")
            out.write(f"{name}_queries: {queries}")
            out.write(f"{name}_kb: {size / 1000:.1f} kB")
            out.write(f"{name}_cpu_ms_p50: {statistics.median(cpu):.2f} ms")
            out.write(f"{name}_cpu_ms_best: {min(cpu):.2f} ms")
            if name == "trivial_page":
                trivial = p50
            else:
                out.write(f"{name}_ratio_to_trivial: {p50 / trivial:.1f}")
            if profiler is not None:
                print_profile(out, profiler, name)
        if only:
            return

        timings = activities_bench.measure_basket(
            household, world["commune"], world, household_child, requests
        )
        p50, p95 = activities_bench.summarise(timings)
        out.write(f"basket_changes: {activities_bench.BASKET_CHANGES}")
        out.write(f"basket_validate_ms_p50: {p50:.2f} ms")
        out.write(f"basket_validate_ms_p95: {p95:.2f} ms")
        result = activities_bench.measure_throughput(world["commune"], world, clients)
        out.write(f"clients: {result['clients']}")
        out.write(f"booking_throughput_per_s: {result['per_s']:.1f} validations/s")
        out.write(f"oversold_seats: {result['oversold']}")
        out.write(f"booking_errors: {len(result['errors'])}")
        for error in result["errors"][:3]:
            out.write(f"booking_error: {error}")

    def run_invoicing(self, sizes: list[int]):
        """BENCHMARK.md's invoicing figures: the run for each size, its time per family, the
        ratio of the largest to the smallest per-family time (about 1 when linear), then PDF
        invoices per second."""
        out = self.stdout
        per_family = {}
        world = None
        for size in sizes:
            started = time.perf_counter()
            world = billing_bench.build_invoicing_commune(
                size, slug=f"facturation-{size}", build_commune=build_reference_commune
            )
            out.write(f"invoicing_build_s: {time.perf_counter() - started:.2f} families: {size}")
            gc.collect()
            result = billing_bench.measure_invoicing(world)
            per_family[size] = result["seconds"] * 1000 / size
            out.write(f"invoicing_run_s: {result['seconds']:.2f} s families: {size}")
            out.write(f"invoicing_invoices: {result['invoices']} families: {size}")
            out.write(f"invoicing_bookings: {result['bookings']} families: {size}")
            out.write(f"invoicing_ms_per_family: {per_family[size]:.3f} ms families: {size}")
        if len(per_family) > 1:
            small, large = min(per_family), max(per_family)
            ratio = per_family[large] / per_family[small]
            out.write(f"invoicing_linearity_ratio: {ratio:.2f} ({large} vs {small} families)")
        out.write(f"invoice_pdf_per_s: {billing_bench.measure_pdfs(world['regie']):.1f} PDF/s")
        per_s = billing_bench.measure_pdfs_batch(world["regie"])
        out.write(f"invoice_pdf_batch_per_s: {per_s:.1f} PDF/s")
        per_s, workers = billing_bench.measure_pdfs_parallel(world["regie"])
        out.write(f"invoice_pdf_per_s_parallel: {per_s:.1f} PDF/s processes: {workers}")


def measure(client, url, requests, *, profiler=None):
    for _ in range(WARM_UP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    timings, cpu = [], []
    for _ in range(requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        client.get(url)
        if profiler is not None:
            profiler.disable()
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # The HTML's weight (issue 18 §4: the calendars' default views ≤ 60 kB), and the CPU of this
    # process (the page's server time on a shared machine; SQLite's work included).
    return timings, len(captured), len(response.content), cpu


def print_profile(out, profiler, name: str) -> None:
    """`--profile`: the page's requests under cProfile (their times above are inflated by it),
    the 40 heaviest functions by cumulative and by own time; the stats saved for pstats."""
    profiler.create_stats()
    dump = os.path.join(tempfile.gettempdir(), f"bench_{name}.pstats")
    profiler.dump_stats(dump)
    out.write(f"profile: {dump}")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(40)
    out.write(text.getvalue())


def analyze() -> None:
    """PostgreSQL: the statistics a database in service has (autovacuum); without them the
    planner guesses, and a freshly built commune is read as no deployment would read it (the
    household grid 41.7 ms p50 instead of 12.1 on 6 December 2026)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def build_reference_commune(families: int, *, slug: str = "reference") -> dict:
    """Zone C commune with `families` households of 2 or 3 children, one account each."""
    from parvis.accounts.models import AgentRole, User
    from parvis.communes.models import Commune, OpeningRange, Service
    from parvis.families.models import Famille, FamilyAccess, Personne

    commune = Commune.objects.create(
        slug=slug, name="Commune de référence", address="1, place de la Mairie",
        postal_code="78000", phone="01 23 45 67 89", email="mairie@reference.fr",
        holiday_zone="C",
    )  # fmt: skip
    for day in range(5):
        OpeningRange.objects.create(commune=commune, weekday=day, opens="08:30", closes="12:00")
        OpeningRange.objects.create(commune=commune, weekday=day, opens="13:45", closes="17:30")
    service = Service.objects.create(commune=commune, name="Enfance", kind="enfance",
                                     key_label="Clé Espace Citoyens Enfance")  # fmt: skip
    rows = Famille.objects.bulk_create(
        Famille(commune=commune, number=n + 1, name=f"FAMILLE{n + 1:05d}") for n in range(families)
    )
    members = []
    for n, famille in enumerate(rows):
        members.append(Personne(commune=commune, famille=famille, kind="responsable",
                                last_name=famille.name, first_names="Camille"))  # fmt: skip
        if n % 2:
            members.append(Personne(commune=commune, famille=famille, kind="responsable",
                                    last_name=famille.name, first_names="Dominique"))  # fmt: skip
        for child in range(2 + n % 2):
            members.append(Personne(
                commune=commune, famille=famille, kind="enfant", last_name=famille.name,
                first_names=f"Enfant{child}", birth_date=date(2017 + child, 3, 1),
                school="École du Centre", class_name="CE1", level="elementaire",
            ))  # fmt: skip
    Personne.objects.bulk_create(members, batch_size=2000)
    users = User.objects.bulk_create(
        User(commune=commune, username=f"{slug}/{f.number}", email=f"parent{f.number}@ref.fr",
             civility="mme", last_name=f.name, email_confirmed_at=timezone.now())
        for f in rows
    )  # fmt: skip
    FamilyAccess.objects.bulk_create(
        FamilyAccess(commune=commune, famille=f, user=u) for f, u in zip(rows, users, strict=True)
    )
    agent = User.objects.create(commune=commune, username=f"{slug}-agent", is_staff=True)
    AgentRole.objects.create(commune=commune, user=agent, role="administrateur")
    # users[1]'s household has three children (families alternate 2 and 3).
    return {"commune": commune, "citizen": users[0], "household": users[min(1, families - 1)],
            "agent": agent, "service": service}  # fmt: skip
