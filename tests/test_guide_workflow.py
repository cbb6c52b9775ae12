"""The user's whole workflow on a Crunchbase-style CSV export: import, the guide's training command, the diagnostic.

The export is written from a small synthetic dataset with the column names and quirks of a real export
(permalinks beside names, dates known only to the month, missing amounts, a duplicate row).
"""

import json

import numpy as np
import pandas as pd
import pytest

from tgnrank.cli.main import main, standalone_main
from tgnrank.data import load_dataset
from tgnrank.data.synthetic import generate_synthetic


def write_export(path):
    data = generate_synthetic(n_companies=300, n_investors=120, seed=3)
    events = data.events
    dates = pd.to_datetime(events.timestamps, unit="D")
    amounts = np.expm1(data.edge_features[events.edge_idxs, 0]).round(-3)
    amounts[::11] = np.nan
    frame = pd.DataFrame(
        {
            "company_permalink": [f"/organization/c{c}" for c in events.sources],
            "company_name": data.node_names[events.sources],
            "investor_permalink": [f"/organization/i{i}" for i in events.destinations],
            "investor_name": data.node_names[events.destinations],
            "funded_at": dates.strftime("%Y-%m-%d"),
            "raised_amount_usd": amounts,
            "funding_round_type": np.where(np.arange(len(events)) % 3 == 0, "seed", "venture"),
        }
    )
    frame = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
    frame.to_csv(path, index=False)
    return len(frame)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("guide")
    n_rows = write_export(root / "investments.csv")
    return root, n_rows


def test_import_train_and_diagnose_like_the_guide(workspace, monkeypatch, capsys):
    root, n_rows = workspace
    monkeypatch.chdir(root)
    assert main(["import-crunchbase", "investments.csv", "--name", "crunchbase"]) == 0
    summary = capsys.readouterr().out
    assert "duplicate" in summary
    data = load_dataset("crunchbase", root / "data")
    assert data.n_events == n_rows - 1
    assert len(data.company_ids) > 0 and len(data.investor_ids) > 0

    guide_command = (
        "--data crunchbase --use_memory --use_focal_loss --focal_alpha 0.25 --focal_gamma 2.0 --use_hard_negatives "
        "--hard_neg_ratio 0.5 --hard_neg_temperature 0.1 --prefix tgn-focal-hardneg --n_epoch 1 --bs 100"
    ).split()
    assert standalone_main("tgnrank.cli.train", "train_self_supervised.py", guide_command) == 0
    assert (root / "saved_models" / "tgn-focal-hardneg-crunchbase.pth").exists()

    diagnose = (
        "--data crunchbase --model_path saved_models/tgn-focal-hardneg-crunchbase.pth --use_memory --auto_detect_params"
    ).split()
    assert standalone_main("tgnrank.cli.diagnose", "temporal_validation_diagnostic.py", diagnose) == 0
    report = capsys.readouterr().out
    assert "Precision@1000" in report and "Best baseline" in report
    result = json.loads((root / "results" / "diagnostic-tgn-focal-hardneg-crunchbase-test.json").read_text())
    model_metrics = result["scorers"][result["model"]]["metrics"]
    assert 0.0 <= model_metrics["recall@1000"] <= 1.0
    assert result["window"]["n_positives"] > 0
