"""`Fold` (SQL) folds as `fold` (Python) does, on the database the tests run on: SQLite calls
`fold` itself; PostgreSQL spells it with NORMALIZE, REGEXP_REPLACE, REPLACE and LOWER."""

import pytest
from django.db.models import Value

from parvis.communes.models import Commune
from parvis.communes.tests.factories import CommuneFactory
from parvis.text import Fold, fold

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


def test_a_column_folds_and_null_stays_null():
    CommuneFactory(name="Saint-Étienne-de-Lœuilly")
    assert Commune.objects.annotate(f=Fold("name")).values_list("f", flat=True).get() == (
        "saint-etienne-de-loeuilly"
    )
    assert Commune.objects.annotate(f=Fold(Value(None))).values_list("f", flat=True).get() is None
