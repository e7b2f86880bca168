import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parvis.settings")
application = get_wsgi_application()
# Everything loaded at start-up (Django, the apps, the templates) lives as long as the process:
# moved out of the collector's reach, a full collection no longer rescans it in the middle of a
# request (on the reservation calendars it was most of the 95th percentile).
gc.freeze()
