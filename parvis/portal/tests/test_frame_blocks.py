"""{% frame %} (parvis_frame) around base.html's body: `{% extends "base.html" %}` finds the
frame's blocks once per compiled template instead of walking its whole tree on every page, and
every page still fills them. `{% frame_year %}` is `{% now "Y" %}`."""

import zoneinfo
from datetime import datetime
from unittest import mock

import pytest
from django.template import Context, Template, TemplateSyntaxError, engines
from django.template.base import NodeList
from django.template.loader_tags import BlockNode
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parvis.communes.tests.factories import CommuneFactory
from parvis.portal.templatetags.parvis_frame import FrameBlocksNode

FRAME = (
    "{% load parvis_frame %}{% frame %}<h1>{% block title %}T{% endblock %}</h1>"
    "{% if x %}{% block content %}C{% endblock %}{% endif %}{% endframe %}"
)


def frame_node(template: Template) -> FrameBlocksNode:
    (node,) = template.nodelist.get_nodes_by_type(FrameBlocksNode)
    return node


def test_the_blocks_are_found_once_and_each_caller_gets_its_own_list():
    node = frame_node(Template(FRAME))
    first = node.get_nodes_by_type(BlockNode)
    assert [block.name for block in first] == ["title", "content"]
    first.clear()
    with mock.patch.object(NodeList, "get_nodes_by_type", side_effect=AssertionError("walked")):
        assert [block.name for block in node.get_nodes_by_type(BlockNode)] == ["title", "content"]


def test_the_part_renders_as_it_is():
    template = Template(FRAME)
    assert template.render(Context({"x": True})) == "<h1>T</h1>C"
    assert template.render(Context({"x": False})) == "<h1>T</h1>"


def test_frame_takes_no_argument():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load parvis_frame %}{% frame x %}{% endframe %}")


def test_a_page_extending_base_html_walks_the_frame_once():
    engine = engines["django"].engine
    child = engine.from_string(
        "{% extends 'base.html' %}{% block title %}Ici{% endblock %}"
        "{% block content %}<p>Contenu</p>{% endblock %}"
    )
    child.render(Context())
    with mock.patch.object(NodeList, "get_nodes_by_type", autospec=True) as walk:
        walk.side_effect = lambda nodelist, nodetype: [
            n for node in nodelist for n in node.get_nodes_by_type(nodetype)
        ]
        html = child.render(Context())
    # base.html's top-level list only (its {% load %}, its text, the frame): not its tree.
    assert walk.call_count == 1
    assert "<p>Contenu</p>" in html and "Ici" in html.split("</title>")[0]


@pytest.mark.django_db
def test_the_pages_still_fill_the_frames_blocks():
    CommuneFactory(slug="cadre", name="Cadre-sur-Mer")
    client = Client()
    for _ in range(2):
        html = client.get(reverse("accounts:connexion", kwargs={"commune": "cadre"})).content
        html = html.decode()
        title = html.split("<title>")[1].split("</title>")[0]
        assert "Connexion" in title and "Cadre-sur-Mer" in title
        assert '<h1 class="page-title">Mon espace perso</h1>' in html
        assert html.rstrip().endswith("</html>")


@pytest.mark.parametrize(
    ("now", "zone"),
    [
        ("2026-12-31T22:59:59+00:00", "Europe/Paris"),  # 23:59:59 in Paris: still 2026
        ("2026-12-31T23:00:00+00:00", "Europe/Paris"),  # midnight in Paris: 2027 already
        ("2026-12-31T23:00:00+00:00", "UTC"),
        ("0999-06-01T12:00:00+00:00", "UTC"),  # four digits, as « Y » writes them
    ],
)
def test_frame_year_is_now_y(now, zone):
    moment = datetime.fromisoformat(now)
    text = "{% load parvis_frame %}{% frame_year %}|{% now 'Y' %}"
    with (
        timezone.override(zoneinfo.ZoneInfo(zone)),
        mock.patch("django.utils.timezone.now", return_value=moment),
        mock.patch("django.template.defaulttags.datetime") as clock,
    ):
        clock.now.side_effect = lambda tz=None: moment.astimezone(tz)
        ours, django_s = Template(text).render(Context()).split("|")
    assert ours == django_s
