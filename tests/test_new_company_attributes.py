"""Static attributes of companies first seen after the importer's cut-off: their first row's, in the
cut-off's vocabulary, and never changed by their later rows (docs/design.md, "Brand-new companies")."""

from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np

from tgnrank.data.crunchbase import import_crunchbase
from tgnrank.data.crunchbase_features import FeatureOptions

EXPORT = """
company_name,company_category_list,investor_name,funding_round_type,funded_at
Old,software,Alpha,seed,2010-01-01
Old,software,Beta,seed,2010-02-01
Other,biotech,Alpha,seed,2010-03-01
Old,biotech,Beta,venture,2010-04-01
Old,software,Gamma,venture,2010-05-01
Newco,biotech|software,Alpha,seed,2012-01-01
Newco,{later},Beta,venture,2012-06-01
Blank,,Alpha,seed,2012-02-01
Odd,unheard of,Beta,seed,2012-03-01
"""


def import_export(tmp_path, later: str = "biotech|software"):
    path = tmp_path / f"export-{later.replace('|', '_')}.csv"
    path.write_text(textwrap.dedent(EXPORT.format(later=later)).lstrip("\n"))
    data, summary = import_crunchbase(path, "t", feature_cutoff="2010-12-31", today=dt.date(2020, 1, 1),
                                      feature_options=FeatureOptions(min_category_nodes=1))
    return data, summary


def categories(data, summary, company: str) -> dict[str, float]:
    row = data.node_features[list(data.node_names).index(company)]
    return {name: float(value) for name, value in zip(summary.node_feature_names, row) if name.startswith("company:")}


def test_a_company_first_seen_after_the_cutoff_takes_its_first_rows_categories(tmp_path):
    data, summary = import_export(tmp_path)
    assert [name for name in summary.node_feature_names if name.startswith("company:")] == [
        "company:category=biotech", "company:category=software", "company:category=other"
    ]
    assert categories(data, summary, "Old") == {  # the mode up to the cut-off, as before
        "company:category=software": 1.0, "company:category=biotech": 0.0, "company:category=other": 0.0
    }
    assert categories(data, summary, "Newco") == {
        "company:category=software": 1.0, "company:category=biotech": 1.0, "company:category=other": 0.0
    }
    assert sum(categories(data, summary, "Blank").values()) == 0.0
    assert categories(data, summary, "Odd")["company:category=other"] == 1.0


def test_a_late_companys_later_rows_do_not_change_its_attributes(tmp_path):
    base, summary = import_export(tmp_path)
    changed, changed_summary = import_export(tmp_path, later="cleantech")
    assert changed_summary.node_feature_names == summary.node_feature_names
    np.testing.assert_array_equal(changed.node_features, base.node_features)
