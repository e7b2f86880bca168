import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from parvis.communes.theme import contrast_with_white, validate_theme_colour


@pytest.mark.parametrize(
    ("colour", "ratio"),
    [("#FFFFFF", 1.0), ("#000000", 21.0), ("#767676", 4.54), ("#777777", 4.48)],
)
def test_contrast_ratio_follows_wcag(colour, ratio):
    assert contrast_with_white(colour) == pytest.approx(ratio, abs=0.005)


def test_the_darkest_grey_that_fails_and_the_lightest_that_passes():
    validate_theme_colour("#767676")  # 4.54:1
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        validate_theme_colour("#777777")  # 4.48:1
    assert error.value.code == "contrast"
    assert "4,47:1" in str(error.value.messages[0])
    assert "4,5:1" in str(error.value.messages[0])


@pytest.mark.parametrize("colour", ["", "blue", "#12345", "#1234567", "#GGGGGG", "1B4F8A"])
def test_malformed_colours_are_refused_with_an_example(colour):
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        validate_theme_colour(colour)
    assert error.value.code == "format"
    assert "#RRVVBB" in error.value.messages[0]


@given(st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True))
def test_a_colour_is_accepted_exactly_when_white_text_on_it_reaches_4_5(colour):
    try:
        validate_theme_colour(colour)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (contrast_with_white(colour) >= 4.5)
