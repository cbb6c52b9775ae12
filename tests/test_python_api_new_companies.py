"""The Python API for brand-new companies (tgnrank.diagnose_scope, tgnrank.recommend_new_company): tables,
silence, and the same results as ``diagnose --scope`` and ``recommend --new_company``."""

import json

import pandas as pd
import pytest
from new_company_data import sector_data
from test_diagnose_scope import untrained_checkpoint

import tgnrank
from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.errors import ConfigError
from tgnrank.train.checkpoint import save_checkpoint

FAST_RANKER = dict(nc_windows=2, nc_negatives=20, nc_trees=10, nc_min_leaf=5)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(data, data folder, checkpoint path): the sector dataset and an untrained model of it, on disk."""
    root = tmp_path_factory.mktemp("new_companies")
    data = sector_data(seed=1, name="sectors")
    save_dataset(data, root / "data")
    return data, root / "data", save_checkpoint(root / "m.pth", untrained_checkpoint(data))


def test_diagnose_scope_returns_each_part_and_equals_the_command(saved, tmp_path, capsys):
    data, data_dir, path = saved
    result = tgnrank.diagnose_scope(path, data_dir=data_dir, scope="all", ks=(10, 100))
    assert capsys.readouterr() == ("", "")
    assert isinstance(result, tgnrank.ScopedDiagnosticResult) and result.scope == "all"
    assert list(result.parts) == ["known", "new_companies", "all"]
    assert all(isinstance(part, tgnrank.DiagnosticResult) for part in result.parts.values())
    new = result.parts["new_companies"].metrics
    assert list(new.index) == ["m", "random", "popularity", "recency", "category_popularity"]
    assert isinstance(result.metrics, pd.DataFrame) and result.metrics.index.names == ["part", "scorer"]
    assert result.metrics.loc[("new_companies", "m"), "mrr"] == new.loc["m", "mrr"]
    assert "brand-new companies" in result.report()

    assert main(["diagnose", "--model_path", str(path), "--auto_detect_params", "--data_dir", str(data_dir),
                 "--scope", "all", "--k", "10,100", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    cli = json.loads((tmp_path / "diagnostic-m-test-all.json").read_text())
    assert result.raw["checkpoint"] == cli["checkpoint"]
    for part, entry in cli["parts"].items():
        assert result.raw["parts"][part]["window"] == entry["window"]
        for name, scorer in entry["scorers"].items():
            assert result.raw["parts"][part]["scorers"][name]["metrics"] == scorer["metrics"], (part, name)


def test_the_new_company_ranker_takes_the_models_column(saved, capsys):
    data, _, path = saved
    options = tgnrank.NewCompanyRankerOptions(**FAST_RANKER)
    result = tgnrank.diagnose_scope(path, data=data, new_company_ranker=options, baselines=["popularity"], ks=(10,))
    assert capsys.readouterr() == ("", "")
    part = result.parts["new_companies"]
    assert part.model == "new_company_ranker" and "m" in part.metrics.index
    assert result.ranker is not None and result.raw["new_company_ranker"]["seed"] == 0
    assert part.fusion_importances is not None


def test_diagnose_scope_refuses_what_the_command_refuses(saved):
    data, _, path = saved
    with pytest.raises(ConfigError, match="scope must be one of"):
        tgnrank.diagnose_scope(data=data, scope="everything")
    with pytest.raises(ConfigError, match="ranks one model"):
        tgnrank.diagnose_scope([path, path], data=data)
    with pytest.raises(ConfigError, match="new_company_ranker ranks brand-new companies"):
        tgnrank.diagnose_scope(data=data, scope="known", new_company_ranker=True)


def test_recommend_new_company_returns_a_dataframe_equal_to_the_command(saved, capsys):
    data, data_dir, path = saved
    frame = tgnrank.recommend_new_company(path, "Acme Robotics", categories=["Software", "energy"], round_type="seed",
                                          k=5, data_dir=data_dir)
    assert capsys.readouterr() == ("", "")
    assert list(frame.columns) == ["rank", "investor_id", "investor", "score", "percentile", "category_deals",
                                   "round_type_share"]
    assert list(frame["rank"]) == [1, 2, 3, 4, 5] and frame["score"].is_monotonic_decreasing
    assert list(frame.attrs["new_company"]["categories"]) == ["Software", "energy"]
    same = tgnrank.recommend_new_company(path, "Acme Robotics", categories="Software|energy", round_type="seed",
                                         k=5, data=data)
    pd.testing.assert_frame_equal(same, frame)
    capsys.readouterr()
    assert main(["recommend", "--model_path", str(path), "--data_dir", str(data_dir), "--new_company",
                 "Acme Robotics", "--category", "Software|energy", "--round_type", "seed", "--k", "5",
                 "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert frame.to_dict("records") == cli["recommendations"]
    assert json.loads(json.dumps(frame.attrs)) == {key: value for key, value in cli.items() if key != "recommendations"}
    with pytest.raises(ConfigError, match="not among the dataset's values"):
        tgnrank.recommend_new_company(path, "X", categories=["nonexistent"], data=data)
