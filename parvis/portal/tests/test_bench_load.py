"""make bench-load's pieces (issue 23 §4): the forms read as a browser submits them, the
nearest-rank percentiles, the CPU between two readings, and two families' whole journeys against
the test server (a 2-child family's « Tout cocher », a 3-child family's weekly pattern), so a
change of the pages that would break the bench breaks this test first."""

import random
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from parvis.activities import bench as activities_bench
from parvis.activities.models import BookingStatus, Reservation, Unit
from parvis.portal import bench_load
from parvis.portal.management.commands.bench import build_reference_commune

PAGE = """
<form method="post" action="/x/mon-espace/reservations/foyer/">
  <input type="hidden" name="csrfmiddlewaretoken" value="t&amp;k">
  <input type="checkbox" id="c-1" name="c" value="1:2:2027-01-04" checked>
  <input type="checkbox" id="c-2" name="c" value="1:2:2027-01-05">
  <input type="checkbox" id="c-3" disabled aria-describedby="r-3">
  <input type="password" name="secret" value="no">
  <input type="date" name="modele-du" value="2027-01-01">
  <select name="modele-pour" id="p"><option value="a:1:2">A</option>
    <option value="u:1:3">U</option></select>
  <button type="submit" name="action" value="panier">Voir</button>
</form>
<form method="post" action="/x/autre/"><input type="hidden" name="k" value="v"></form>
"""


def test_a_form_is_read_as_a_browser_submits_it():
    form = bench_load.form_with(PAGE, "/reservations/foyer/")
    assert form.fields == [("csrfmiddlewaretoken", "t&k"), ("modele-du", "2027-01-01")]
    assert form.boxes == [("c", "1:2:2027-01-04", True), ("c", "1:2:2027-01-05", False)]
    assert form.options == {"modele-pour": ["a:1:2", "u:1:3"]}
    assert bench_load.form_with(PAGE, "/autre/").fields == [("k", "v")]
    with pytest.raises(LookupError):
        bench_load.form_with(PAGE, "/nulle-part/")


def test_the_percentiles_are_nearest_rank():
    values = [float(n) for n in range(100, 0, -1)]
    assert bench_load.percentile(values, 0.50) == 50
    assert bench_load.percentile(values, 0.95) == 95
    assert bench_load.percentile(values, 0.99) == 99
    assert bench_load.percentile([7.0], 0.95) == 7
    assert bench_load.percentile([1.0, 2.0, 3.0], 0.50) == 2


def test_the_report_counts_errors_by_request_type():
    recorder = bench_load.Recorder()
    for ms in (10, 20, 30):
        recorder.add("grid", ms)
    recorder.add("validate", 900, error="HTTP 500 on /v/")
    assert recorder.report() == [
        "grid: n=3 p50=20 ms p95=30 ms p99=30 ms max=30 ms errors=0",
        "validate: n=1 p50=900 ms p95=900 ms p99=900 ms max=900 ms errors=1",
    ]
    assert recorder.worst_p95() == ("validate", 900)
    assert recorder.examples == ["validate: HTTP 500 on /v/"]


def test_the_cpu_spent_counts_the_processes_born_in_between():
    assert bench_load.spent({1: 2.0, 2: 1.0}, {1: 2.5, 2: 1.0, 3: 0.25}) == 0.75
    assert bench_load.cpu_seconds(999_999_999) == 0.0


@pytest.mark.django_db(transaction=True)
class _CookieServer(BaseHTTPRequestHandler):
    """Sets two cookies on /set, deletes one on /delete; echoes the Cookie header it got."""

    def do_GET(self):
        self.send_response(200)
        if self.path == "/set":
            self.send_header("Set-Cookie", "sessionid=abc; Path=/; HttpOnly; Secure")
            self.send_header("Set-Cookie", "messages=hello; Path=/")
        elif self.path == "/delete":
            self.send_header(
                "Set-Cookie", 'messages=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0'
            )
        body = (self.headers.get("Cookie") or "-").encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_browser_keeps_the_cookies_set_and_forgets_the_deleted_ones():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CookieServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        recorder = bench_load.Recorder()
        browser = bench_load.Browser(f"http://127.0.0.1:{server.server_port}", "10.0.0.9", recorder)
        assert browser.request("set", "GET", "/set") == "-"
        assert browser.request("echo", "GET", "/echo") == "sessionid=abc; messages=hello"
        browser.request("delete", "GET", "/delete")
        assert browser.request("echo", "GET", "/echo") == "sessionid=abc"
        with pytest.raises(bench_load.JourneyFailed):
            browser.request("missing", "GET", "/echo", expect=(302,))
        assert recorder.errors == {"missing": 1}
    finally:
        server.shutdown()
        server.server_close()


def test_two_families_book_two_months_through_the_pages(live_server):
    world = build_reference_commune(2, slug="rush")
    nothing = (date(1, 1, 1), date(1, 1, 1))
    activities_bench.build_bookings(
        world["commune"], world["service"], timezone.localdate(), only=nothing
    )
    world["citizen"].__class__.objects.filter(is_staff=False).update(
        password=make_password("une phrase de passe")
    )
    today = timezone.localdate()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    months = [first, (first + timedelta(days=32)).replace(day=1)]
    recorder = bench_load.Recorder()
    for number, children in ((1, 2), (2, 3)):
        family = bench_load.Family(f"parent{number}@ref.fr", "une phrase de passe", children)
        browser = bench_load.Browser(live_server.url, f"10.0.0.{number}", recorder)
        finished = bench_load.journey(
            browser, family, slug="rush", months=months, think=(0, 0),
            deadline=float("inf"), rng=random.Random(0),
        )  # fmt: skip
        assert finished, recorder.examples
    assert recorder.errors == {}
    assert len(recorder.timings["validate"]) == 4
    assert len(recorder.timings["pattern"]) == 2 * 3  # a pattern per child, each month
    for famille_number in (1, 2):
        booked = Reservation.objects.filter(famille__number=famille_number)
        assert {r.day.month for r in booked} == {m.month for m in months}
        assert booked.filter(status=BookingStatus.RESERVEE).count() == booked.count() > 0


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 12, 6, 12, 0, tzinfo=ZoneInfo("Europe/Paris")), tick=False)
def test_the_seats_are_checked_on_the_months_of_the_rush_only():
    # The months before the rush are booked by the builder before « Acc Soir » loses seats:
    # held beyond the new capacity there, never counted as oversold by the rush's check.
    from parvis.portal.management.commands.bench_load import _seats

    world = build_reference_commune(2, slug="rush")
    today = timezone.localdate()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    start, _end = activities_bench.school_year(today)
    activities_bench.build_bookings(
        world["commune"], world["service"], today, only=(start, first - timedelta(days=1))
    )
    Unit.objects.filter(commune=world["commune"], code="ACC_SOIR").update(capacity=1)
    oversold, _mismatched, bookings, _waiting = _seats(world["commune"], since=start)
    assert oversold > 0 and bookings > 0
    assert _seats(world["commune"], since=first) == (0, 0, 0, 0)
