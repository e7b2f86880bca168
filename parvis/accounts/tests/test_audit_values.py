"""The audit log keeps what a change was as JSON: a list stays a list (the journal sums it up in
French), where it used to be stored as its Python repr."""

from datetime import date
from decimal import Decimal

import pytest

from parvis.accounts.models import AuditEntry
from parvis.accounts.services import audit
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db


def test_lists_sets_and_dicts_stay_json_their_items_made_json():
    audit(
        actor=None,
        action="reservation.basket",
        commune=CommuneFactory(),
        changes={
            "added": [None, ["PERI_AM_M 07/09/2026", "REPAS 08/09/2026"]],
            "days": [(date(2026, 9, 7),), {"b", "a"}],
            "amount": [Decimal("114.87"), None],
            "detail": [None, {"jour": date(2026, 9, 7), 3: [Decimal("1.5")]}],
        },
    )

    changes = AuditEntry.objects.get().changes
    assert changes["added"] == [None, ["PERI_AM_M 07/09/2026", "REPAS 08/09/2026"]]
    assert changes["days"] == [["2026-09-07"], ["a", "b"]]
    assert changes["amount"] == ["114.87", None]
    assert changes["detail"] == [None, {"jour": "2026-09-07", "3": ["1.5"]}]
