"""`manage.py bench_journey` (issue 23): the CPU of one family's registration journey, in process.

The journey of `make bench-load` (parvis/portal/bench_load.py: login, « Mon espace », the
household's month grid, « Tout cocher » or « Appliquer un modèle de semaine » for each child, the
basket, « Valider », the confirmation, two months) replayed with Django's test client on a fresh
reference commune, one 2-child and one 3-child family per round, distinct families each round.
Printed: the CPU milliseconds (time.process_time: the machine is shared, CPU time is the honest
figure) per request type, best and median over the rounds, and per journey; on PostgreSQL the
CPU of the database's backend too (read from /proc, same machine). Production settings (DEBUG
off, Argon2 at its production cost, tasks queued in the database); a throwaway database."""

import cProfile
import os
import random
import statistics
import time
from collections import defaultdict
from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.utils import timezone

from parvis.activities import bench as activities_bench
from parvis.portal import bench_load
from parvis.portal.management.commands.bench import build_reference_commune, print_profile

PASSWORD = "une phrase de passe de banc d'essai"  # noqa: S105 (a throwaway database's)


class ClientBrowser:
    """bench_load.Browser's interface over Django's test client: each request's CPU (this
    process, and the database's backend on PostgreSQL) recorded by request type."""

    handler = None  # one for every family: gunicorn's workers load the middleware once

    def __init__(self, db_pid: int | None, profile: tuple | None = None):
        self.profile, self.profiled = profile or (None, None)
        self.client = Client(HTTP_X_FORWARDED_PROTO="https")
        if ClientBrowser.handler is None:
            ClientBrowser.handler = self.client.handler
        self.client.handler = ClientBrowser.handler
        self.db_pid = db_pid
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.db: dict[str, list[float]] = defaultdict(list)

    def request(self, kind: str, method: str, path: str, data=None, expect=(200,)) -> str:
        db_before = bench_load.cpu_seconds(self.db_pid) if self.db_pid else 0.0
        referer = f"https://testserver{path}"  # behind the « proxy » that says https
        profiling = self.profile is not None and self.profiled in (kind, "all")
        if method != "GET":  # the browser's work, before the server's clock starts
            pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
            body = urlencode(pairs)
        started = time.process_time()
        if profiling:
            self.profile.enable()
        if method == "GET":
            response = self.client.get(path, HTTP_REFERER=referer)
        else:
            response = self.client.post(
                path, body, content_type="application/x-www-form-urlencoded",
                HTTP_REFERER=referer,
            )  # fmt: skip
        if profiling:
            self.profile.disable()
        spent = time.process_time() - started
        self.cpu[kind].append(spent * 1000)
        if self.db_pid:
            self.db[kind].append((bench_load.cpu_seconds(self.db_pid) - db_before) * 1000)
        if response.status_code not in expect:
            raise bench_load.JourneyFailed(f"HTTP {response.status_code} on {path}")
        return response.headers.get("Location") or response.content.decode()

    def static_once(self, page: str) -> None:
        """The static files are whitenoise's, not the journey's pages: left out."""


class Command(BaseCommand):
    help = "CPU d'un parcours de réservation d'une famille (client de test, base jetable)."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=5)
        parser.add_argument(
            "--profile", help="a request type to profile, or all (cProfile, printed)"
        )

    def handle(self, *args, rounds, profile, **options):
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.SECURE_SSL_REDIRECT = False
        settings.DEBUG = False
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            self.run(rounds=rounds, profile=profile)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def run(self, *, rounds: int, profile: str | None):
        out = self.stdout
        world = build_reference_commune(2 * rounds + 2, slug="parcours")
        commune = world["commune"]
        nothing = (date(1, 1, 1), date(1, 1, 1))
        activities_bench.build_bookings(
            commune, world["service"], timezone.localdate(), only=nothing
        )
        world["citizen"].__class__.objects.filter(commune=commune, is_staff=False).update(
            password=make_password(PASSWORD)
        )
        today = timezone.localdate()
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        months = [first, (first + timedelta(days=32)).replace(day=1)]
        db_pid = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                db_pid = cursor.fetchone()[0]
        out.write(f"date: {timezone.now():%Y-%m-%d %H:%M} UTC")
        out.write(f"database: {connection.vendor}")
        out.write(f"load_average_before: {os.getloadavg()[0]:.2f}")
        by_kind: dict[str, list[float]] = defaultdict(list)
        db_by_kind: dict[str, list[float]] = defaultdict(list)
        journeys: dict[int, list[tuple[float, float]]] = defaultdict(list)
        profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
        # Family 1 (two children) and 2 (three) warm the process up, unmeasured.
        for number in range(1, 2 * rounds + 3):
            children = 2 if number % 2 else 3
            browser = ClientBrowser(db_pid, (profiler, profile) if number > 2 and profile else None)
            family = bench_load.Family(f"parent{number}@ref.fr", PASSWORD, children)
            done = bench_load.journey(
                browser, family, slug="parcours", months=months, think=(0, 0),
                deadline=float("inf"), rng=random.Random(number),  # noqa: S311 (no secret)
            )  # fmt: skip
            if not done:
                raise RuntimeError(f"journey of family {number} failed")
            if number <= 2:
                continue
            for kind, values in browser.cpu.items():
                by_kind[kind].extend(values)
                db_by_kind[kind].extend(browser.db.get(kind, []))
            app = sum(sum(v) for v in browser.cpu.values())
            db = sum(sum(v) for v in browser.db.values())
            journeys[children].append((app, db))
        for kind in ("login_get", "login_post", "mon_espace", "grid", "pattern", "basket",
                     "validate", "confirmation"):  # fmt: skip
            values = by_kind.get(kind)
            if not values:
                continue
            line = (
                f"cpu_ms_{kind}: best {min(values):.1f} median {statistics.median(values):.1f}"
                f" (n={len(values)})"
            )
            if db_pid:
                line += f" database median {statistics.median(db_by_kind[kind]):.1f}"
            out.write(line)
        for children, values in sorted(journeys.items()):
            apps = [app for app, _db in values]
            line = (
                f"cpu_ms_journey_{children}_children: best {min(apps):.0f} "
                f"median {statistics.median(apps):.0f} (application)"
            )
            if db_pid:
                line += f" + database median {statistics.median([db for _a, db in values]):.0f}"
            out.write(line)
        if profiler:
            print_profile(out, profiler, f"journey_{profile}")
        out.write(f"load_average_after: {os.getloadavg()[0]:.2f}")
