"""parvis.ids: an id is ASCII digits that a database id column can hold, nothing else."""

import re

from hypothesis import given
from hypothesis import strategies as st

from parvis.ids import ID_MAX, parse_id, parse_ids

NOT_IDS = [
    "²",  # str.isdigit says yes, int() refuses: it was a 500 on « Payer »
    "١٢٣",  # Arabic-Indic digits: int() reads 123
    "４２",  # full-width digits: int() reads 42
    "٣",
    "⁵",
    "-1",
    "+1",
    "-99999999999999999999",  # the guichet's batch document validation: an OverflowError
    "99999999999999999999",
    "9" * 30,
    "9" * 5000,  # past CPython's 4300 digits, int() raises
    str(ID_MAX + 1),
    "0",
    "",
    " ",
    "1_000",
    "1e3",
    "0x1",
    "1.0",
    "\x00",
    "1\x00",
    "[1]",
    None,
    1.0,
    True,
    -3,
    0,
    ID_MAX + 1,
    ["1"],
]


def test_ids_are_ascii_digits_up_to_the_largest_bigint():
    assert parse_id("1") == 1
    assert parse_id("007") == 7
    assert parse_id("0" * 30 + "7") == 7
    assert parse_id(" 42\n") == 42  # what a browser pads stays an id
    assert parse_id(str(ID_MAX)) == ID_MAX == 2**63 - 1
    assert parse_id(12) == 12


def test_anything_else_is_none():
    for value in NOT_IDS:
        assert parse_id(value) is None, value


def test_parse_ids_keeps_the_ids_in_order_once_and_drops_the_rest():
    assert parse_ids(["3", "²", "1", "-99999999999999999999", "3", "١٢٣", 2]) == [3, 1, 2]
    assert parse_ids([]) == []


@given(st.text(max_size=25))
def test_any_text_is_an_id_only_when_it_is_ascii_digits_in_range(text):
    value = parse_id(text)
    digits = re.fullmatch(r"[ \t\r\n]*([0-9]+)[ \t\r\n]*", text)
    if digits and 0 < int(digits.group(1)) <= ID_MAX:
        assert value == int(digits.group(1))
    else:
        assert value is None


@given(st.integers())
def test_any_integer_written_out_is_an_id_only_in_range(number):
    expected = number if 0 < number <= ID_MAX else None
    assert parse_id(str(number)) == expected
    assert parse_id(number) == expected
