"""WCAG 1.3.5 (RGAA 11.13): an input's autocomplete token says what it holds. `street-address` is
for a multi-line field; Parvis asks the street on one line, so it is `address-line1` (issue 24 §2).
"""

import re

import pytest

from parvis.accounts import fields
from parvis.demarches.forms import StepForm
from parvis.demarches.tests.factories import ProcedureFactory


def autocomplete_tokens(html: str) -> dict[str, str]:
    """The autocomplete token of every input of `html`, by the input's name."""
    return {
        name: token
        for tag in re.findall(r"<input\b[^>]*>", html)
        for name in re.findall(r'name="([^"]+)"', tag)
        for token in re.findall(r'autocomplete="([^"]+)"', tag)
    }


def test_the_one_line_address_of_accounts_and_family_files_is_address_line1():
    html = fields.address_field().widget.render("address", "")
    assert autocomplete_tokens(html) == {"address": "address-line1"}


@pytest.mark.django_db
def test_a_procedures_address_asks_its_street_as_address_line1():
    procedure = ProcedureFactory()
    form = StepForm(procedure=procedure, step=1, answers={})
    tokens = autocomplete_tokens(str(form))
    # The street, then the postal code and the city on their own lines.
    street = [name for name, token in tokens.items() if token == "address-line1"]
    assert len(street) == 1 and street[0].startswith("adresse")
    assert "street-address" not in tokens.values()
