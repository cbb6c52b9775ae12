"""The Crunchbase CSV importer: aliases, messy values, drop accounting, id layout, leakage-free features, CLI."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from tgnrank.cli.main import standalone_main
from tgnrank.data.activity import ActivityFeatures
from tgnrank.data.crunchbase import import_crunchbase
from tgnrank.data.crunchbase_features import FeatureOptions
from tgnrank.data.events import load_dataset, save_dataset
from tgnrank.errors import ConfigError, DataFormatError

TODAY = dt.date(2020, 1, 1)
EVERY_VALUE = FeatureOptions(min_category_nodes=1)


def day(text: str) -> float:
    return float((np.datetime64(text, "D") - np.datetime64("1970-01-01", "D")).astype(int))


def write_csv(tmp_path, text: str, name: str = "export.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(textwrap.dedent(text).lstrip("\n").encode(encoding))
    return path


def run_import(path, **kwargs):
    kwargs.setdefault("today", TODAY)
    return import_crunchbase(path, "test", **kwargs)


def feature(data, summary, node_name: str, column: str) -> float:
    node = list(data.node_names).index(node_name)
    return float(data.node_features[node, summary.node_feature_names.index(column)])


# --- columns -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, alias",
    [
        ("company", "company_name"),
        ("company", "company_permalink"),
        ("company", "org_name"),
        ("company", "organization_name"),
        ("investor", "investor_name"),
        ("investor", "investor_permalink"),
        ("date", "funded_when"),
        ("date", "funded_at"),
        ("date", "date"),
        ("date", "announced_on"),
        ("amount", "amount_usd"),
        ("amount", "raised_amount_usd"),
    ],
)
def test_every_required_column_alias_is_accepted(tmp_path, role, alias):
    headers = {"company": "company_name", "investor": "investor_name", "date": "funded_at", "amount": "amount_usd"}
    headers[role] = alias
    path = write_csv(
        tmp_path,
        f"""
        {headers['company']},{headers['investor']},{headers['date']},{headers['amount']}
        Acme,Sequoia,2012-03-01,1000
        Beta,Accel,2013-05-02,
        """,
    )
    data, summary = run_import(path)
    role_key = alias if alias.endswith("_permalink") else f"{role}_name" if role in ("company", "investor") else role
    assert summary.columns_used[role_key] == (alias,)
    assert list(data.node_names[1:]) == ["Acme", "Beta", "Sequoia", "Accel"]
    np.testing.assert_array_equal(data.events.timestamps, [day("2012-03-01"), day("2013-05-02")])
    np.testing.assert_allclose(data.edge_features[1:, :2], [[np.log1p(1000), 0], [0, 1]])


def test_funded_month_and_funded_year_serve_as_dates_and_fill_blank_days(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at,funded_month,funded_year
        Acme,Sequoia,2012-03-05,2012-03,2012
        Beta,Sequoia,,2013-07,2013
        Gamma,Sequoia,,,2014
        """,
    )
    data, summary = run_import(path)
    np.testing.assert_array_equal(data.events.timestamps, [day("2012-03-05"), day("2013-07-01"), day("2014-01-01")])
    assert (summary.n_month_precision, summary.n_year_precision) == (1, 1)
    assert summary.columns_used["date"] == ("funded_at", "funded_month", "funded_year")
    assert summary.n_amount_missing == 3  # no amount column: every amount unknown, nothing fails
    np.testing.assert_array_equal(data.edge_features[1:, 1], 1)


def test_optional_columns_feed_categories_countries_and_round_types(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,company_category_list,company_country_code,investor_name,investor_category_code,investor_country_code,funding_round_type,funding_round_code,funded_at,raised_amount_usd
        Acme,|Software|Games|,usa,Sequoia,VC,USA,venture,A,2012-03-01,1000
        Beta,|Games|,GBR,Accel,vc,USA,seed,,2012-04-01,2000
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=EVERY_VALUE)
    names = summary.node_feature_names
    for column in ("company:category=software", "company:category=games", "company:country=USA",
                   "company:country=GBR", "investor:category=vc", "investor:country=USA"):
        assert column in names
    assert feature(data, summary, "Acme", "company:category=software") > feature(data, summary, "Beta", "company:category=software")
    assert "round_type=series_a" in summary.edge_feature_names and "round_type=seed" in summary.edge_feature_names
    series_a = summary.edge_feature_names.index("round_type=series_a")
    np.testing.assert_array_equal(data.edge_features[1:, series_a], [1, 0])


@pytest.mark.parametrize(
    "header",
    ["company_category_code", "company_market", "company_category_list"],
)
def test_each_company_category_alias_is_used(tmp_path, header):
    path = write_csv(
        tmp_path,
        f"""
        company_name,{header},investor_name,funded_at
        Acme,Software,Sequoia,2012-03-01
        Beta,Games,Sequoia,2012-04-01
        """,
    )
    _, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=EVERY_VALUE)
    assert {"company:category=software", "company:category=games"} <= set(summary.node_feature_names)
    assert summary.columns_used["company_category"] == (header,)


@pytest.mark.parametrize("header", ["investor_category_code", "investor_market", "investor_category_list"])
def test_each_investor_category_alias_is_used(tmp_path, header):
    vc = "|VC|Growth|" if header.endswith("_list") else "VC"
    path = write_csv(
        tmp_path,
        f"""
        company_name,investor_name,{header},funded_at
        Acme,Sequoia,{vc},2012-03-01
        Beta,Y Combinator,accelerator,2012-04-01
        """,
    )
    _, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=EVERY_VALUE)
    assert {"investor:category=vc", "investor:category=accelerator"} <= set(summary.node_feature_names)


def test_round_type_alias_investment_type_is_used(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,investment_type,funded_at
        Acme,Sequoia,Series A,2012-03-01
        """,
    )
    _, summary = run_import(path)
    assert "round_type=series_a" in summary.edge_feature_names


def test_a_file_without_usable_columns_names_what_it_found_and_what_it_accepts(tmp_path):
    path = write_csv(tmp_path, "startup,backer,when\nAcme,Sequoia,2012\n")
    with pytest.raises(DataFormatError) as error:
        run_import(path)
    message = str(error.value)
    assert str(path) in message
    for found in ("startup", "backer", "when"):
        assert found in message
    for accepted in ("company_name", "company_permalink", "investor_name", "investor_permalink",
                     "funded_when", "funded_at", "date"):
        assert accepted in message


def test_a_missing_date_column_is_named_with_its_accepted_names(tmp_path):
    path = write_csv(tmp_path, "company_name,investor_name,amount_usd\nAcme,Sequoia,5\n")
    with pytest.raises(DataFormatError, match=r"no column for date\..*funded_when or funded_at or date"):
        run_import(path)


def test_empty_file_and_file_without_usable_rows_fail_clearly(tmp_path):
    with pytest.raises(DataFormatError, match="empty"):
        run_import(write_csv(tmp_path, "", name="empty.csv"))
    path = write_csv(tmp_path, "company_name,investor_name,funded_at\nAcme,Sequoia,someday\n", name="bad.csv")
    with pytest.raises(DataFormatError, match="no usable rows.*unparseable date: 1"):
        run_import(path)


def test_malformed_rows_fail_with_the_line_while_short_rows_are_padded(tmp_path):
    path = write_csv(tmp_path, "company_name,investor_name,funded_at\nAcme,Sequoia,2012-03-01,extra,fields\n")
    with pytest.raises(DataFormatError, match="cannot be read as CSV.*line 2"):
        run_import(path)
    path = write_csv(tmp_path, "company_name,investor_name,funded_at,amount_usd\nAcme,Sequoia,2012-03-01\n", name="short.csv")
    data, summary = run_import(path)
    assert data.n_events == 1 and summary.n_amount_missing == 1


def test_header_spelling_bom_and_semicolons_are_tolerated(tmp_path):
    path = write_csv(tmp_path, "\ufeffCompany Name;Investor Name;Funded At\nAcme;Sequoia;2012-03-01\n")
    data, summary = run_import(path)
    assert summary.columns_used["company_name"] == ("company_name",)
    assert list(data.node_names[1:]) == ["Acme", "Sequoia"]


# --- values --------------------------------------------------------------------------------------------


def test_amounts_missing_placeholders_text_and_unreadable(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at,amount_usd
        A,X,2012-01-01,"2,000,000"
        B,X,2012-01-02,
        C,X,2012-01-03,-
        D,X,2012-01-04,lots
        E,X,2012-01-05,$1500
        F,X,2012-01-06,0
        """,
    )
    data, summary = run_import(path)
    np.testing.assert_allclose(data.edge_features[1:, 0], np.log1p([2e6, 0, 0, 0, 1500, 0]))
    np.testing.assert_array_equal(data.edge_features[1:, 1], [0, 1, 1, 1, 0, 1])
    assert summary.n_amount_missing == 4
    assert summary.n_amount_unreadable == 1


def test_date_formats_and_precision(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_when
        A,X,2012-03-01
        B,X,2012-04
        C,X,2013
        D,X,05/01/2014
        E,X,25/12/2014
        F,X,2015/02/03
        G,X,"Mar 1, 2016"
        H,X,2017-01-02 00:00:00
        """,
    )
    data, summary = run_import(path)
    expected = ["2012-03-01", "2012-04-01", "2013-01-01", "2014-05-01", "2014-12-25", "2015-02-03", "2016-03-01", "2017-01-02"]
    np.testing.assert_array_equal(data.events.timestamps, [day(text) for text in expected])
    assert (summary.n_month_precision, summary.n_year_precision) == (1, 1)


def test_bad_early_and_future_dates_are_dropped_and_counted(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at
        A,X,2012-03-01
        B,X,not a date
        C,X,2012-02-30
        D,X,
        E,X,1989-12-31
        F,X,1990-01-01
        G,X,2020-01-02
        H,X,2020-01-01
        """,
    )
    data, summary = run_import(path)
    assert summary.dropped["bad_date"] == 3
    assert summary.dropped["early_date"] == 1
    assert summary.dropped["future_date"] == 1
    assert sorted(data.node_names[1 : 1 + len(data.company_ids)]) == ["A", "F", "H"]


def test_exact_duplicates_after_cleaning_are_dropped_but_rows_differing_elsewhere_are_kept(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at,amount_usd,note
        Acme,Sequoia,2012-03-01,2000000,x
        Acme,Sequoia,2012-03-01,2000000,x
         ACME , sequoia ,03/01/2012,"2,000,000",x
        Acme,Sequoia,2012-03-01,2000000,other
        Acme,Sequoia,2012-03-01,3000000,x
        """,
    )
    data, summary = run_import(path)
    assert summary.dropped["duplicate"] == 2
    assert data.n_events == 3
    assert summary.columns_ignored == ("note",)


def test_empty_names_are_dropped_and_counted_per_role(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at
        Acme,Sequoia,2012-03-01
        ,Sequoia,2012-03-01
           ,Accel,2012-03-01
        Beta,,2012-03-01
        ,,2012-03-01
        """,
    )
    data, summary = run_import(path)
    assert summary.dropped["empty_company"] == 3
    assert summary.dropped["empty_investor"] == 1
    assert data.n_events == 1


def test_unicode_names_in_utf8(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at
        北京,Société Générale,2012-03-01
        Zürich AG,SOCIÉTÉ  GÉNÉRALE ,2012-04-01
        """,
    )
    data, summary = run_import(path)
    assert list(data.node_names[1:]) == ["北京", "Zürich AG", "Société Générale"]
    assert summary.n_investors == 1


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-8-sig", "utf-16"])
def test_non_utf8_encodings_and_bom(tmp_path, encoding):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at
        Café Inc,Société Générale,2012-03-01
        """,
        encoding=encoding,
    )
    data, _ = run_import(path)
    assert list(data.node_names[1:]) == ["Café Inc", "Société Générale"]


def test_windows_1252_punctuation_is_decoded(tmp_path):
    path = write_csv(tmp_path, "company_name,investor_name,funded_at\nCafé Inc,O’Reilly “Alpha”,2012-03-01\n", encoding="cp1252")
    data, summary = run_import(path)
    assert data.node_names[2] == "O’Reilly “Alpha”"
    assert summary.encoding == "cp1252"


def test_permalinks_identify_nodes_and_names_are_shown(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_permalink,company_name,investor_permalink,investor_name,funded_at
        /company/fluid,Fluid,/fo/sequoia,Sequoia Capital,2012-01-01
        /company/fluid-2,Fluid,/fo/sequoia,Sequoia Capital (US),2012-02-01
        /company/acme,Acme,/fo/accel,,2012-03-01
        ,Solo,/fo/accel,Accel,2012-04-01
        """,
    )
    data, summary = run_import(path)
    assert summary.n_companies == 4 and summary.n_investors == 2
    assert list(data.node_names[1:]) == [
        "Fluid [/company/fluid]", "Fluid [/company/fluid-2]", "Acme", "Solo", "Sequoia Capital", "/fo/accel",
    ]


# --- layout and summary ---------------------------------------------------------------------------------


def test_id_layout_ordering_and_event_columns(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at
        Beta,Accel,2013-01-01
        Acme,Sequoia,2012-01-01
        Acme,Accel,2012-01-01
        Beta,Sequoia,2012-06-01
        Acme,Sequoia,2014-01-01
        """,
    )
    data, summary = run_import(path)
    # companies 1..U then investors U+1..U+I, numbered by first appearance in time (file order on ties)
    assert list(data.node_names) == ["", "Acme", "Beta", "Sequoia", "Accel"]
    assert list(data.node_kinds) == ["", "company", "company", "investor", "investor"]
    np.testing.assert_array_equal(data.events.sources, [1, 1, 2, 2, 1])
    np.testing.assert_array_equal(data.events.destinations, [3, 4, 3, 4, 3])
    np.testing.assert_array_equal(
        data.events.timestamps, [day("2012-01-01"), day("2012-01-01"), day("2012-06-01"), day("2013-01-01"), day("2014-01-01")]
    )
    np.testing.assert_array_equal(data.events.edge_idxs, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(data.events.labels, 0)
    assert data.edge_features.shape[0] == 6 and data.node_features.shape[0] == 5
    assert summary.n_rows == summary.n_events + summary.n_dropped


def test_summary_counts_add_up_and_are_printed(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at,amount_usd
        Acme,Sequoia,2012-03-01,
        Acme,Sequoia,2012-03-01,
        ,Sequoia,2012-03-01,1
        Beta,,2012-03-01,1
        Gamma,Accel,junk,1
        Delta,Accel,1970-01-01,1
        Eps,Accel,2030-01-01,1
        Zeta,Accel,2013-03-01,1
        """,
    )
    data, summary = run_import(path)
    assert summary.n_rows == 8
    assert summary.dropped == {
        "empty_company": 1, "empty_investor": 1, "bad_date": 1, "early_date": 1, "future_date": 1, "duplicate": 1,
    }
    assert summary.n_events == data.n_events == 2
    text = "\n".join(summary.lines())
    for label in ("empty company name", "empty investor name", "unparseable date", "date before 1990",
                  "date in the future", "exact duplicate row"):
        assert label in text


# --- features ------------------------------------------------------------------------------------------


def test_node_matrix_is_static_and_activity_comes_from_the_events_as_of_each_time(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funding_round_type,funding_round_code,funded_at,amount_usd
        A,X,seed,,2008-01-01,500000
        A,Y,seed,,2008-01-01,500000
        B,X,venture,A,2009-01-01,5000000
        C,X,series-b,,2010-01-01,
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-01-01")
    assert summary.node_feature_names == ("is_company",)
    assert data.feature_schema.static_names == ("is_company",)
    assert data.feature_schema.activity_edge_columns == tuple(range(len(summary.edge_feature_names)))
    activity = ActivityFeatures.from_data(data)
    assert activity.names == summary.activity_feature_names
    x = list(data.node_names).index("X")
    column = {name: k for k, name in enumerate(activity.names)}
    # as of 2009-01-01 X has one seed investment; its series A that day is not yet visible
    early = activity.at([x], day("2009-01-01"))[0]
    assert early[column["activity:log_n_events"]] == pytest.approx(np.log1p(1))
    assert early[column["activity:mean:stage=seed"]] == 1.0
    assert early[column["activity:mean:log1p_amount"]] == pytest.approx(np.log1p(5e5), rel=1e-6)
    late = activity.at([x], day("2011-01-01"))[0]
    assert late[column["activity:log_n_events"]] == pytest.approx(np.log1p(3))
    for stage, share in (("seed", 1 / 3), ("a", 1 / 3), ("b", 1 / 3), ("later", 0)):
        assert late[column[f"activity:mean:stage={stage}"]] == pytest.approx(share, abs=1e-6)
    assert late[column["activity:mean:amount_missing"]] == pytest.approx(1 / 3, abs=1e-6)
    assert late[column["activity:log_years_since_first"]] == pytest.approx(
        np.log1p((day("2011-01-01") - day("2008-01-01")) / 365.25), rel=1e-6
    )


def test_edge_stages_fall_back_to_round_size_buckets(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_at,amount_usd
        A,X,2008-01-01,500000
        B,X,2009-01-01,5000000
        C,Y,2010-01-01,20000000
        D,Y,2011-01-01,50000000
        E,Y,2011-02-01,
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-01-01")
    assert "round sizes" in summary.stage_source
    stages = [summary.edge_feature_names.index(f"stage={name}") for name in ("seed", "a", "b", "later")]
    np.testing.assert_array_equal(
        data.edge_features[1:, stages], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    )


def test_block_layout_and_nodes_without_attributes(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,company_country_code,investor_name,funded_at,amount_usd
        A,USA,X,2010-01-01,1000
        B,GBR,Y,2010-06-01,5000
        C,USA,X,2011-01-01,300
        New,FRA,Fresh,2013-01-01,10
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-01-01", feature_options=EVERY_VALUE)
    names = summary.node_feature_names
    assert names == ("is_company", "company:country=USA", "company:country=GBR", "company:country=other")
    assert "company:country=FRA" not in names  # vocabulary from events up to the cut-off only
    np.testing.assert_array_equal(
        data.node_features,
        # New, first seen after the cut-off, takes its first row's country (FRA: outside the vocabulary);
        # the investor Fresh has no attribute set
        [[0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    )
    assert summary.n_companies_seen == 3 and summary.n_investors_seen == 2
    text = "\n".join(summary.lines())
    assert "static node features: 4 columns (is_company, company:country=*)" in text
    assert "time-aware node features: 12 columns" in text and "activity:log_n_partners" in text


def leakage_export(n_rounds: int = 300, seed: int = 1) -> pd.DataFrame:
    """A small export with every optional column, rounds of 1 to 4 investors over 2005-2015."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=n_rounds)
    rounds = np.repeat(np.arange(n_rounds), sizes)
    n = len(rounds)
    companies = rng.integers(0, 120, size=n_rounds)[rounds]
    days = (np.datetime64("2005-01-01") + rng.integers(0, 3650, size=n_rounds))[rounds]
    return pd.DataFrame(
        {
            "company_permalink": [f"/company/c{k}" for k in companies],
            "company_name": [f"Company {k}" for k in companies],
            "company_category_code": np.array(["software", "biotech", "games", "web"])[companies % 4],
            "company_country_code": np.array(["USA", "GBR", "FRA"])[companies % 3],
            "investor_name": [f"Investor {k}" for k in rng.integers(0, 60, size=n)],
            "investor_category_code": np.array(["vc", "angel", "corporate"])[rng.integers(0, 3, size=n)],
            "investor_country_code": np.array(["USA", "DEU"])[rng.integers(0, 2, size=n)],
            "funding_round_type": np.array(["seed", "series-a", "series-b", "series-c+", "debt"])[
                rng.integers(0, 5, size=n_rounds)][rounds],
            "funded_at": pd.Series(days).dt.strftime("%Y-%m-%d").to_numpy(),
            "raised_amount_usd": np.where(rng.random(n_rounds) < 0.1, np.nan, rng.integers(1, 100, size=n_rounds) * 1e5)[rounds],
        }
    )


def features_by_node(data, cutoff: float) -> dict[tuple[str, str], np.ndarray]:
    """Node features of the nodes with an event up to ``cutoff``, by (kind, name)."""
    seen = np.zeros(data.n_nodes + 1, dtype=bool)
    past = data.events.timestamps <= cutoff
    seen[data.events.sources[past]] = seen[data.events.destinations[past]] = True
    return {
        (data.node_kinds[k], data.node_names[k]): data.node_features[k]
        for k in range(1, data.n_nodes + 1) if seen[k]
    }


def test_node_features_do_not_leak_from_events_after_the_cutoff(tmp_path):
    export = leakage_export()
    cutoff = "2011-06-30"
    after = pd.to_datetime(export["funded_at"]) > pd.Timestamp(cutoff)
    export.to_csv(tmp_path / "full.csv", index=False)
    base_data, base_summary = run_import(tmp_path / "full.csv", feature_cutoff=cutoff)
    base = features_by_node(base_data, day(cutoff))
    assert len(base) > 100 and 0 < after.sum() < len(export)

    export[~after].to_csv(tmp_path / "truncated.csv", index=False)
    altered = export.copy()
    altered.loc[after, "raised_amount_usd"] = 9e9
    altered.loc[after, "funding_round_type"] = "series-b"
    altered.loc[after, "company_category_code"] = "cleantech"
    altered.loc[after, "investor_category_code"] = "hedge fund"
    altered.loc[after, "investor_country_code"] = "JPN"
    altered.loc[after, "investor_name"] = "Newcomer " + altered.loc[after, "investor_name"]
    altered.loc[after, "funded_at"] = "2014-01-01"
    altered.to_csv(tmp_path / "altered.csv", index=False)

    for variant in ("truncated.csv", "altered.csv"):
        data, summary = run_import(tmp_path / variant, feature_cutoff=cutoff)
        assert summary.node_feature_names == base_summary.node_feature_names
        features = features_by_node(data, day(cutoff))
        assert features.keys() == base.keys()
        for node, values in base.items():
            np.testing.assert_array_equal(features[node], values, err_msg=f"{variant}: {node}")


def test_default_cutoff_is_the_training_quantile_and_ignores_later_changes(tmp_path):
    export = leakage_export(seed=2)
    export.to_csv(tmp_path / "full.csv", index=False)
    data, summary = run_import(tmp_path / "full.csv")
    cutoff = np.quantile(data.events.timestamps, 0.70)
    assert summary.n_events_before_cutoff == int((data.events.timestamps <= cutoff).sum())
    after = (pd.to_datetime(export["funded_at"]) - pd.Timestamp("1970-01-01")).dt.days > cutoff
    altered = export.copy()
    # keep the post-cutoff timestamps and row count (hence the quantile), change everything else
    altered.loc[after, "raised_amount_usd"] = 1.0
    altered.loc[after, "investor_name"] = "Renamed " + altered.loc[after, "investor_name"]
    altered.loc[after, "company_category_code"] = "cleantech"
    altered.to_csv(tmp_path / "altered.csv", index=False)
    altered_data, altered_summary = run_import(tmp_path / "altered.csv")
    base, changed = features_by_node(data, cutoff), features_by_node(altered_data, cutoff)
    assert base.keys() == changed.keys()
    for node, values in base.items():
        np.testing.assert_array_equal(changed[node], values)


def test_feature_cutoff_and_arguments_are_validated(tmp_path):
    path = write_csv(tmp_path, "company_name,investor_name,funded_at\nAcme,Sequoia,2012-03-01\n")
    with pytest.raises(ConfigError, match="feature_cutoff.*before the first event"):
        run_import(path, feature_cutoff="2000-01-01")
    with pytest.raises(ConfigError, match="feature_cutoff.*cannot read"):
        run_import(path, feature_cutoff="soon")
    with pytest.raises(ConfigError, match="train_quantile"):
        run_import(path, train_quantile=1.5)
    with pytest.raises(ConfigError, match="name"):
        import_crunchbase(path, "../escape", today=TODAY)


# --- list-valued categories ----------------------------------------------------------------------------


def category_block(data, summary, kind: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The ``{kind}:category=*`` column names and their rows for the nodes of ``kind``, in id order."""
    columns = [k for k, name in enumerate(summary.node_feature_names) if name.startswith(f"{kind}:category=")]
    rows = np.flatnonzero(data.node_kinds == kind)
    return tuple(summary.node_feature_names[k] for k in columns), data.node_features[np.ix_(rows, columns)]


def test_list_valued_categories_become_an_exact_multi_hot_matrix(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,company_category_list,investor_name,funded_at
        Acme,3D Printing|E-Commerce|Manufacturing,Sequoia,2012-01-01
        Beta,E-Commerce,Sequoia,2012-02-01
        Gamma, e-commerce | Software|3d printing|E-COMMERCE ,Accel,2012-03-01
        Delta,|Software|Games|,Accel,2012-04-01
        Omega,,Accel,2012-05-01
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=FeatureOptions(min_category_nodes=2))
    names, block = category_block(data, summary, "company")
    # e-commerce: 3 companies; 3d printing and software: 2 each (alphabetical); manufacturing, games: 1 -> other
    assert names == ("company:category=e-commerce", "company:category=3d printing",
                     "company:category=software", "company:category=other")
    np.testing.assert_array_equal(block, [[1, 1, 0, 1], [1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 0]])
    investors = np.flatnonzero(data.node_kinds == "investor")
    np.testing.assert_array_equal(data.node_features[investors, 1:], 0)


def test_investor_category_lists_are_multi_hot_too(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,investor_category_list,funded_at
        Acme,Sequoia,|VC|Growth|,2012-01-01
        Beta,Y Combinator,Accelerator|Seed,2012-02-01
        Gamma,Kleiner,vc,2012-03-01
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=EVERY_VALUE)
    names, block = category_block(data, summary, "investor")
    assert names == tuple(f"investor:category={label}" for label in ("vc", "accelerator", "growth", "seed", "other"))
    np.testing.assert_array_equal(block, [[1, 0, 1, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 0, 0]])


def test_commas_separate_labels_only_in_a_column_without_any_pipe(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,company_category_list,company_market,investor_name,funded_at
        Acme,"Health, Wellness|Software",,Sequoia,2012-01-01
        Beta,Software,,Sequoia,2012-02-01
        Gamma,,"Games, Mobile",Sequoia,2012-03-01
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=EVERY_VALUE)
    names, block = category_block(data, summary, "company")
    labels = ("software", "games", "health, wellness", "mobile", "other")
    assert names == tuple(f"company:category={label}" for label in labels)
    np.testing.assert_array_equal(block, [[1, 0, 1, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 1, 0]])


def test_single_valued_categories_keep_one_column_per_node_with_the_most_frequent_value(tmp_path):
    path = write_csv(
        tmp_path,
        """
        company_name,company_category_code,investor_name,funded_at
        Acme,software,Sequoia,2012-01-01
        Acme,Games,Accel,2012-02-01
        Acme,Software,Kleiner,2012-03-01
        Beta,games,Sequoia,2012-04-01
        Gamma,biotech,Sequoia,2012-05-01
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=FeatureOptions(min_category_nodes=1, max_categories=2))
    names, block = category_block(data, summary, "company")
    assert names == ("company:category=biotech", "company:category=games", "company:category=other")
    np.testing.assert_array_equal(block, [[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(block.sum(axis=1), 1)


def test_category_vocabulary_and_label_sets_come_from_the_cutoff_period_only(tmp_path):
    header = "company_name,company_category_list,investor_name,funded_at\n"
    past = "Acme,Software|Games,Sequoia,2012-01-01\nBeta,Software,Accel,2012-02-01\n"
    write_csv(tmp_path, header + past, name="past.csv")
    future = (
        "Acme,Biotech|Fintech|Music,Sequoia,2013-01-01\nAcme,Biotech|Fintech|Music,Accel,2013-02-01\n"
        "Beta,Fintech,Kleiner,2013-03-01\nGamma,Fintech|Music,Sequoia,2013-04-01\n"
    )
    write_csv(tmp_path, header + past + future, name="full.csv")
    base, base_summary = run_import(tmp_path / "past.csv", feature_cutoff="2012-06-30", feature_options=EVERY_VALUE)
    data, summary = run_import(tmp_path / "full.csv", feature_cutoff="2012-06-30", feature_options=EVERY_VALUE)
    assert summary.node_feature_names == base_summary.node_feature_names == (
        "is_company", "company:category=software", "company:category=games", "company:category=other")
    np.testing.assert_array_equal(data.node_features[1:3], base.node_features[1:3])
    # Gamma, first seen after the cut-off, takes its first row's labels (both outside the vocabulary)
    np.testing.assert_array_equal(data.node_features[1:4], [[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]])


def test_category_label_columns_are_named_in_the_feature_sidecar_and_by_info(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
        company_name,company_category_list,investor_name,funded_at
        Acme,3D Printing|E-Commerce,Sequoia,2012-01-01
        """,
    )
    data, summary = run_import(path, feature_cutoff="2012-12-31", feature_options=EVERY_VALUE)
    expected = ("is_company", "company:category=3d printing", "company:category=e-commerce", "company:category=other")
    assert summary.node_feature_names == expected
    data_dir = tmp_path / "data"
    save_dataset(data, data_dir)
    assert json.loads((data_dir / "ml_test_features.json").read_text())["static_node_features"] == list(expected)
    assert standalone_main("tgnrank.cli.info", "tgnrank info", ["--data", "test", "--data_dir", str(data_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["features"]["static"] == list(expected)


# --- command line --------------------------------------------------------------------------------------


def test_cli_writes_the_dataset_and_prints_the_summary(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
        company_name,investor_name,funded_when,amount_usd
        北京,Société Générale,2012-03-01,"1,000"
        Acme,Sequoia,2012-04-01,
        Acme,Sequoia,2012-04-01,
        Beta,Sequoia,1900-01-01,5
        Beta,Société Générale,2013-05-01,7
        """,
    )
    data_dir = tmp_path / "data"
    status = standalone_main(
        "tgnrank.cli.import_crunchbase", "tgnrank import-crunchbase",
        [str(path), "--name", "cb", "--data_dir", str(data_dir), "--feature_cutoff", "2012-12-31"],
    )
    assert status == 0
    output = capsys.readouterr().out
    assert "exact duplicate row" in output and "date before 1990" in output
    assert "static node features" in output and "time-aware node features" in output
    for suffix in (".csv", ".npy", "_node.npy", "_nodes.csv", "_features.json"):
        assert (data_dir / f"ml_cb{suffix}").exists()

    expected, _ = run_import(path, feature_cutoff="2012-12-31")
    loaded = load_dataset("cb", data_dir)
    np.testing.assert_array_equal(loaded.events.sources, expected.events.sources)
    np.testing.assert_array_equal(loaded.events.destinations, expected.events.destinations)
    np.testing.assert_array_equal(loaded.events.timestamps, expected.events.timestamps)
    np.testing.assert_array_equal(loaded.edge_features, expected.edge_features)
    np.testing.assert_array_equal(loaded.node_features, expected.node_features)
    assert loaded.feature_schema == expected.feature_schema
    assert list(loaded.node_names) == list(expected.node_names)
    assert list(loaded.node_kinds) == ["", "company", "company", "company", "investor", "investor"]
    assert "北京" in loaded.node_names and "Société Générale" in loaded.node_names


def test_cli_reports_input_errors_in_one_line(tmp_path, capsys):
    status = standalone_main("tgnrank.cli.import_crunchbase", "tgnrank import-crunchbase",
                             [str(tmp_path / "missing.csv"), "--data_dir", str(tmp_path)])
    assert status == 2
    assert "missing.csv" in capsys.readouterr().err
    path = write_csv(tmp_path, "company_name,investor_name,funded_at\nAcme,Sequoia,2012-03-01\n")
    status = standalone_main("tgnrank.cli.import_crunchbase", "tgnrank import-crunchbase",
                             [str(path), "--data_dir", str(tmp_path), "--feature_cutoff", "whenever"])
    assert status == 2
    assert "--feature_cutoff" in capsys.readouterr().err
    assert not list(tmp_path.glob("ml_*"))


def test_a_cutoff_after_training_is_logged_naming_the_setting_bare(caplog):
    from tgnrank.data.crunchbase_features import resolve_cutoff

    timestamps = np.arange(0.0, 1000.0, 10.0)  # days since 1970-01-01
    with caplog.at_level("WARNING", logger="tgnrank.data.crunchbase_features"):
        resolve_cutoff("1972-09-01", timestamps, 0.7, dt.date(2026, 1, 1))
    (record,) = caplog.records
    assert record.getMessage().startswith("feature_cutoff 1972-09-01 is after the end of the default training period")
    assert record.parameters == ("feature_cutoff",)


def test_the_summary_names_the_cutoff_setting_bare_and_the_command_line_as_its_flag(tmp_path, capsys):
    path = write_csv(tmp_path, "company_name,investor_name,funded_at\nAcme,Sequoia,2012-03-01\nBeta,Accel,2013-05-01\n")
    _, summary = run_import(path, feature_cutoff="2012-12-31")
    assert any(line.endswith("events up to 2012-12-31 (feature_cutoff)") for line in summary.lines())
    status = standalone_main("tgnrank.cli.import_crunchbase", "tgnrank import-crunchbase",
                             [str(path), "--data_dir", str(tmp_path / "data"), "--feature_cutoff", "2012-12-31"])
    assert status == 0
    assert "events up to 2012-12-31 (--feature_cutoff)" in capsys.readouterr().out
