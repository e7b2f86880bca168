"""« 1er septembre »: the first of a month in a long French date (parvis.communes.dates), in
Python, in templates (the `long_date` filter) and on the pages that show one."""

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from parvis.communes.dates import long_date
from parvis.communes.tests.factories import ActualiteFactory
from parvis.portal.tests.test_pages import text_of


@pytest.mark.parametrize(
    ("day", "fmt", "french", "english"),
    [
        (date(2026, 9, 1), "j F Y", "1er septembre 2026", "1 September 2026"),
        (date(2026, 9, 2), "j F Y", "2 septembre 2026", "2 September 2026"),
        (date(2026, 9, 30), "j F Y", "30 septembre 2026", "30 September 2026"),
        (date(2026, 6, 1), "l j F", "lundi 1er juin", "Monday 1 June"),
        (date(2027, 1, 1), "l j F Y", "vendredi 1er janvier 2027", "Friday 1 January 2027"),
        # A backslash-escaped « j » is a letter, not the day.
        (date(2026, 9, 1), r"j F \j", "1er septembre j", "1 September j"),
    ],
)
def test_the_first_of_a_month_is_1er_in_french_only(day, fmt, french, english):
    with translation.override("fr"):
        assert long_date(day, fmt) == french
    with translation.override("en"):
        assert long_date(day, fmt) == english


@pytest.mark.django_db
def test_a_moment_reads_on_the_local_day(settings):
    # 31 August 22:30 UTC is 1 September 00:30 in Paris.
    moment = datetime(2026, 8, 31, 22, 30, tzinfo=UTC)
    with translation.override("fr"):
        assert long_date(moment, "j F Y à H:i") == "1er septembre 2026 à 00:30"
        rendered = Template('{% load parvis_dates %}{{ moment|long_date:"j F Y à H:i" }}')
        assert rendered.render(Context({"moment": moment})) == "1er septembre 2026 à 00:30"
        assert (
            Template("{% load parvis_dates %}{{ day|long_date }}").render(
                Context({"day": date(2026, 9, 1)})
            )
            == "1er septembre 2026"
        )
    assert long_date(None) == ""


@pytest.mark.django_db
def test_news_published_on_the_first_says_1er(client, settings):
    item = ActualiteFactory(title="Rentrée", published_at=datetime(2026, 9, 1, 8, 0, tzinfo=UTC))
    for url in (f"/{item.commune.slug}/actualites/", item.get_absolute_url()):
        text = text_of(client.get(url))
        assert "Publiée le 1er septembre 2026" in text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = text_of(client.get(item.get_absolute_url()))
    assert "1 September 2026" in english and "1er" not in english


def test_every_long_date_goes_through_long_date():
    """Scans templates and code: a « j F » date written with Django's `date` filter or
    `date_format` would say « 1 septembre »."""
    import re
    from pathlib import Path

    import parvis

    root = Path(parvis.__file__).parent
    plain = re.compile(r"""(\|date:|date_format\(.*?,\s*)["'][^"']*\bj F""")
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*")
        if path.suffix in {".html", ".txt", ".py"} and "tests" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if plain.search(line)
    ]
    assert found == []
