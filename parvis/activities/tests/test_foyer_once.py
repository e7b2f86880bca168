"""The household grid's and basket's fixed parts are painted once per language and address
(parvis_frame's {% frame_once %}, issue 23), and « Copier la semaine » unfilled once per Monday
(form_painter.fresh): every page is the one drawn when each part is drawn every time in the
page's whole context — a part that read anything it is not keyed on (the period, a link, a
count, a Monday) would show another page's value, or nothing."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template import Context
from django.utils.translation import override

from parvis.activities import form_painter
from parvis.activities.forms_foyer import CopyWeekForm
from parvis.activities.painter import Painter
from parvis.activities.selectors_foyer import FoyerCell, Grid, Household
from parvis.activities.tests import test_foyer as base
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_foyer import key, pattern, url
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory
from parvis.portal.templatetags import parvis_frame

pytestmark = pytest.mark.django_db

# A household of two children, logged in, on Friday 20 November 2026 at 10:00.
clock, family, logged = base.clock, base.family, base.logged


def every_time(self, context: Context) -> str:
    """{% frame_once %} without its store: the part drawn in the page's context, its values
    added."""
    values = {name: value.resolve(context) for name, value in self.values.items()}
    with context.push(**values):
        return self.nodelist.render(context)


def fresh_every_time(make, *key):
    form = make()
    return form_painter.fields(form), form_painter.summary(form)


def pages(client, family) -> list[str]:
    """The grid (this month with its folded weeks, the next, a quarter), a tool used, another
    period, the basket: their HTML, the CSRF tokens (new on every page) left out."""
    lea, matin = family["lea"], family["matin"]
    other = "aller:mois:2027-01-01"
    ticked = [key(lea, matin, date(2026, 12, 7)), key(lea, matin, date(2026, 12, 8))]
    responses = [
        client.get(url("foyer", family)),
        client.get(url("foyer", family, vue="mois", debut="2026-12-01")),
        client.get(url("foyer", family, vue="trimestre", debut="2026-12-01")),
        client.post(
            url("foyer", family),
            pattern(family, lea, ("a", family["peri"]), date(2026, 12, 7), date(2026, 12, 18)),
        ),
        client.post(url("foyer", family), base.grid_post(family, c=ticked, action=other)),
        client.post(url("foyer", family), base.grid_post(family, c=ticked, action="panier")),
    ]
    assert [r.status_code for r in responses] == [200] * len(responses)
    return [
        re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", r.content.decode())
        for r in responses
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_pages_painted_once_are_the_pages_painted_every_time(
    logged, family, language, monkeypatch
):
    logged.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    parvis_frame._PAINTED.clear()
    form_painter._FRESH.clear()
    first = pages(logged, family)  # painted and kept
    again = pages(logged, family)  # given back as kept
    monkeypatch.setattr(parvis_frame.FrameOnceNode, "render", every_time)
    monkeypatch.setattr(form_painter, "fresh", fresh_every_time)
    drawn = pages(logged, family)
    assert again == first
    assert drawn == first
    # The comparison means something: the parts kept are the ones of these pages.
    said = "Copier la semaine" if language == "fr" else "Copy the week"
    assert all(said in page for page in first[:5])
    assert "Décembre 2026" in first[1] or "December 2026" in first[1]


def test_another_communes_grid_links_to_its_own_pages(client, family):
    """The links of a part painted once are keyed: another commune's grid has its own."""
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune, name="MARTIN")
    register(ChildFactory(famille=famille, first_names="Zoé"), make_activity(commune))
    other = {"commune": commune, "user": FamilyAccessFactory(famille=famille).user}
    for household in (family, other):
        client.force_login(household["user"], backend=base.BACKEND)
        html = client.get(url("foyer", household)).content.decode()
        assert f'formaction="{url("foyer", household)}#copier"' in html
        assert f'href="{url("choisir", household)}"' in html


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_fresh_form_painted_once_is_the_form_drawn(language):
    """form_painter.fresh gives back what fields and summary draw of the form, for its key."""

    def make(monday):
        return lambda: CopyWeekForm(prefix="copie", bounds=None, initial={"semaine": monday})

    form_painter._FRESH.clear()
    with override(language):
        for monday in (date(2026, 12, 7), date(2027, 1, 4), None, date(2026, 12, 7)):
            painted = form_painter.fresh(make(monday), CopyWeekForm, "copie", monday)
            form = make(monday)()
            assert painted == (form_painter.fields(form), form_painter.summary(form))
    with pytest.raises(ValueError):
        form_painter.fresh(lambda: CopyWeekForm({}, bounds=None), "bound")


def test_a_painters_texts_are_those_of_the_language_it_paints_in():
    """Painter's fixed texts are kept by language (_texts): each painter says its own."""
    said = {}
    for language in ("fr", "en", "fr"):
        with override(language):
            painter = Painter(None)
            said.setdefault(language, []).append(
                (painter.added, painter.weekdays[0], painter._weekday_names()[6])
            )
    assert said["fr"] == [("ajout demandé", "lundi", "dimanche")] * 2
    assert said["en"] == [("addition requested", "Monday", "Sunday")]


def test_the_grids_changes_are_the_cells_changed():
    """Grid.changes reads the cells' state itself (not Cell.changed's properties): the same
    cells, in the same order — booked or not, wanted or not, waiting, offered, locked."""
    unit = SimpleNamespace(pk=7)
    cells = {}
    for n, (status, wanted, reason) in enumerate(
        (status, wanted, reason)
        for status in (None, "reservee", "en_attente", "liste_attente", "proposee")
        for wanted in (False, True)
        for reason in (None, "date limite dépassée")
    ):
        day = date(2026, 12, 1 + n)
        cells[(1, 7, day)] = FoyerCell(
            unit=unit, day=day, status=status, wanted=wanted, reason=reason, ident=(1, 7, day)
        )
    grid = Grid(household=Household(lines=[]), start=date(2026, 12, 1), end=date(2026, 12, 31),
                cells=cells, rules={}, files={})  # fmt: skip
    expected = [cell for cell in cells.values() if cell.changed]
    assert grid.changes() == expected
    assert 0 < len(expected) < len(cells)
