"""Fixtures of the families' tests. `api_server`: the local API Particulier
(parvis/families/api_particulier_local.py), a real HTTP server on a free port of the loopback, with
PARVIS_API_PARTICULIER_URL pointed at it for the test."""

import pytest

from parvis.families.api_particulier_local import LocalApiParticulier


@pytest.fixture
def api_server(settings):
    server = LocalApiParticulier().start()
    settings.PARVIS_API_PARTICULIER_URL = server.url
    settings.PARVIS_API_PARTICULIER_TIMEOUT = 5
    yield server
    server.stop()
