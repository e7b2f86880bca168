"""Payment providers, registered by name: `simulateur` (built in, the default), `paybox` and
`payfip` (through eopayment). See base.py for the interface."""

from parvis.payments.providers import paybox, payfip, simulateur  # noqa: F401  (registration)
from parvis.payments.providers.base import (
    REGISTRY,
    NotificationError,
    ProviderBase,
    ProviderError,
    Redirect,
    Urls,
    Verified,
    provider_class,
)

__all__ = [
    "REGISTRY",
    "NotificationError",
    "ProviderBase",
    "ProviderError",
    "Redirect",
    "Urls",
    "Verified",
    "provider_class",
]
