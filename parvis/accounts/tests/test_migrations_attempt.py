"""The administration's door migration (accounts 0007) can be taken back with its rows there: an
attempt without a commune could not stay in the older schema, where each has one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("accounts", "0006_audit_target_index")]
AFTER = [("accounts", "0007_attempt_admin_login_door")]


@pytest.mark.django_db(transaction=True)
def test_0007_goes_back_with_attempts_of_the_administrations_door():
    executor = MigrationExecutor(connection)
    Attempt = executor.loader.project_state(AFTER).apps.get_model("accounts", "Attempt")
    Attempt.objects.create(kind="admin_login", identifier="op", at=timezone.now())
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        assert old.get_model("accounts", "Attempt").objects.count() == 0
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
