"""reservations._pg_array's shortcuts for a column of one type (integers, None, dates,
datetimes, texts and the statuses' choices) give the text the element-by-element version gave,
on random columns (hypothesis), the autumn's two 02:30 of Paris among the datetimes."""

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from parvis.activities import reservations
from parvis.activities.models import BookingStatus
from parvis.activities.rules import PARIS
from parvis.activities.tests.test_basket_rules import _pg_array_before

AUTUMN = [
    datetime(2026, 10, 25, 2, 30, tzinfo=PARIS),
    datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS),
]
INSTANTS = st.one_of(
    st.sampled_from(AUTUMN),
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(PARIS)
    ),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),  # naive
)
COLUMNS = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1)),
    st.lists(st.sampled_from([1, 2, 3])),
    st.lists(st.none()),
    st.lists(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))),
    st.lists(INSTANTS),
    st.lists(st.text(alphabet='ab"\\é ,{}')),
    st.lists(st.sampled_from(list(BookingStatus))),
    st.lists(st.one_of(st.sampled_from(list(BookingStatus)), st.sampled_from(["reservee", ""]))),
    st.lists(st.one_of(st.integers(0, 3), st.booleans(), st.none())),
    st.lists(st.booleans()),
)


@given(COLUMNS)
def test_a_column_gives_the_text_it_gave(column):
    assert reservations._pg_array(tuple(column)) == _pg_array_before(column)


def test_the_same_instant_at_two_offsets_is_two_texts():
    column = (AUTUMN[0], AUTUMN[1], AUTUMN[0] + timedelta(0))
    assert reservations._pg_array(column) == _pg_array_before(column)
    assert reservations._pg_array(column).count("+02:00") == 2
