"""Explanations of a tiny trained model's recommendations: cited deals, causality, the fusion's contributions,
and the commands end to end (text, json, self-contained html)."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser

import numpy as np
import pytest
import torch

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.events import INVESTOR, Interactions
from tgnrank.data.feature_schema import FeatureSchema
from tgnrank.data.synthetic import EDGE_FEATURE_NAMES, NODE_FEATURE_NAMES, generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.eval.explain import explain_recommendations, explanation_json
from tgnrank.eval.explain_fusion import load_fusion
from tgnrank.eval.fusion import FusionOptions, fit_fusion
from tgnrank.eval.protocol import window_bounds
from tgnrank.eval.recommend import find_node, recommend_investors
from tgnrank.eval.scoring import model_scorer_from_checkpoint
from tgnrank.train.checkpoint import load_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.outputs import RunPaths

from test_explain import check_cited_deals

SMALL_MODEL = dict(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5, bs=200)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data, data_dir, checkpoint path): a tiny synthetic dataset with its feature names, and a model
    trained on it for one epoch."""
    from tgnrank.train.runs import train_runs

    root = tmp_path_factory.mktemp("explain")
    data = generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small")
    data = dataclasses.replace(data, feature_schema=FeatureSchema(NODE_FEATURE_NAMES, EDGE_FEATURE_NAMES, ()))
    save_dataset(data, root / "data")
    config = TrainConfig(data="small", data_dir=str(root / "data"), prefix="exp", n_epoch=1, **SMALL_MODEL)
    summary = train_runs(config, torch.device("cpu"), RunPaths("exp", "small", root=root))
    return data, root / "data", summary.runs[0].model_path


def known_companies(data, at: float) -> np.ndarray:
    return np.unique(data.events.sources[data.events.timestamps <= at])


def test_cited_deals_of_20_random_recommended_pairs_are_in_the_history(trained):
    data, _, path = trained
    checkpoint = load_checkpoint(path)
    rng = np.random.default_rng(0)
    low, high = np.quantile(data.events.timestamps, [0.5, 1.0])
    n_pairs, n_cited = 0, 0
    for at in np.floor(rng.uniform(low, high, size=4)):
        company = int(rng.choice(known_companies(data, at)))
        recommendations = recommend_investors(checkpoint, data, company, float(at), k=5)
        explanations = explain_recommendations(recommendations, data)
        assert [e.investor_id for e in explanations] == [item.investor_id for item in recommendations.items]
        n_cited += check_cited_deals(data, explanations, float(at))
        n_pairs += len(explanations)
    assert n_pairs == 20 and n_cited > 20


def corrupt_after(data, at: float, seed: int = 0):
    """``data`` with every event after ``at`` replaced by random pairs at random later times."""
    events, rng = data.events, np.random.default_rng(seed)
    keep = events.timestamps <= at
    n_later = int((~keep).sum())
    later = Interactions(
        rng.choice(events.sources, n_later), rng.choice(events.destinations, n_later),
        np.sort(rng.uniform(at + 1, at + 400, n_later)), events.edge_idxs[~keep], events.labels[~keep],
    )
    merged = Interactions(*(np.concatenate([a[keep], b]) for a, b in (
        (events.sources, later.sources), (events.destinations, later.destinations),
        (events.timestamps, later.timestamps), (events.edge_idxs, later.edge_idxs), (events.labels, later.labels),
    )))
    edge = data.edge_features.copy()
    edge[events.edge_idxs[~keep]] = rng.permutation(edge[events.edge_idxs[~keep]])
    return dataclasses.replace(data, events=merged, edge_features=edge)


def test_recommendations_and_explanations_unchanged_by_a_corrupted_future(trained):
    data, _, path = trained
    checkpoint = load_checkpoint(path)
    at = float(np.floor(np.quantile(data.events.timestamps, 0.8)))
    company = int(np.bincount(data.events.sources[data.events.timestamps <= at]).argmax())

    def explained(events_data):
        recommendations = recommend_investors(checkpoint, events_data, company, at, k=5)
        return [explanation_json(e) for e in explain_recommendations(recommendations, events_data)]

    clean = explained(data)
    assert any(e["evidence"]["coinvestors"] for e in clean)
    assert explained(corrupt_after(data, at)) == clean


@pytest.fixture(scope="module")
def fusion_path(trained, tmp_path_factory):
    """A fusion fitted on the validation window with the model's logit as its extra feature, saved."""
    data, _, path = trained
    checkpoint = load_checkpoint(path)
    t_start, t_end = window_bounds(data.events, "val")
    factory = lambda window: model_scorer_from_checkpoint(checkpoint, data, window, torch.device("cpu"))[0]  # noqa: E731
    options = FusionOptions(fusion_windows=1, fusion_trees=20, fusion_min_leaf=5, fusion_negatives=30)
    ranker = fit_fusion(data.events, t_start, t_end, data.node_features, data.edge_features, options,
                        {f"{path.stem}_score": factory})
    out = tmp_path_factory.mktemp("fusion") / "fusion.lgb.txt"
    ranker.save(out)
    return out


def test_fused_contributions_sum_to_the_fused_score(trained, fusion_path):
    data, _, path = trained
    fusion = load_fusion(fusion_path, path)
    assert fusion.extra_names == (f"{path.stem}_score",)
    company = int(np.bincount(data.events.sources).argmax())
    recommendations = recommend_investors(
        load_checkpoint(path), data, company, float(data.events.timestamps.max()), k=5, fusion=fusion
    )
    assert recommendations.ranker == "fusion" and "fusion" in recommendations.score_meaning
    explanations = explain_recommendations(recommendations, data)
    for item, explanation in zip(recommendations.items, explanations):
        contributions = explanation.contributions
        assert contributions.fused_score == pytest.approx(item.score, abs=1e-6)
        total = contributions.expected_value + sum(c.contribution for c in contributions.items)
        assert total == pytest.approx(item.score, abs=1e-6)
        assert {c.feature for c in contributions.items} == set(fusion.feature_names)
    assert [item.score for item in recommendations.items] == sorted((i.score for i in recommendations.items), reverse=True)


def test_fusion_file_errors_name_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="^fusion '.*missing.lgb.txt': no such file") as raised:
        load_fusion(tmp_path / "missing.lgb.txt")
    assert raised.value.parameters == ("fusion",)
    bad = tmp_path / "bad.lgb.txt"
    bad.write_text("not a model")
    with pytest.raises(ConfigError, match="^fusion '.*bad.lgb.txt': not a LightGBM text model"):
        load_fusion(bad)


def test_calibration_and_fusion_are_refused_together(trained, fusion_path):
    from tgnrank.eval.calibration import Calibration

    data, _, path = trained
    calibration = Calibration(t_start=0.0, t_end=1.0, n_positives=1, n_negatives=1, n_sampled_negatives=1, isotonic=None)
    with pytest.raises(ConfigError, match="^calibrate calibrates .* cannot be combined with fusion$"):
        recommend_investors(load_checkpoint(path), data, 1, float(data.events.timestamps.max()), 3,
                            calibration=calibration, fusion=load_fusion(fusion_path))


class StrictStructure(HTMLParser):
    """Records problems html5lib does not flag: unbalanced tags and any reference outside the page."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.ids, self.links = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"script", "link", "img", "iframe", "object", "embed"} or "src" in attrs:
            self.problems.append(f"external asset: <{tag}>")
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if "href" in attrs:
            self.links.append(attrs["href"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data):
        if "url(" in data:
            self.problems.append("a url() in the page")


def check_html(text: str) -> StrictStructure:
    html5lib = pytest.importorskip("html5lib")  # in the test extra
    html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error of the HTML standard
    structure = StrictStructure()
    structure.feed(text)
    structure.close()
    assert structure.problems == [] and structure.stack == []
    assert all(link.startswith("#") and link[1:] in structure.ids for link in structure.links)
    return structure


def cli_args(data_dir, path, *extra):
    return ["--model_path", str(path), "--data_dir", str(data_dir), "--gpu", "-1", *extra]


def test_recommend_explain_text_json_and_html(trained, tmp_path, capsys):
    data, data_dir, path = trained
    company = str(data.node_names[int(np.bincount(data.events.sources).argmax())])
    base = ["recommend", *cli_args(data_dir, path, "--company", company, "--k", "4")]
    assert main([*base, "--explain"]) == 0
    text = capsys.readouterr().out
    assert "Why (evidence" in text and "co-investors:" in text and "activity, last 12 months" in text
    assert main([*base, "--explain", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["explanations"]) == 4 and payload["ranker"] == "model"
    assert [e["investor"] for e in payload["explanations"]] == [r["investor"] for r in payload["recommendations"]]
    assert {"coinvestors", "paths", "activity", "similar_deals"} <= set(payload["explanations"][0]["evidence"])
    assert main([*base, "--format", "json"]) == 0
    assert "explanations" not in json.loads(capsys.readouterr().out)
    page = tmp_path / "page.html"
    assert main([*base, "--format", "html", "--output", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    structure = check_html(html)
    assert len([i for i in structure.ids if i.startswith("investor-")]) == 4
    assert all(r["investor"].replace("&", "&amp;") in html for r in payload["recommendations"])


def test_html_escapes_names():
    from tgnrank.eval.explain_format import explanations_html
    from tgnrank.eval.recommend import Recommendations

    page = explanations_html(Recommendations(1, "<b>A & B</b>", 100.0, 1, ["x<y"], 0, 0, []), [])
    check_html(page)
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in page and "<b>" not in page


def test_explain_command_ranks_the_investor_among_all_candidates(trained, capsys):
    data, data_dir, path = trained
    company_id = int(np.bincount(data.events.sources).argmax())
    company = str(data.node_names[company_id])
    assert main(["recommend", *cli_args(data_dir, path, "--company", company, "--k", "10", "--format", "json")]) == 0
    sixth = json.loads(capsys.readouterr().out)["recommendations"][5]
    args = cli_args(data_dir, path, "--company", company, "--investor", sixth["investor"], "--format", "json")
    assert main(["explain", *args]) == 0
    payload = json.loads(capsys.readouterr().out)
    (explanation,) = payload["explanations"]
    assert (explanation["rank"], explanation["investor"]) == (sixth["rank"], sixth["investor"])
    assert explanation["score"] == pytest.approx(sixth["score"])
    assert main(["explain", *cli_args(data_dir, path, "--company", company, "--investor", f"#{sixth['investor_id']}")]) == 0
    assert f"#6 {sixth['investor']}" in capsys.readouterr().out


def test_explain_refuses_a_past_investor_and_an_unknown_name(trained, capsys):
    data, data_dir, path = trained
    events = data.events
    company_id = int(np.bincount(events.sources).argmax())
    past = int(events.destinations[events.sources == company_id][0])
    company = str(data.node_names[company_id])
    assert main(["explain", *cli_args(data_dir, path, "--company", company, "--investor", f"#{past}")]) == 2
    assert "already invested" in capsys.readouterr().err
    assert main(["explain", *cli_args(data_dir, path, "--company", company, "--investor", "Nobody at all")]) == 2
    assert "--investor 'Nobody at all': none of the 80 investors of dataset 'small' has that name" in (
        capsys.readouterr().err
    )
    with pytest.raises(ConfigError, match="^investor 'Nobody at all': none of the 80 investors") as raised:
        find_node(data, "Nobody at all", INVESTOR, "investor")
    assert raised.value.parameters == ("investor",)


def test_recommend_with_a_fusion_shows_each_signals_contribution(trained, fusion_path, tmp_path, capsys):
    data, data_dir, path = trained
    company = str(data.node_names[int(np.bincount(data.events.sources).argmax())])
    base = ["recommend", *cli_args(data_dir, path, "--company", company, "--k", "3", "--fusion", str(fusion_path))]
    assert main([*base, "--explain"]) == 0
    text = capsys.readouterr().out
    assert "learned fusion's score" in text and text.count("fused score") == 3
    page = tmp_path / "fused.html"
    assert main([*base, "--format", "html", "--output", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    check_html(html)
    assert html.count("Fused score") == 3 and html.count("<th>contribution</th>") == 3
