"""Datasets in the Python API: generate the synthetic one, import a Crunchbase export, load one by name.

Each returns the library's :class:`~tgnrank.data.events.EventData` (events, node and edge features, node
names and kinds) and, unless ``save=False``, writes it as ``{data_dir}/ml_{name}.*`` first, which is
where training (``TrainConfig(data=name, data_dir=...)``) and the other commands read it.
"""

from __future__ import annotations

from pathlib import Path

from tgnrank.errors import ConfigError


def generate_synthetic(
    name: str = "synthetic",
    n_companies: int | None = None,
    n_investors: int | None = None,
    seed: int = 0,
    data_dir: str | Path = "data",
    save: bool = True,
):
    """The synthetic Crunchbase-like dataset ``tgnrank generate`` writes (the same bytes for the same
    arguments); sizes default to the default dataset's (about 40,000 events). Returns an EventData."""
    from tgnrank.data.events import save_dataset
    from tgnrank.data.synthetic import DEFAULT_COMPANIES, DEFAULT_INVESTORS, generate_synthetic as generate

    n_companies = DEFAULT_COMPANIES if n_companies is None else n_companies
    n_investors = DEFAULT_INVESTORS if n_investors is None else n_investors
    for parameter, value in (("n_companies", n_companies), ("n_investors", n_investors)):
        if value < 1:
            raise ConfigError(f"{parameter} must be an integer >= 1, got {value}", (parameter,))
    if seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed}", ("seed",))
    check_name(name)
    data = generate(n_companies=n_companies, n_investors=n_investors, seed=seed, name=name)
    if save:
        save_dataset(data, data_dir)
    return data


def import_crunchbase(
    path: str | Path,
    name: str = "crunchbase",
    data_dir: str | Path = "data",
    feature_cutoff=None,
    train_quantile: float = 0.70,
    save: bool = True,
):
    """Import a Crunchbase investments CSV export as ``tgnrank import-crunchbase`` does.

    Returns ``(data, summary)``: the EventData and the import's
    :class:`~tgnrank.data.crunchbase_summary.ImportSummary` (rows kept and dropped, and why;
    ``summary.lines()`` is the text the command prints, settings named bare rather than as flags).
    ``feature_cutoff`` (a date or ``"YYYY-MM-DD"``) bounds the events static attributes and vocabularies
    are taken from (default: the ``train_quantile`` time quantile, where training ends).
    """
    from tgnrank.data.crunchbase import import_crunchbase as import_export
    from tgnrank.data.events import save_dataset

    data, summary = import_export(path, name, feature_cutoff=feature_cutoff, train_quantile=train_quantile)
    if save:
        save_dataset(data, data_dir)
    return data, summary


def load_dataset(name: str, data_dir: str | Path = "data"):
    """The dataset ``{data_dir}/ml_{name}.*`` as an EventData; as on the command line, the default
    ``synthetic`` dataset is generated (and written) on first use."""
    from tgnrank.data import open_dataset

    return open_dataset(name, data_dir)


def check_name(name: str) -> None:
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"name must be a non-empty file-name stem without '/', got {name!r}", ("name",))
