import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parvis.settings")

# What a worker loads and keeps for its whole life (Django, the apps, then on its first requests
# the URL configuration's views, the compiled templates, the catalogues, the statements compiled
# once) is moved out of the collector's reach: a full collection no longer rescans it in the
# middle of a request (on the reservation calendars it was most of the 95th percentile; on the
# registration rush's journey 1.3-1.7 ms of every request went to the collector, 0.4-0.5 once
# frozen after the first requests). Frozen at start-up, then after the 10th, 100th and 1,000th
# request — at the start of the next one, when the last request's objects are garbage (frozen
# while its response was still being sent, they would never be freed): one full collection each
# time, garbage first, so only what is alive is frozen.
FREEZE_AFTER = frozenset({10, 100, 1000})


def freeze_what_lives() -> None:
    gc.collect()
    gc.freeze()


class FreezingApplication:
    """The WSGI application, freezing what the worker holds once its FREEZE_AFTER-th requests
    are over (a count of this process's requests: nothing is kept about them)."""

    def __init__(self, wrapped):
        self.wrapped, self.served = wrapped, 0

    def __call__(self, environ, start_response):
        if self.served in FREEZE_AFTER:
            freeze_what_lives()
        self.served += 1
        return self.wrapped(environ, start_response)


django_application = get_wsgi_application()
freeze_what_lives()
application = FreezingApplication(django_application)
