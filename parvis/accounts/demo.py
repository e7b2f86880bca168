"""Demo data of accounts: both demo communes offer « S'identifier avec FranceConnect » through the
local demo provider (parvis.accounts.franceconnect_provider, started by `make run`). Shown only
where PARVIS_FRANCECONNECT_DEMO is on (development), like the payment simulator."""

from parvis.accounts.franceconnect_provider import DEMO_CLIENTS
from parvis.accounts.models import FranceConnectConfig, FranceConnectPlatform
from parvis.communes.models import Commune

FRANCECONNECT_COMMUNES = ["carrieres-sous-poissy", "carrieres-sur-seine"]


def load() -> None:
    client_id, secret = next(iter(DEMO_CLIENTS.items()))
    for commune in Commune.objects.filter(slug__in=FRANCECONNECT_COMMUNES):
        FranceConnectConfig.objects.update_or_create(
            commune=commune,
            defaults={
                "enabled": True,
                "platform": FranceConnectPlatform.DEMO,
                "client_id": client_id,
                "client_secret": secret,
            },
        )
