"""`make bench-load` (issue 23): the registration rush against gunicorn on PostgreSQL, in a
throwaway database next to DATABASE_URL's (never that database itself). For each number of sync
workers, a fresh commune of FAMILIES households (the reference commune of docs/BENCHMARK.md,
the school year's months before the rush booked, the rush's empty, « Acc Soir » with fewer seats
than families in them) and the journey of
parvis/portal/bench_load.py; then one figure per line. Bounded: the journeys stop at DURATION."""

import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import requests
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from parvis.accounts.hashers import login_cost
from parvis.activities import bench as activities_bench
from parvis.activities.models import SEAT_HOLDING, Unit, UnitDay
from parvis.portal import bench_load
from parvis.portal.management.commands.bench import analyze, build_reference_commune

PASSWORD = "une phrase de passe de banc d'essai"  # noqa: S105 (a throwaway database's)


class Command(BaseCommand):
    help = "Rush des inscriptions : des familles réservent en même temps contre gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--families", type=int, default=200)
        parser.add_argument("--workers", default="2,4")
        parser.add_argument("--arrival", type=float, default=10.0)
        parser.add_argument("--think", default="1,3")
        parser.add_argument("--duration", type=float, default=300.0)
        parser.add_argument("--seats", type=int, default=150)
        parser.add_argument("--keepdb", action="store_true")

    def handle(self, *args, families, workers, arrival, think, duration, seats, keepdb, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("make bench-load mesure PostgreSQL : donnez DATABASE_URL.")
        think_range = tuple(float(x) for x in think.split(","))
        old_name = connection.settings_dict["NAME"]
        test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keepdb)
        static_root = str(settings.STATIC_ROOT)  # collected by make bench-load
        try:
            out = self.stdout
            out.write(f"date: {timezone.now():%Y-%m-%d %H:%M} UTC")
            version = connection.cursor().connection.info.server_version
            out.write(f"database: PostgreSQL {version // 10000}.{version % 10000}")
            out.write(f"cpu_count: {os.cpu_count()}")
            out.write(f"load_average_before: {os.getloadavg()[0]:.2f}")
            cost = login_cost()
            out.write(f"login_cpu_ms: {cost['cpu_ms']:.1f} ms")
            out.write(f"login_memory_mib: {cost['memory_mib']:.0f} MiB")
            for count in [int(w) for w in workers.split(",") if w.strip()]:
                self.run_one(
                    count, families=families, arrival=arrival, think=think_range,
                    duration=duration, seats=seats, database=test_name, static_root=static_root,
                )  # fmt: skip
        finally:
            if not keepdb:
                connection.creation.destroy_test_db(old_name, verbosity=0)

    def run_one(self, workers, *, families, arrival, think, duration, seats, database, static_root):
        out = self.stdout
        slug = f"rush-{workers}"
        world = build_reference_commune(families, slug=slug)
        commune = world["commune"]
        today = timezone.localdate()
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        months = [first, (first + timedelta(days=32)).replace(day=1)]
        # The opening of registrations for the next months in a commune that runs Parvis: the
        # school year's months so far booked (the tables and their statistics as a running
        # commune has them: PostgreSQL plans the rush's reads with them), the next ones empty.
        # (In summer the school year to come has no month before the rush: nothing booked.)
        start, _end = activities_bench.school_year(today)
        activities_bench.build_bookings(
            commune, world["service"], today, only=(start, first - timedelta(days=1))
        )
        # « Acc Soir » has fewer seats than families for the months of the rush.
        Unit.objects.filter(commune=commune, code="ACC_SOIR").update(capacity=seats)
        from parvis.accounts.models import User
        from parvis.families.models import Famille

        User.objects.filter(commune=commune, is_staff=False).update(
            password=make_password(PASSWORD)
        )
        children = dict(
            Famille.objects.filter(commune=commune)
            .annotate(n=Count("members", filter=Q(members__kind="enfant")))
            .values_list("number", "n")
        )
        people = [
            bench_load.Family(email=f"parent{number}@ref.fr", password=PASSWORD, children=n)
            for number, n in sorted(children.items())
        ]
        analyze()

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": _url(database),
            "STATIC_ROOT": static_root,
            "DJANGO_SETTINGS_MODULE": "parvis.settings",
        }
        server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
            [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "parvis.wsgi:application",
             "--workers", str(workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
             "--timeout", "120", "--backlog", "2048", "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        try:
            _wait_up(base)
            for _ in range(workers * 4):  # every worker loaded
                requests.get(f"{base}/healthz", timeout=30)
            gunicorn = [server.pid, *bench_load.children_of(server.pid)]
            app_before = bench_load.cpu_of(gunicorn)
            db_before = bench_load.cpu_of(_backends(database))
            recorder = bench_load.Recorder()
            driver_before = time.process_time()  # this process: the families' browsers
            started = time.monotonic()
            deadline = started + duration
            done = []

            def run(index, family):
                time.sleep(index * arrival / len(people))
                rng = random.Random(index)  # noqa: S311 (think times, not secrets)
                browser = bench_load.Browser(base, f"10.{index // 250}.{index % 250}.1", recorder)
                if bench_load.journey(browser, family, slug=slug, months=months, think=think,
                                      deadline=deadline, rng=rng):  # fmt: skip
                    done.append(index)

            threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(people)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            driver_cpu = time.process_time() - driver_before
            app_after = bench_load.cpu_of([server.pid, *bench_load.children_of(server.pid)])
            db_after = bench_load.cpu_of(_backends(database))
            trivial = _throughput(f"{base}/healthz", seconds=5, clients=4)
        finally:
            server.terminate()
            server.wait(timeout=30)

        app_cpu = bench_load.spent(app_before, app_after)
        db_cpu = bench_load.spent(db_before, db_after)
        finished = max(len(done), 1)
        out.write(f"--- workers: {workers} (gunicorn sync), families: {len(people)}, "
                  f"arrival: {arrival:.0f} s, think: {think[0]:g}-{think[1]:g} s")  # fmt: skip
        out.write(f"journeys_finished: {len(done)} of {len(people)} in {elapsed:.0f} s")
        served = sum(len(values) for values in recorder.timings.values())
        out.write(f"throughput: {served / elapsed:.1f} requests/s ({served} requests)")
        for line in recorder.report():
            out.write(line)
        kind, worst = recorder.worst_p95()
        out.write(f"worst_p95: {kind} {worst:.0f} ms")
        out.write(f"errors: {sum(recorder.errors.values())}")
        for example in recorder.examples:
            out.write(f"error_example: {example}")
        oversold, mismatched, bookings, waiting = _seats(commune, since=months[0])
        out.write(f"bookings: {bookings} waiting_list: {waiting}")
        out.write(f"oversold_seats: {oversold}")
        out.write(f"counters_not_equal_to_bookings: {mismatched}")
        out.write(f"app_cpu_s_per_family: {app_cpu / finished:.3f} s")
        out.write(f"db_cpu_s_per_family: {db_cpu / finished:.3f} s")
        out.write(f"cpu_s_per_family: {(app_cpu + db_cpu) / finished:.3f} s")
        # Journeys cut by DURATION did part of the work: counted by their « Valider » (two each).
        journeys = max(len(recorder.timings.get("validate", [])) / 2, 1)
        out.write(
            f"cpu_s_per_journey_done: {(app_cpu + db_cpu) / journeys:.3f} s "
            f"(application {app_cpu / journeys:.3f} s, database {db_cpu / journeys:.3f} s; "
            f"{journeys:.0f} journeys' worth of « Valider »)"
        )
        # The browsers share the two cores with the server they measure: their CPU, said.
        out.write(f"driver_cpu_s_per_family: {driver_cpu / max(len(people), 1):.3f} s")
        out.write(f"trivial_page_per_s: {trivial:.0f} requests/s (4 clients, after the rush)")
        out.write(f"load_average_after: {os.getloadavg()[0]:.2f}")


def _url(database: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_up(base: str) -> None:
    for _ in range(300):
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise CommandError("gunicorn ne répond pas sur /healthz")


def _backends(database: str) -> list[int]:
    """The PostgreSQL processes serving gunicorn's workers (not this command's own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return [row[0] for row in cursor.fetchall()]


def _throughput(url: str, *, seconds: float, clients: int) -> float:
    """Requests per second of a one-query page, `clients` at a time."""
    count, stop = [0], time.monotonic() + seconds
    lock = threading.Lock()

    def hammer():
        with requests.Session() as http:
            while time.monotonic() < stop:
                http.get(url, timeout=30)
                with lock:
                    count[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count[0] / seconds


def _seats(commune, *, since: date) -> tuple[int, int, int, int]:
    """Seats held beyond capacity, counters that differ from the seats held, bookings and
    waiting-list entries of `commune` from `since` (the rush's months: the months before were
    booked by the builder before « Acc Soir » lost seats)."""
    from parvis.activities.models import BookingStatus, Reservation

    held = {
        (u, d): n
        for u, d, n in Reservation.objects.filter(
            commune=commune, status__in=SEAT_HOLDING, day__gte=since
        )
        .values("unit_id", "day")
        .annotate(n=Count("pk"))
        .values_list("unit_id", "day", "n")
    }
    units = {u.pk: u for u in Unit.objects.filter(commune=commune)}
    oversold = sum(
        max(0, n - units[u].seats) for (u, _d), n in held.items() if units[u].seats is not None
    )
    counters = {
        (row.unit_id, row.day): row.taken
        for row in UnitDay.objects.filter(unit__commune=commune, day__gte=since)
    }
    mismatched = sum(
        1
        for pair in set(counters) | {p for p in held if units[p[0]].seats is not None}
        if counters.get(pair, 0) != held.get(pair, 0)
    )
    reservations = Reservation.objects.filter(commune=commune, day__gte=since)
    waiting = reservations.filter(status=BookingStatus.LISTE_ATTENTE).count()
    return oversold, mismatched, reservations.count(), waiting
