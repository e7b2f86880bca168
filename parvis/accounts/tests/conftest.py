"""The local FranceConnect provider, started as a real HTTP server on a free port for a test
(`franceconnect_provider`), and a commune whose client points at it (`fc_commune`)."""

import pytest

from parvis.accounts.franceconnect_provider import DEMO_CLIENTS, RunningProvider
from parvis.accounts.models import FranceConnectConfig, FranceConnectPlatform

CLIENT_ID, CLIENT_SECRET = next(iter(DEMO_CLIENTS.items()))


@pytest.fixture
def franceconnect_provider(settings):
    running = RunningProvider().start()
    settings.PARVIS_FRANCECONNECT_DEMO = True
    settings.PARVIS_FRANCECONNECT_DEMO_URL = running.url
    yield running
    running.stop()


def configure_franceconnect(commune, **fields) -> FranceConnectConfig:
    values = {
        "enabled": True,
        "platform": FranceConnectPlatform.DEMO,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **fields,
    }
    config, _created = FranceConnectConfig.objects.update_or_create(
        commune=commune, defaults=values
    )
    return config
