"""tgnrank recommend --new_company: a company not in the data, scored by the model from its attributes
(as the diagnostic scores a brand-new company) with each investor's category deals."""

import json

import numpy as np
import pytest
import torch
from new_company_data import LABELS, sector_data
from test_diagnose_scope import untrained_checkpoint

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.eval.protocol import build_scope_window, window_bounds
from tgnrank.eval.recommend_new import NewCompany, recommend_for_new_company
from tgnrank.eval.scoped_diagnostic import model_scorers_for_parts
from tgnrank.train.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def data():
    return sector_data(seed=2, name="sectors")


@pytest.fixture(scope="module")
def checkpoint(data):
    return untrained_checkpoint(data)


def test_a_profile_gets_the_scores_of_a_brand_new_company_with_those_attributes(data, checkpoint):
    t_start = window_bounds(data.events, "test")[0]
    parts = build_scope_window(data.events, "test", "new_companies")
    candidates = parts["new_companies"]
    expected = model_scorers_for_parts(checkpoint, data, parts, torch.device("cpu"))["new_companies"].score_block(0, 1)[0]
    company = int(candidates.companies[0])
    labels = tuple(label for k, label in enumerate(LABELS) if data.node_features[company, 1 + k] == 1)
    result = recommend_for_new_company(checkpoint, data, NewCompany("Acme", labels), t_start, k=candidates.n_investors)
    scores = {item.investor_id: item.score for item in result.recommendations.items}
    np.testing.assert_allclose([scores[int(i)] for i in candidates.investors], expected, rtol=1e-5, atol=1e-6)
    assert [item.rank for item in result.recommendations.items] == list(range(1, candidates.n_investors + 1))


def test_recommend_new_company_end_to_end(data, checkpoint, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    path = save_checkpoint(tmp_path / "m.pth", checkpoint)
    base = ["recommend", "--model_path", str(path), "--data", "sectors", "--data_dir", str(tmp_path / "data"),
            "--new_company", "Acme Robotics", "--category", "Software|energy", "--k", "5"]
    assert main([*base, "--round_type", "seed", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["company"] == "Acme Robotics" and payload["company_id"] is None
    assert payload["new_company"]["categories"] == ["Software", "energy"]
    rows = payload["recommendations"]
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5]
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    software, energy = 1 + LABELS.index("software"), 1 + LABELS.index("energy")
    for row in rows:
        funded = data.events.sources[data.events.destinations == row["investor_id"]]
        assert row["category_deals"] == int(data.node_features[funded][:, [software, energy]].sum())
        mine = data.events.destinations == row["investor_id"]
        seed_share = data.edge_features[data.events.edge_idxs[mine], 1].mean()
        assert row["round_type_share"] == pytest.approx(seed_share, rel=1e-6)
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "not in the data" in text and "category deals" in text and "round-type share" not in text


def test_recommend_new_company_refusals(data, checkpoint, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    path = save_checkpoint(tmp_path / "m.pth", checkpoint)
    base = ["recommend", "--model_path", str(path), "--data", "sectors", "--data_dir", str(tmp_path / "data")]
    assert main([*base, "--new_company", "X", "--category", "fintech"]) == 2
    assert "error: --category 'fintech' is not among the dataset's values; accepted: " in capsys.readouterr().err
    assert main([*base, "--new_company", "X", "--category", "software", "--country", "Atlantis"]) == 2
    assert "error: --country 'Atlantis' is not among the dataset's values" in capsys.readouterr().err
    assert main([*base, "--new_company", "X", "--category", "software", "--round_type", "ipo"]) == 2
    assert "error: --round_type 'ipo' is not a round type of dataset 'sectors'; accepted: " in capsys.readouterr().err
    assert main([*base, "--new_company", "X", "--explain"]) == 2
    assert "--explain" in capsys.readouterr().err
    assert main(base) == 2
    assert "--company is required" in capsys.readouterr().err
