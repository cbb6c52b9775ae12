"""What a Crunchbase import read, dropped, kept and produced, rendered for people."""

from __future__ import annotations

from dataclasses import dataclass, field

DROP_REASONS: dict[str, str] = {
    "empty_company": "empty company name",
    "empty_investor": "empty investor name",
    "bad_date": "unparseable date",
    "early_date": "date before 1990",
    "future_date": "date in the future",
    "duplicate": "exact duplicate row",
}


@dataclass(frozen=True)
class ImportSummary:
    """What an import read, dropped (by reason) and produced; ``lines()`` renders it for people."""

    path: str
    encoding: str
    columns_used: dict[str, tuple[str, ...]]
    columns_ignored: tuple[str, ...]
    node_identity: str
    n_rows: int
    dropped: dict[str, int]
    n_events: int
    n_companies: int
    n_investors: int
    n_amount_missing: int
    n_amount_unreadable: int
    n_month_precision: int
    n_year_precision: int
    first_date: str
    last_date: str
    feature_cutoff: str
    cutoff_source: str
    n_events_before_cutoff: int
    n_companies_seen: int
    n_investors_seen: int
    stage_source: str
    node_feature_names: tuple[str, ...] = field(repr=False)
    edge_feature_names: tuple[str, ...] = field(repr=False)
    activity_feature_names: tuple[str, ...] = field(repr=False)

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    def lines(self) -> list[str]:
        share = lambda count, total: f"{100.0 * count / total:.1f}%" if total else "0.0%"  # noqa: E731
        used = ", ".join(f"{role}={'+'.join(columns)}" for role, columns in self.columns_used.items())
        lines = [
            f"read {self.n_rows:,} rows from {self.path} ({self.encoding})",
            f"  columns used: {used}",
            f"  columns ignored: {', '.join(self.columns_ignored) or 'none'}",
            f"  nodes identified by {self.node_identity}",
            f"dropped {self.n_dropped:,} rows ({share(self.n_dropped, self.n_rows)}):",
        ]
        width = max(len(label) for label in DROP_REASONS.values())
        lines += [f"  {DROP_REASONS[reason]:<{width}}  {count:>9,}" for reason, count in self.dropped.items()]
        lines += [
            f"kept {self.n_events:,} events: {self.n_companies:,} companies, {self.n_investors:,} investors, "
            f"{self.first_date} .. {self.last_date}",
            f"  amounts unknown: {self.n_amount_missing:,} ({share(self.n_amount_missing, self.n_events)}), "
            f"of which unreadable text: {self.n_amount_unreadable:,}",
            f"  dates known to the month only: {self.n_month_precision:,}; to the year only: "
            f"{self.n_year_precision:,} (placed on the first day of the month / year)",
            f"static node features: {len(self.node_feature_names)} columns ({_name_groups(self.node_feature_names)}), "
            f"attributes and vocabularies from the {self.n_events_before_cutoff:,} events up to {self.feature_cutoff} "
            f"({self.cutoff_source})",
            f"  with attributes by then: {self.n_companies_seen:,} companies, {self.n_investors_seen:,} investors",
            f"time-aware node features: {len(self.activity_feature_names)} columns, computed for each prediction from "
            f"the node's events strictly before its time, not stored ({', '.join(self.activity_feature_names)})",
            f"edge features: {len(self.edge_feature_names)} columns ({', '.join(self.edge_feature_names)}); "
            f"stages from {self.stage_source}",
        ]
        return lines


def _name_groups(names: tuple[str, ...]) -> str:
    """``("is_company", "company:category=a", "company:category=b")`` -> ``"is_company, company:category=*"``."""
    groups = dict.fromkeys(name.split("=", 1)[0] + ("=*" if "=" in name else "") for name in names)
    return ", ".join(groups)
