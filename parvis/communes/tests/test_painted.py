"""communes.painted: the one store of the parts worked out once per process."""

from django.test import override_settings

from parvis.activities import form_painter, painter
from parvis.communes.painted import PaintedOnce
from parvis.portal.templatetags import parvis_frame


def test_a_full_store_is_emptied_before_it_keeps_one_more():
    store = PaintedOnce(2)
    assert store.keep("a", 1) == 1
    store.keep("b", 2)
    assert dict(store) == {"a": 1, "b": 2}
    assert store.keep("c", 3) == 3
    assert dict(store) == {"c": 3}


def test_every_store_is_emptied_when_a_setting_changes():
    stores = (PaintedOnce(4), parvis_frame._PAINTED, form_painter._FRESH, painter._TEXTS)
    for store in stores:
        store.keep(("clé",), "partie")
    with override_settings(LANGUAGE_CODE="en"):
        assert [len(store) for store in stores] == [0, 0, 0, 0]
