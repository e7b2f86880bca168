"""`Fold` (SQL) folds as `fold` (Python) does, on the database the tests run on: SQLite calls
`fold` itself; PostgreSQL spells it with NORMALIZE, REGEXP_REPLACE, REPLACE and LOWER."""

import pytest
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Collate

from parvis.communes.models import Commune
from parvis.communes.tests.factories import CommuneFactory
from parvis.text import Fold, _fold_or_none, fold

pytestmark = pytest.mark.django_db

NAMES = ["Saint-Étienne", "LŒUILLY", "Lœuilly", "L'Haÿ-les-Roses", "Ærø", "ÇA", "Île-d'Arz"]


def test_every_latin_character_folds_in_sql_as_in_python():
    CommuneFactory()
    texts = [chr(code) for code in range(0x20, 0x250)] + NAMES
    annotations = {f"t{n}": Fold(Value(text)) for n, text in enumerate(texts)}
    row = Commune.objects.annotate(**annotations).values(*annotations).get()
    folded_in_sql = [row[f"t{n}"] for n in range(len(texts))]
    mismatches = [
        (text, sql, fold(text))
        for text, sql in zip(texts, folded_in_sql, strict=True)
        if sql != fold(text)
    ]
    assert mismatches == []


def test_postgresql_folds_as_python_under_the_c_collation():
    """A cluster made with the « C » locale: LOWER knows only ASCII there, so the capitals NFKD
    leaves whole (Ł, Đ, Þ…) are made small before it (« ŁĘCKI ĐOKOVIĆ » finds « Łęcki »)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite calls fold() itself")
    CommuneFactory()
    texts = [chr(code) for code in range(0x20, 0x250)] + [*NAMES, "ŁĘCKI ĐOKOVIĆ"]
    annotations = {f"t{n}": Fold(Collate(Value(text), "C")) for n, text in enumerate(texts)}
    row = Commune.objects.annotate(**annotations).values(*annotations).get()
    mismatches = [
        (text, row[f"t{n}"], fold(text))
        for n, text in enumerate(texts)
        if row[f"t{n}"] != fold(text)
    ]
    assert mismatches == []
    assert row[f"t{len(texts) - 1}"] == "łecki đokovic"


def test_a_column_folds_and_null_stays_null():
    CommuneFactory(name="Saint-Étienne-de-Lœuilly")
    assert Commune.objects.annotate(f=Fold("name")).values_list("f", flat=True).get() == (
        "saint-etienne-de-loeuilly"
    )
    assert Commune.objects.annotate(f=Fold(Value(None))).values_list("f", flat=True).get() is None


def test_sqlite_folds_each_name_once_across_searches():
    """SQLite calls `fold` for every row and condition: the names it met before come from the
    cache (a search of a thousand names costs 0.1 µs a call instead of 7 µs)."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL folds in SQL")
    CommuneFactory(name="Saint-Étienne-du-Cache")
    folded = Commune.objects.alias(f=Fold("name")).filter(f__contains="cache")
    assert folded.count() == 1
    before = _fold_or_none.cache_info()
    assert folded.count() == 1
    after = _fold_or_none.cache_info()
    assert after.hits > before.hits
    assert after.misses == before.misses
