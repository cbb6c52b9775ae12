"""The comparison report: the guide's table as text, ``report.md`` and a self-contained ``report.html``.

Everything renders from :class:`~tgnrank.experiments.results.ComparisonResults`, read by attribute.
Tables are built once as rows of cells and written three ways (aligned text, Markdown, HTML). The plots
(:mod:`tgnrank.experiments.figures`) are PNG bytes; the HTML embeds them as base64 data URIs so it opens
anywhere without other files, and the Markdown links the PNG files written beside it.

The ensemble of the configurations and the learned fusion (when the results hold them) are shown as
more model columns, after the configurations, in the tables and the ranking figures; with a fusion,
the report adds its feature importances and each component's contribution
(:mod:`tgnrank.experiments.ablation`).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Callable

from tgnrank.data.events import atomic_write
from tgnrank.eval.metrics import HITS_K
from tgnrank.experiments.ablation import contribution_lines, importance_table
from tgnrank.experiments.figures import FIGURES, FUSION_FIGURES, render_figures
from tgnrank.experiments.results import ComparisonResults, MetricSummary
from tgnrank.tables import text_table
RUNS_COLUMNS = (
    "Configuration", "Seed", "Checkpoint", "Epochs", "Best epoch", "Last train loss", "Best val AP", "Test AP",
    "Training time",
)

Formatter = Callable[[float], str]
Table = tuple[list[str], list[list[str]]]


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def count(value: float) -> str:
    return f"{value:,.0f}"


def lift(value: float) -> str:
    return f"{value:,.2f}x"


def plain(value: float) -> str:
    return f"{value:.4f}"


def percent_number(value: float) -> str:
    return f"{value:.2f}%"


def guide_rows(results: ComparisonResults) -> list[tuple[str, str, Formatter]]:
    """The rows of the guide's "Métriques à comparer" table: (label, metric key, formatter)."""
    k = results.lift_k
    return [
        (f"Precision@{k}", f"precision@{k}", percent),
        (f"Recall@{k}", f"recall@{k}", percent),
        ("Median Rank", "median_rank", count),
        ("vs Random", f"lift@{k}", lift),
    ]


def all_metric_rows(results: ComparisonResults) -> list[tuple[str, str, Formatter]]:
    """Every metric of the diagnostic, in the diagnostic's order."""
    ks = sorted(set(results.ks) | {results.lift_k})
    rows = [(f"Precision@{k}", f"precision@{k}", percent) for k in ks]
    rows += [(f"Recall@{k}", f"recall@{k}", percent) for k in ks]
    rows += [
        ("Median rank", "median_rank", count),
        ("Median rank %", "median_rank_pct", percent_number),
        (f"vs Random (lift@{results.lift_k})", f"lift@{results.lift_k}", lift),
        ("MRR (per company)", "mrr", plain),
        (f"Hits@{HITS_K} (per company)", f"hits@{HITS_K}", percent),
    ]
    return rows


def mean_std_cell(summary: MetricSummary, show: Formatter) -> str:
    """``mean ± std`` over seeds, or the value alone for one seed."""
    if summary.n > 1:
        return f"{show(summary.mean)} ± {show(summary.std)}"
    return show(summary.mean)


def guide_table(results: ComparisonResults) -> Table:
    """The guide's table: one column per configuration, the ensemble, then the best baseline."""
    best = results.best_baseline
    models = results.model_columns
    header = ["Metric", *(c.label for c in models), f"{best} (best baseline)"]
    rows = []
    for label, key, show in guide_rows(results):
        cells = [mean_std_cell(c.summary[key], show) for c in models]
        rows.append([label, *cells, show(results.baselines[best].metrics[key])])
    return header, rows


def full_table(results: ComparisonResults) -> Table:
    """Every metric for every configuration and the ensemble (mean ± std) and every baseline."""
    baselines = results.baseline_names
    models = results.model_columns
    header = ["Metric", *(c.name for c in models), *baselines]
    rows = []
    for label, key, show in all_metric_rows(results):
        cells = [mean_std_cell(c.summary[key], show) for c in models]
        rows.append([label, *cells, *(show(results.baselines[name].metrics[key]) for name in baselines)])
    return header, rows


def runs_table(results: ComparisonResults) -> Table:
    rows = []
    for configuration in results.configurations:
        for run in configuration.runs:
            training = run.training
            losses, aps = training.train_losses, [ap for ap in training.val_aps if ap is not None]
            rows.append([
                configuration.name,
                str(run.seed),
                run.checkpoint,
                str(training.epochs_completed),
                str(training.best_epoch),
                plain(losses[-1]) if losses and losses[-1] is not None else "-",
                plain(max(aps)) if aps else "-",
                plain(training.test_ap) if training.test_ap is not None else "-",
                f"{run.training_seconds or 0.0:.0f} s",
            ])
    return list(RUNS_COLUMNS), rows


def top_predictions_table(results: ComparisonResults) -> tuple[str, Table] | None:
    """The best configuration's top predicted new links (its first seed), or None without any."""
    configuration = next(c for c in results.configurations if c.name == results.best_configuration)
    run = configuration.runs[0]
    top = run.diagnostic.top_predictions or []
    if not top:
        return None
    hits = sum(item.hit for item in top)
    title = f"Top {len(top)} predicted new links of {run.prefix} ({hits} hit(s))"
    rows = [
        [str(item.rank), item.company, item.investor, f"{item.score:.4g}", "HIT" if item.hit else "miss"]
        for item in top
    ]
    return title, (["Rank", "Company", "Investor", "Score", "Hit"], rows)


def verdict_lines(results: ComparisonResults) -> list[str]:
    """Which baseline is best, and how often each configuration (and the ensemble) beats it."""
    lines = [f"Best baseline: {results.best_baseline} (highest Precision@{results.lift_k}, ties by median rank)."]
    for configuration in results.model_columns:
        wins = sum(bool(run.beats_best_baseline) for run in configuration.runs)
        lines.append(f"{configuration.label}: beats it in {wins} of {len(configuration.runs)} seed(s).")
    lines.append(f"Best configuration by mean Precision@{results.lift_k}: {results.best_configuration}.")
    return lines


def headline(results: ComparisonResults) -> str:
    window, seeds = results.window, results.seeds
    return (
        f"Dataset '{results.dataset}', {window.window} window ({window.t_start:g}, {window.t_end:g}] days: "
        f"{window.n_positives:,} new links among {window.n_candidates:,} candidate pairs "
        f"({window.n_candidate_companies:,} companies x {window.n_candidate_investors:,} investors); "
        f"{len(seeds)} seed(s) ({', '.join(map(str, seeds))}), up to {results.training.get('n_epoch', '?')} epoch(s)"
    )


def _std_note(results: ComparisonResults) -> str:
    return " (mean ± std over seeds)" if len(results.seeds) > 1 else ""


def format_table(results: ComparisonResults) -> str:
    """The text printed by ``tgnrank compare``: headline, the guide's table, the verdicts."""
    std_note = _std_note(results)
    lines = [headline(results), "", f"Métriques à comparer{std_note}:", *text_table(*guide_table(results)),
             "", *verdict_lines(results)]
    for title, section_lines, table in ablation_sections(results):
        lines += ["", f"{title}:", *(section_lines or []), *(text_table(*table) if table else [])]
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(escape, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(map(escape, row)) + " |" for row in rows]


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def settings_lines(results: ComparisonResults) -> list[str]:
    shared = ", ".join(f"{key}={value}" for key, value in results.training.items())
    lines = [f"Shared training flags: {shared}."]
    lines += [f"{c.label} ({c.name}): {c.flags or 'random negatives, BCE'}" for c in results.configurations]
    ensemble = results.ensemble
    if ensemble:
        lines.append(f"{ensemble.label} ({ensemble.name}): {ensemble.combination} of "
                     f"{', '.join(ensemble.members)} for each seed (no training: rebuilt from their checkpoints)")
    if results.fusion:
        lines.append(f"{results.fusion.label} ({results.fusion.name}): {results.fusion.combination}, one per seed")
    return lines


def ablation_sections(results: ComparisonResults) -> list[tuple[str, list[str] | None, Table | None]]:
    """(title, lines, table) of the contributions and the fusion's importances, those that apply."""
    sections = []
    lines = contribution_lines(results) if results.fusion else []
    if lines:
        over = " (mean over seeds)" if len(results.seeds) > 1 else ""
        sections.append((f"Contribution of each component{over}", lines, None))
    importances = importance_table(results)
    if importances is not None:
        sections.append(("Learned fusion: feature importances", None, importances))
    return sections


def render_markdown(results: ComparisonResults, image_files: dict[str, str]) -> str:
    """``report.md``; ``image_files`` maps each figure drawn (FIGURES, FUSION_FIGURES) to its file beside it."""
    std_note = _std_note(results)
    parts = [f"# Comparison on '{results.dataset}'", "", headline(results), "",
             *(f"- {line}" for line in settings_lines(results)), "",
             f"## Métriques à comparer{std_note}", "", *markdown_table(*guide_table(results)), "",
             *(f"- {line}" for line in verdict_lines(results)), "",
             "## All metrics", "", *markdown_table(*full_table(results)), ""]
    for title, lines, table in ablation_sections(results):
        parts += [f"## {title}", "", *(f"- {line}" for line in lines or []), *(markdown_table(*table) if table else []), ""]
    for name, caption in {**FIGURES, **FUSION_FIGURES}.items():
        if name in image_files:
            parts += [f"## {caption}", "", f"![{caption}]({image_files[name]})", ""]
    parts += ["## Runs", "", *markdown_table(*runs_table(results)), ""]
    top = top_predictions_table(results)
    if top is not None:
        parts += [f"## {top[0]}", "", *markdown_table(*top[1]), ""]
    return "\n".join(parts)


STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; }
"""


def render_html(results: ComparisonResults, images: dict[str, bytes]) -> str:
    """``report.html``: no external resource; ``images`` maps each figure drawn (FIGURES, FUSION_FIGURES) to
    PNG bytes."""
    std_note = _std_note(results)
    items = lambda lines: "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"  # noqa: E731
    body = [
        f"<h1>Comparison on '{html.escape(results.dataset)}'</h1>",
        f"<p>{html.escape(headline(results))}</p>",
        items(settings_lines(results)),
        f"<h2>Métriques à comparer{html.escape(std_note)}</h2>",
        html_table(*guide_table(results)),
        items(verdict_lines(results)),
        "<h2>All metrics</h2>",
        html_table(*full_table(results)),
    ]
    for title, lines, table in ablation_sections(results):
        body += [f"<h2>{html.escape(title)}</h2>", *([items(lines)] if lines else []),
                 *([html_table(*table)] if table else [])]
    for name, caption in {**FIGURES, **FUSION_FIGURES}.items():
        if name not in images:
            continue
        encoded = base64.b64encode(images[name]).decode("ascii")
        body += [
            f"<h2>{html.escape(caption)}</h2>",
            f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">',
        ]
    body += ["<h2>Runs</h2>", html_table(*runs_table(results))]
    top = top_predictions_table(results)
    if top is not None:
        body += [f"<h2>{html.escape(top[0])}</h2>", html_table(*top[1])]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>tgnrank comparison: {html.escape(results.dataset)}</title><style>{STYLE}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(results: ComparisonResults, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and the figures' PNG files (each atomically); return their paths."""
    out_dir = Path(out_dir)
    images = render_figures(results)
    paths = {}
    for name, png in images.items():
        paths[name] = out_dir / f"{name}.png"
        _write_bytes(paths[name], png)
    paths["markdown"] = out_dir / "report.md"
    _write_bytes(paths["markdown"], render_markdown(results, {name: f"{name}.png" for name in images}).encode("utf-8"))
    paths["html"] = out_dir / "report.html"
    _write_bytes(paths["html"], render_html(results, images).encode("utf-8"))
    return paths


def _write_bytes(path: Path, payload: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(payload))
