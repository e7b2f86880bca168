"""Queuing background work (Django's Tasks API, through django-tasks; the backend is chosen by
settings.PARVIS_TASKS)."""

from django.db import transaction


def enqueue_on_commit(task, **kwargs) -> None:
    """Queues `task(**kwargs)` once the current transaction has committed (at once outside
    one): a worker never sees work whose data rolled back, and with the immediate backend the
    work runs after the commit, as in production. Arguments are JSON values (ids, not
    objects)."""
    transaction.on_commit(lambda: task.enqueue(**kwargs))
