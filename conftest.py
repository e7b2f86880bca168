"""Shared pytest fixtures. Browser journeys' fixtures live in parvis/testing/browser.py."""

import pytest

pytest_plugins = ["parvis.testing.browser", "parvis.testing.storage"]


@pytest.fixture
def demo_communes(db):
    """The two demo communes, loaded by the same code as `manage.py load_demo`."""
    from parvis.communes import demo

    return {c.slug: c for c in demo.load()}
