"""parvis.text: one rule each for accent folding, phone numbers and CSV cells, and parvis.money's
constants; every app uses these (no copy left: the apps' own tests check their pages)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from parvis.communes.models import Commune, Service
from parvis.money import CENT, ZERO
from parvis.text import (
    FORMULA_STARTS,
    fold,
    normalise_phone,
    spreadsheet_cell,
    validate_phone,
)

# --- fold ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Léa DURAND", "lea durand"),
        ("Cœur de Bœuf", "coeur de boeuf"),
        ("ÆSOPE", "aesope"),
        ("Ørsted", "orsted"),
        ("Ça déçoit à l'École", "ca decoit a l'ecole"),
        ("ﬁlle", "fille"),  # a compatibility ligature decomposes
        ("", ""),
        (None, ""),
    ],
)
def test_fold_drops_case_accents_and_ligatures(text, folded):
    assert fold(text) == folded


@given(st.text(st.characters(max_codepoint=0x24F)))  # the Latin letters names are written in
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


def test_the_families_and_billing_use_the_one_fold():
    from parvis.billing import pricing
    from parvis.families import selectors

    assert selectors.fold is fold
    assert pricing.fold is fold


# --- Phone numbers -------------------------------------------------------------------------------

ACCEPTED = [
    ("06 12 34 56 78", "06 12 34 56 78"),
    ("0612345678", "06 12 34 56 78"),
    ("06.12.34.56.78", "06 12 34 56 78"),
    ("06-12-34-56-78", "06 12 34 56 78"),
    ("+33 6 12 34 56 78", "06 12 34 56 78"),
    ("0033 1 39 22 36 00", "01 39 22 36 00"),
    ("(01) 39 22 36 00", "01 39 22 36 00"),
    (" 01 39 22 36 00 ", "01 39 22 36 00"),
    ("0262 12 34 56", "02 62 12 34 56"),  # La Réunion, dialled from France
]
REFUSED = [
    "",
    "12",
    "3939",  # a short number
    "06 12 34 56 7",  # 9 digits
    "06 12 34 56 789",  # 11 digits
    "00 12 34 56 78",  # no French number starts 00
    "+32 2 123 45 67",  # Belgium
    "+33 0 12 34 56 78",  # +33 then the trunk 0
    "+262 262 12 34 56",
    "٠٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    "０６１２３４５６７８",  # full-width digits
    "06 12 34 56 7８",
    "06/12/34/56/78",
    "tel: 0612345678",
    "+33 (0)6 12 34 56 78",  # +33 then the trunk 0, in brackets: refused as before
]


@pytest.mark.parametrize(("raw", "stored"), ACCEPTED)
def test_a_french_number_is_accepted_and_written_in_pairs(raw, stored):
    assert normalise_phone(raw) == stored
    validate_phone(raw)  # no error


@pytest.mark.parametrize("raw", REFUSED)
def test_anything_else_is_refused(raw):
    assert normalise_phone(raw) is None
    if raw:
        with pytest.raises(ValidationError, match="numéro de téléphone français"):
            validate_phone(raw)


def test_a_blank_phone_is_the_fields_business():
    validate_phone("")  # blank=True fields decide whether blank is allowed


@given(st.from_regex(r"\A0[1-9][0-9]{8}\Z"))
def test_every_ten_digit_national_number_round_trips(digits):
    stored = normalise_phone(digits)
    assert stored.replace(" ", "") == digits
    assert normalise_phone(stored) == stored
    assert normalise_phone("+33" + digits[1:]) == stored


def test_the_communes_and_the_familys_phones_follow_the_one_rule():
    """The commune's, a service's and a régie's phone refuse what the family's form refuses
    (they used to take « 3939 » or a Belgian number)."""
    from parvis.accounts.fields import PhoneField
    from parvis.billing.models import Regie

    for model in (Commune, Service, Regie):
        assert validate_phone in model._meta.get_field("phone").validators
    with pytest.raises(ValidationError):
        PhoneField().clean("+32 2 123 45 67")
    assert PhoneField().clean("0033 1 39 22 36 00") == "01 39 22 36 00"


# --- CSV cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_quoted(start):
    assert spreadsheet_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("DURAND", "DURAND"),
        ("a=b", "a=b"),  # only the first character counts
        (" =1", " =1"),
        ("", ""),
        (None, ""),
        (12, "12"),
        (-12, "'-12"),
        (Decimal("-0.50"), "'-0.50"),
        ("'=1", "'=1"),
    ],
)
def test_other_cells_are_kept(value, cell):
    assert spreadsheet_cell(value) == cell


def test_the_guards_starts_are_the_six_known_ones():
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


# --- Money ---------------------------------------------------------------------------------------


def test_money_constants():
    assert Decimal("0.00") == ZERO and str(ZERO) == "0.00"
    assert Decimal("0.01") == CENT
