"""The family quotient: exact to the cent, parts rules at their edges, validity and history."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from parvis.accounts.models import AuditEntry
from parvis.communes.qf_rules import DEFAULT_PARTS_RULES, validate_parts_rules
from parvis.families.models import QfSource
from parvis.families.quotient import compute_qf, number_of_parts
from parvis.families.services import current_quotient, record_quotient
from parvis.families.tests.factories import AgentFactory, FamilleFactory

# The issue's example: 2 for a couple, 1 more per child, +0.5 from the third child, a single
# parent's extra part.
ISSUE_RULES = {
    "couple": "2",
    "single": "1",
    "single_parent_bonus": "1",
    "children": ["1", "1", "1.5"],
}


@pytest.mark.parametrize(
    ("rules", "couple", "children", "parts"),
    [
        (DEFAULT_PARTS_RULES, True, 0, "2"),
        (DEFAULT_PARTS_RULES, True, 1, "2.5"),
        (DEFAULT_PARTS_RULES, True, 2, "3"),
        (DEFAULT_PARTS_RULES, True, 3, "4"),  # the third child counts 1
        (DEFAULT_PARTS_RULES, True, 5, "6"),  # and so does every next one
        (DEFAULT_PARTS_RULES, False, 0, "1"),  # no bonus without a child
        (DEFAULT_PARTS_RULES, False, 1, "2"),  # 1 + 0.5 bonus + 0.5
        (ISSUE_RULES, True, 2, "4"),
        (ISSUE_RULES, True, 3, "5.5"),
        (ISSUE_RULES, False, 1, "3"),
    ],
)
def test_parts_at_the_edges_of_the_rules(rules, couple, children, parts):
    assert number_of_parts(rules, couple=couple, children=children) == Decimal(parts)


def test_the_quotient_is_exact_to_the_cent():
    # 2 × 15 000 € + 2 children: (30 000 / 12 + 300) / 3 = 933,333… → 933,33
    parts = number_of_parts(DEFAULT_PARTS_RULES, couple=True, children=2)
    assert compute_qf(
        annual_taxable_income=Decimal("30000"), monthly_benefits=Decimal("300"), parts=parts
    ) == (Decimal("933.33"))
    # A half cent rounds up, once: (1 000,20 / 12) / 1 = 83,35 exactly
    assert compute_qf(
        annual_taxable_income=Decimal("1000.20"), monthly_benefits=Decimal("0"), parts=Decimal("1")
    ) == (Decimal("83.35"))
    # 100,10 / 12 / 2 = 4,170833… → 4,17 (no float anywhere: 0.1 stays 0.1)
    assert compute_qf(
        annual_taxable_income=Decimal("100.10"), monthly_benefits=Decimal("0"), parts=Decimal("2")
    ) == (Decimal("4.17"))


cents = st.integers(min_value=0, max_value=50_000_000).map(lambda c: Decimal(c) / 100)
halves = st.integers(min_value=1, max_value=20).map(lambda h: Decimal(h) / 2)


@given(income=cents, benefits=cents, parts=halves)
def test_the_quotient_equals_the_exact_fraction_rounded_half_up(income, benefits, parts):
    exact = (Fraction(income) / 12 + Fraction(benefits)) / Fraction(parts)
    hundredths = exact * 100
    floor = hundredths.numerator // hundredths.denominator
    expected = floor + (1 if hundredths - floor >= Fraction(1, 2) else 0)
    result = compute_qf(annual_taxable_income=income, monthly_benefits=benefits, parts=parts)
    assert result == Decimal(expected) / 100
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "rules",
    [
        {},
        {**DEFAULT_PARTS_RULES, "couple": "deux"},
        {**DEFAULT_PARTS_RULES, "single": "0"},
        {**DEFAULT_PARTS_RULES, "children": []},
        {**DEFAULT_PARTS_RULES, "children": ["0.5", "-1"]},
        {**DEFAULT_PARTS_RULES, "extra": "1"},
        {**DEFAULT_PARTS_RULES, "single_parent_bonus": "NaN"},
    ],
)
def test_broken_parts_rules_are_refused_in_french(rules):
    with pytest.raises(ValidationError) as refused:
        validate_parts_rules(rules)
    message = refused.value.messages[0]
    assert any(words in message for words in ("doit être", "comportent exactement", "au moins"))


@pytest.mark.django_db
def test_a_computed_quotient_keeps_its_inputs_and_history(settings):
    famille = FamilleFactory()
    agent = AgentFactory(commune=famille.commune)
    year = date(2026, 1, 1)
    first = record_quotient(
        famille=famille,
        actor=agent,
        source=QfSource.AGENT,
        value=Decimal("650"),
        valid_from=year,
        valid_until=date(2026, 8, 31),
    )
    second = record_quotient(
        famille=famille,
        actor=agent,
        source=QfSource.AVIS_IMPOSITION,
        annual_taxable_income=Decimal("30000"),
        monthly_benefits=Decimal("300"),
        couple=True,
        children=2,
        valid_from=date(2026, 9, 1),
        valid_until=date(2027, 8, 31),
    )
    assert second.value == Decimal("933.33")
    assert second.details == {
        "annual_taxable_income": "30000",
        "monthly_benefits": "300",
        "couple": True,
        "children": 2,
        "parts": "3.0",
    }
    assert list(famille.quotients.all()) == [second, first]  # newest first, both kept
    assert AuditEntry.objects.filter(action="quotient.record", famille_id=famille.pk).count() == 2


@pytest.mark.django_db
def test_the_current_quotient_at_the_edges_of_its_validity():
    famille = FamilleFactory()
    agent = AgentFactory(commune=famille.commune)
    start, end = date(2026, 9, 1), date(2027, 8, 31)
    quotient = record_quotient(
        famille=famille,
        actor=agent,
        source=QfSource.CAF,
        value=Decimal("812.40"),
        valid_from=start,
        valid_until=end,
    )
    assert current_quotient(famille, on=start - timedelta(days=1)) is None
    assert current_quotient(famille, on=start) == quotient
    assert current_quotient(famille, on=end) == quotient
    # The day after it expires the family is flagged (no valid QF: the highest bracket applies).
    assert current_quotient(famille, on=end + timedelta(days=1)) is None
    assert current_quotient(FamilleFactory(commune=famille.commune), on=start) is None
