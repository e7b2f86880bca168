"""Parts of pages worked out once per process and kept by key (issue 23): the frame's fixed
parts (`{% frame_once %}`), the blank forms of the household grid (form_painter.fresh), the
calendars' painter's texts. Nothing of a visitor is ever a key's value or a part's content (each
user says what its key holds); only what the code and the settings decide.

One shape for all: at most `maximum` parts kept, emptied when full (a part is worked out again
then), and emptied when a setting changes (a test's other language files, addresses or static
storage)."""

from django.core.signals import setting_changed
from django.dispatch import receiver

_STORES: list["PaintedOnce"] = []


class PaintedOnce(dict):
    """A dict of parts by key, bounded by `maximum`, emptied with the settings."""

    def __init__(self, maximum: int):
        super().__init__()
        self.maximum = maximum
        _STORES.append(self)

    def keep(self, key, part):
        """`part` kept under `key` (the store emptied first when full); `part` given back."""
        if len(self) >= self.maximum:
            self.clear()
        self[key] = part
        return part


@receiver(setting_changed)
def _forget(**kwargs):
    for store in _STORES:
        store.clear()
