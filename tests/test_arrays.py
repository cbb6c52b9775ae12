import numpy as np

from tgnrank.data.arrays import distinct, distinct_union


def test_distinct_matches_numpy_unique():
    values = np.array([5, 1, 5, 3, 1, 9])
    np.testing.assert_array_equal(distinct(values), [1, 3, 5, 9])
    assert distinct(np.array([], dtype=np.int64)).shape == (0,)


def test_distinct_union_matches_union1d():
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 50, 200), rng.integers(30, 90, 100)
    np.testing.assert_array_equal(distinct_union(first, second), np.union1d(first, second))
