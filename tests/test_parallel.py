import threading

import numpy as np
import pytest

from tgnrank.parallel import fill_rows_in_threads


def _recording_fill(calls):
    def fill(out, offset, start, stop):
        calls.append((start, stop, threading.get_ident()))
        out[start - offset : stop - offset] = np.arange(start, stop)[:, None]

    return fill


@pytest.mark.parametrize("threads", [1, 2, 3, 10])
def test_every_row_is_filled_once_by_contiguous_parts(threads):
    out = np.full((7, 2), -1)
    calls = []
    fill_rows_in_threads(out, 5, 12, threads, _recording_fill(calls))
    np.testing.assert_array_equal(out[:, 0], np.arange(5, 12))
    parts = sorted((start, stop) for start, stop, _ in calls)
    assert len(parts) == min(threads, 7)
    assert parts[0][0] == 5 and parts[-1][1] == 12
    assert all(left[1] == right[0] for left, right in zip(parts, parts[1:]))


def test_one_part_runs_in_the_calling_thread():
    calls = []
    fill_rows_in_threads(np.zeros((3, 1)), 0, 3, 1, _recording_fill(calls))
    assert [ident for *_, ident in calls] == [threading.get_ident()]


def test_an_empty_row_range_fills_nothing():
    calls = []
    fill_rows_in_threads(np.zeros((0, 1)), 4, 4, 2, _recording_fill(calls))
    assert calls == []
