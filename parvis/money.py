"""Amounts in euros, the same in every app: a Decimal to the cent. A shared utility at the bottom
of the app chain (docs/ARCHITECTURE.md): it imports no app."""

from decimal import Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
