"""Issue 18 §2: EnsureCommuneKeys again, now that it also makes the single-column unique fields
of a commune's tables (one-to-one fields, tokens, references) UNIQUE (column, commune_id), and
that a closure is once a day (activities 0008). Outside a transaction: its indexes are built
CONCURRENTLY and its foreign keys validated after being added NOT VALID
(parvis.communes.distribution). Reversed, it drops nothing: the state before it is the same
models, whose keys the first run (0005) builds."""

from django.db import migrations

from parvis.communes.distribution import EnsureCommuneKeys


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("activities", "0008_closure_once"),
        ("rgpd", "0005_commune_keys"),
    ]

    operations = [EnsureCommuneKeys()]
