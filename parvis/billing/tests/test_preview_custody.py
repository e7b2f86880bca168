"""A child in shared custody (issue 19 §2) gets no price estimate in the basket: its days are
split between two households, each at its own QF, and an estimate would give one parent the
other's prices (the other household's QF). A child who is not shared keeps its estimate."""

from datetime import date

import pytest

from parvis.activities.services_custody import record_custody
from parvis.billing.tests.test_preview_pages import (  # noqa: F401 (fixtures)
    DECEMBER,
    calendar_url,
    clock,
    family,
    key,
    logged,
    text_of,
)
from parvis.families.models import CustodyRule
from parvis.families.tests.factories import FamilleFactory

pytestmark = pytest.mark.django_db


def test_a_shared_child_has_no_estimate_a_child_not_shared_has_one(logged, family):  # noqa: F811
    father = FamilleFactory(commune=family["commune"], name="MARTIN")
    record_custody(
        child=family["lea"], other_famille=father, actor=None,
        rule=CustodyRule.SEMAINES_PAIRES, since=date(2026, 9, 1),
    )  # fmt: skip
    checked = [key(family["repas"], day) for day in DECEMBER[:2]]
    shared = logged.post(calendar_url(family), {"grille": "1", "c": checked, "action": "panier"})
    assert shared.status_code == 200
    assert "Estimation" not in text_of(shared)
    alone = logged.post(
        calendar_url(family, child=family["hugo"]),
        {"grille": "1", "c": checked, "action": "panier"},
    )
    assert "Estimation pour décembre 2026" in text_of(alone)
