import numpy as np
import pytest

from tgnrank.data.arrays import distinct, distinct_union, group_ids, unit_rows
from tgnrank.data.dates import day_to_iso, days_since_epoch


def test_distinct_matches_numpy_unique():
    values = np.array([5, 1, 5, 3, 1, 9])
    np.testing.assert_array_equal(distinct(values), [1, 3, 5, 9])
    assert distinct(np.array([], dtype=np.int64)).shape == (0,)


def test_distinct_union_matches_union1d():
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 50, 200), rng.integers(30, 90, 100)
    np.testing.assert_array_equal(distinct_union(first, second), np.union1d(first, second))


def test_unit_rows_scales_to_unit_length_and_keeps_zero_rows_zero():
    unit = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]]))
    assert unit.dtype == np.float32
    np.testing.assert_allclose(unit, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]])


def test_group_ids_number_distinct_key_tuples_in_order_of_first_appearance():
    companies = np.array([7, 7, 3, 7, 3])
    days = np.array([1.0, 1.0, 1.0, 2.0, 1.0])
    labels = np.array(["a", "a", "a", "a", "b"], dtype=object)
    assert group_ids(companies, days).tolist() == [0, 0, 1, 2, 1]
    assert group_ids(companies, days, labels).tolist() == [0, 0, 1, 2, 3]
    assert group_ids(np.array([np.nan, np.nan, 1.0])).tolist() == [0, 0, 1]
    assert group_ids(np.array([], dtype=np.int64)).shape == (0,)


@pytest.mark.parametrize("day, iso", [(0.0, "1970-01-01"), (0.99, "1970-01-01"), (15340.5, "2012-01-01"),
                                      (-1.0, "1969-12-31")])
def test_day_to_iso_floors_to_the_calendar_day(day, iso):
    assert day_to_iso(day) == iso


def test_days_since_epoch_inverts_day_to_iso():
    dates = np.array(["1970-01-02", "2012-04-30"], dtype="datetime64[D]")
    days = days_since_epoch(dates)
    assert days.tolist() == [1.0, 15460.0]
    assert [day_to_iso(day) for day in days] == ["1970-01-02", "2012-04-30"]
