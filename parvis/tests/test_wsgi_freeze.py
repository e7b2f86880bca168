"""The WSGI application freezes what a worker holds for its life (issue 23: the collector's full
passes over Django's objects cost 1.3-1.7 ms a request of the rush's journey): at start-up, then
after the 10th, 100th and 1,000th request, and nothing else changes in what it answers."""

import os
import subprocess
import sys

import pytest

from parvis import wsgi


def test_it_freezes_after_the_10th_100th_and_1000th_request_only(monkeypatch):
    frozen_at = []
    application = wsgi.FreezingApplication(lambda environ, start_response: [b"ok"])
    monkeypatch.setattr(wsgi, "freeze_what_lives", lambda: frozen_at.append(application.served))
    answers = [application({}, None) for _ in range(1500)]
    assert frozen_at == [10, 100, 1000]
    assert answers == [[b"ok"]] * 1500


def test_it_freezes_before_the_next_request_not_while_a_response_is_still_alive(monkeypatch):
    """Frozen while the 10th response was still being sent, its objects (the request and all
    that hangs off it) would never be freed: the freeze comes with the 11th request, first."""
    events = []

    class Body(list):
        def close(self):  # the server's call once the body is sent (PEP 3333)
            events.append(("closed", self.n))

    def app(environ, start_response):
        events.append(("request", environ["n"]))
        body = Body([b"ok"])
        body.n = environ["n"]
        return body

    application = wsgi.FreezingApplication(app)
    monkeypatch.setattr(wsgi, "freeze_what_lives", lambda: events.append(("freeze", None)))
    for n in range(1, 12):  # as a sync worker serves them: one after the other, each closed
        body = application({"n": n}, None)
        list(body)
        body.close()
    assert events[-5:] == [
        ("request", 10), ("closed", 10), ("freeze", None), ("request", 11), ("closed", 11)
    ]  # fmt: skip


def test_a_request_that_fails_is_counted_and_its_error_passes(monkeypatch):
    frozen_at = []

    def failing(environ, start_response):
        raise RuntimeError("boom")

    application = wsgi.FreezingApplication(failing)
    monkeypatch.setattr(wsgi, "freeze_what_lives", lambda: frozen_at.append(application.served))
    for _ in range(11):
        with pytest.raises(RuntimeError):
            application({}, None)
    assert frozen_at == [10]


def test_loading_the_application_freezes_what_django_loaded():
    code = "import gc, parvis.wsgi; print(gc.get_freeze_count())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "parvis.settings_test"}
    out = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.strip()) > 50_000  # Django and the apps: about 117,000 objects
