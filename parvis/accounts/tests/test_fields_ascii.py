"""A postal code and a phone number are made of ASCII digits: other scripts' digits (« ١٢٣٤٥ »,
« ７８４２０ ») match `\\d` in Python and used to be stored as they were typed."""

import pytest
from django.core.exceptions import ValidationError

from parvis.accounts.fields import PhoneField, PostalCodeField


@pytest.mark.parametrize("value", ["١٢٣٤٥", "７８４２０", "7842０", "78 42²"])
def test_a_postal_code_in_other_digits_is_refused(value):
    with pytest.raises(ValidationError, match="Le code postal comporte 5 chiffres"):
        PostalCodeField().clean(value)


def test_a_postal_code_in_ascii_digits_is_kept():
    assert PostalCodeField().clean(" 78 420 ") == "78420"


@pytest.mark.parametrize("value", ["٠٦١٢٣٤٥٦٧٨", "０６ １２ ３４ ５６ ７８"])
def test_a_phone_in_other_digits_is_refused(value):
    with pytest.raises(ValidationError, match="numéro de téléphone français"):
        PhoneField().clean(value)


def test_a_phone_in_ascii_digits_is_written_in_pairs():
    assert PhoneField().clean("+33612345678") == "06 12 34 56 78"
