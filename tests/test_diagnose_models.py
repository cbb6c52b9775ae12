"""The diagnostic of checkpoints (tgnrank.eval.diagnose_models): columns, names and the keys it adds."""

import pytest

from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.eval.diagnose_models import diagnose_models, member_names
from tgnrank.eval.diagnostic import DiagnosticOptions
from tgnrank.eval.fusion import FusionOptions

from test_diagnose import untrained_checkpoint

OPTIONS = DiagnosticOptions(ks=(10,), baselines=("popularity",))


@pytest.fixture(scope="module")
def data():
    return generate_synthetic(n_companies=80, n_investors=30, seed=1, name="small")


def test_member_names_are_file_names_unless_two_share_one():
    assert member_names(["a/x.pth", "b/y.pth"]) == ["x", "y"]
    assert member_names(["a/x.pth", "b/x.pth"]) == ["a/x.pth", "b/x.pth"]


def test_baselines_alone_name_no_checkpoint(data):
    result, ranker = diagnose_models(data, {}, "val", OPTIONS)
    assert result["model"] is None and result["checkpoint"] is None and ranker is None
    assert set(result["scorers"]) == {"random", "popularity"}


def test_two_checkpoints_rank_each_and_their_weighted_ensemble(data):
    checkpoints = {"m/a.pth": untrained_checkpoint(data), "m/b.pth": untrained_checkpoint(data, n_degree=3)}
    result, _ = diagnose_models(data, checkpoints, options=OPTIONS, weights=[3, 1])
    assert result["members"] == ["a", "b"] and result["model"] == "ensemble"
    assert result["checkpoints"] == ["m/a.pth", "m/b.pth"] and result["member_weights"] == [0.75, 0.25]


def test_the_fusion_ranks_with_the_model_among_its_members(data):
    fusion = FusionOptions(fusion_trees=5, fusion_negatives=20, fusion_min_leaf=5)
    result, ranker = diagnose_models(data, {"m/a.pth": untrained_checkpoint(data)}, options=OPTIONS, fusion=fusion)
    assert result["model"] == "fusion" and result["members"] == ["a"] and result["checkpoint"] == "m/a.pth"
    assert result["fusion"] == ranker.summary() and "a_score" in result["fusion"]["importances"]


def test_a_model_named_like_a_baseline_is_refused(data):
    checkpoints = {"m/popularity.pth": untrained_checkpoint(data), "m/b.pth": untrained_checkpoint(data)}
    with pytest.raises(ConfigError, match="clashing: popularity"):
        diagnose_models(data, checkpoints, options=OPTIONS)
