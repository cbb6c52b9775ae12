import os
import warnings

import numpy as np
import pandas as pd
import pytest

from tgnrank.data import EventData, Interactions, dataset_paths, load_dataset, save_dataset
from tgnrank.data.events import atomic_write
from tgnrank.errors import DataFormatError


def make_dataset(name="tiny"):
    events = Interactions(
        sources=np.array([1, 2, 1, 3]),
        destinations=np.array([4, 5, 5, 4]),
        timestamps=np.array([0.0, 1.0, 1.0, 2.5]),
        edge_idxs=np.array([1, 2, 3, 4]),
        labels=np.zeros(4),
    )
    return EventData(
        name=name,
        events=events,
        edge_features=np.arange(10, dtype=np.float32).reshape(5, 2),
        node_features=np.arange(18, dtype=np.float32).reshape(6, 3),
        node_names=np.array(["", "Acme", "Société Générale", "北京 Tech", "Sequoia", "Accel"], dtype=object),
        node_kinds=np.array(["", "company", "company", "company", "investor", "investor"], dtype=object),
    )


def test_save_load_round_trip(tmp_path):
    data = make_dataset()
    save_dataset(data, tmp_path)
    loaded = load_dataset("tiny", tmp_path)
    for field in ("sources", "destinations", "timestamps", "edge_idxs"):
        np.testing.assert_array_equal(getattr(loaded.events, field), getattr(data.events, field))
    np.testing.assert_array_equal(loaded.edge_features, data.edge_features)
    np.testing.assert_array_equal(loaded.node_features, data.node_features)
    assert list(loaded.node_names) == list(data.node_names)
    np.testing.assert_array_equal(loaded.company_ids, [1, 2, 3])
    np.testing.assert_array_equal(loaded.investor_ids, [4, 5])
    assert pd.read_csv(dataset_paths("tiny", tmp_path)["events"]).columns.tolist() == ["u", "i", "ts", "label", "idx"]


def test_missing_files_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ml_absent\.csv.*tgnrank generate"):
        load_dataset("absent", tmp_path)


def rewrite_events(tmp_path, mutate):
    save_dataset(make_dataset(), tmp_path)
    path = dataset_paths("tiny", tmp_path)["events"]
    frame = pd.read_csv(path)
    frame = mutate(frame)
    frame.to_csv(path, index=False)


def test_wrong_columns(tmp_path):
    rewrite_events(tmp_path, lambda f: f.rename(columns={"ts": "time"}))
    with pytest.raises(DataFormatError, match=r"missing column\(s\) \['ts'\]"):
        load_dataset("tiny", tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, "soon"])
def test_non_finite_timestamp_names_the_row(tmp_path, bad):
    def mutate(frame):
        frame["ts"] = frame["ts"].astype(object)
        frame.loc[2, "ts"] = bad
        return frame

    rewrite_events(tmp_path, mutate)
    with pytest.raises(DataFormatError, match=r"row 3 \(line 4\)"):
        load_dataset("tiny", tmp_path)


def test_node_id_beyond_features(tmp_path):
    def mutate(frame):
        frame.loc[1, "i"] = 9
        return frame

    rewrite_events(tmp_path, mutate)
    with pytest.raises(DataFormatError, match=r"node id 9 in column 'i' \(row 2\) is outside 1\.\.5"):
        load_dataset("tiny", tmp_path)


def test_row_counts_disagree(tmp_path):
    save_dataset(make_dataset(), tmp_path)
    np.save(dataset_paths("tiny", tmp_path)["edge_features"], np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(DataFormatError, match=r"has 3 rows but .* has 4 events; expected 5 rows"):
        load_dataset("tiny", tmp_path)


def test_unsorted_timestamps_are_sorted_stably_with_a_warning(tmp_path):
    rewrite_events(tmp_path, lambda f: f.iloc[[3, 1, 2, 0]])
    with pytest.warns(UserWarning, match="not sorted"):
        loaded = load_dataset("tiny", tmp_path)
    np.testing.assert_array_equal(loaded.events.timestamps, [0.0, 1.0, 1.0, 2.5])
    np.testing.assert_array_equal(loaded.events.edge_idxs, [1, 2, 3, 4])


def test_sorted_file_loads_without_warning(tmp_path):
    save_dataset(make_dataset(), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("tiny", tmp_path)


def test_missing_names_file_falls_back_to_ids_and_edge_direction(tmp_path):
    save_dataset(make_dataset(), tmp_path)
    dataset_paths("tiny", tmp_path)["nodes"].unlink()
    loaded = load_dataset("tiny", tmp_path)
    assert loaded.node_names[4] == "node 4"
    np.testing.assert_array_equal(loaded.company_ids, [1, 2, 3])


def test_bad_node_kind(tmp_path):
    save_dataset(make_dataset(), tmp_path)
    path = dataset_paths("tiny", tmp_path)["nodes"]
    frame = pd.read_csv(path)
    frame.loc[0, "kind"] = "bank"
    frame.to_csv(path, index=False)
    with pytest.raises(DataFormatError, match="kind.*bank"):
        load_dataset("tiny", tmp_path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def failing_write(handle):
        handle.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing_write)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    target = tmp_path / "report.html"
    atomic_write(target, lambda handle: handle.write(b"<html></html>"))
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_by_endpoint_lists_each_event_under_both_nodes_by_time_then_event_order():
    # Events (1->3 at t=5), (2->3 at t=5), (1->4 at t=2): node 3 sees both t=5 events in event order.
    events = Interactions(
        sources=np.array([1, 2, 1]), destinations=np.array([3, 3, 4]), timestamps=np.array([5.0, 5.0, 2.0]),
        edge_idxs=np.array([1, 2, 3]), labels=np.zeros(3, dtype=np.int64),
    )
    owners, partners, times, edge_idxs = events.by_endpoint(n_nodes=4)
    assert owners.tolist() == [1, 1, 2, 3, 3, 4]
    assert partners.tolist() == [4, 3, 3, 1, 2, 1]
    assert times.tolist() == [2.0, 5.0, 5.0, 5.0, 5.0, 2.0] and times.dtype == np.float64
    assert edge_idxs.tolist() == [3, 1, 2, 1, 2, 3]
    with pytest.raises(ValueError, match=r"node ids must lie in 0\.\.3, found 1\.\.4"):
        events.by_endpoint(n_nodes=3)
