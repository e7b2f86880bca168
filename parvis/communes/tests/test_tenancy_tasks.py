"""Issue 18 §2: the background tasks of one commune's work run in its scope (the request that
queues them passes its commune's id; parvis/tests/test_sql_commune_filter.py runs them under
capture). A new task is either a commune task or declared here with the reason."""

import importlib
import inspect
from pathlib import Path

from django_tasks.base import Task

import parvis
from parvis.communes import tenancy

# Tasks that work for no commune in particular, with the reason.
PLATFORM_TASKS = {
    "parvis.mail.send_email": "reads the mail queue only (background_outgoingemail, platform)",
    "parvis.mail.send_emails": "reads the mail queue only (background_outgoingemail, platform)",
}


def project_tasks() -> dict[str, Task]:
    root = Path(parvis.__file__).parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if "tests" in parts or "migrations" in parts or "@task(" not in path.read_text():
            continue
        module = importlib.import_module(".".join(parts))
        for value in vars(module).values():
            if isinstance(value, Task) and value.func.__module__ == module.__name__:
                found[value.module_path] = value
    return found


def test_every_task_is_a_commune_task_or_a_declared_platform_one():
    tasks = project_tasks()
    assert len(tasks) >= 7
    # tenancy.commune_task, or a task taking commune_id itself and entering its scope
    # (background.jobs.run_job_task: the job's rows say it by hand, below parvis.communes).
    scoped = {
        path
        for path, task in tasks.items()
        if hasattr(task.func, "__wrapped__")
        or "commune_id" in inspect.signature(task.func).parameters
    }
    assert {
        "parvis.billing.tasks.send_invoices",
        "parvis.billing.tasks.send_receipt",
        "parvis.billing.services_runs.issue_run_task",
        "parvis.rgpd.services.build_export_task",
        "parvis.background.jobs.run_job_task",
    } <= scoped
    assert set(tasks) - scoped == set(PLATFORM_TASKS)


def test_a_commune_task_runs_in_the_scope_of_the_commune_it_is_queued_with():
    seen = []

    @tenancy.commune_task
    def work(*, value):
        seen.append((value, tenancy.current_commune_id()))
        return value

    assert work(value=1, commune_id=7) == 1
    assert work(value=2) == 2  # queued before commune_id was passed: unscoped, as before
    assert seen == [(1, 7), (2, None)]
    assert tenancy.current_commune_id() is None
