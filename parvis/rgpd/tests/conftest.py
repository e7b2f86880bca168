import pytest


@pytest.fixture
def private_root(settings, tmp_path):
    """A fresh private store for the test's files."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def full_demo(demo_communes, private_root):
    """Every demo loader (families, documents, activities, invoices, payments)."""
    from parvis.portal.management.commands.load_demo import LOADERS

    for loader in LOADERS[1:]:
        loader()
    return demo_communes
