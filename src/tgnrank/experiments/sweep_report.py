"""The sweep's report, from ``sweep.json``'s dict: ``sweep.md`` and a self-contained ``sweep.html``
(the figure embedded as a base64 PNG), and ``sweep.png``: the optimisation history and the metric
against each searched setting (finished trials in colour, pruned ones grey at their last epoch's value).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

from tgnrank.data.events import atomic_write

FIGURE_CAPTION = "Optimisation history (each trial and the best so far) and the metric against each searched setting"
TEST_METRICS = ("precision@1000", "recall@1000", "mrr", "median_rank_pct")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trials_table(results: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per trial (number, state, value, epochs, then each searched setting)."""
    names = list(results["space"])
    header = ["Trial", "State", f"val {results['metric']}", "Epochs", *names]
    rows = []
    for trial in results["trials"]:
        params = trial.get("params", {})
        rows.append([str(trial["number"]), trial["state"], _cell(trial.get("value")), str(len(trial["values"])),
                     *(_cell(params.get(name)) for name in names)])
    return header, rows


def test_table(results: dict) -> tuple[list[str], list[list[str]]] | None:
    """The best trial beside the baselines on the test window, or None without a diagnostic."""
    diagnostic = results.get("test_diagnostic")
    if diagnostic is None:
        return None
    columns = [diagnostic["model"], *diagnostic["baselines"]]
    header = ["Metric", *(f"{name} (best baseline)" if name == diagnostic["best_baseline"] else name
                          for name in columns)]
    rows = [[metric, *(_cell(diagnostic["metrics"][name].get(metric)) for name in columns)] for metric in TEST_METRICS]
    return header, rows


def summary_lines(results: dict) -> list[str]:
    counts = {}
    for trial in results["trials"]:
        counts[trial["state"]] = counts.get(trial["state"], 0) + 1
    lines = [f"{len(results['trials'])} trial(s) on {results['dataset']}: "
             + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())),
             f"Maximised: validation {results['metric']} (TPE sampler, seed {results['seed']}, "
             f"{results['pruner']} pruner); space: {results['space_file']}"]
    best = results.get("best")
    if best is None:
        return [*lines, "No trial finished: no best configuration."]
    lines += [f"Best trial: {best['number']}, validation {results['metric']} {best['value']:.4f} "
              f"(epoch {best['best_epoch']})", f"Best configuration: `{best['command']}`"]
    diagnostic = results.get("test_diagnostic")
    if diagnostic is not None:
        verdict = "beats" if diagnostic["model_beats_best_baseline"] else "does not beat"
        lines.append(f"On the test window the best trial {verdict} the best baseline ({diagnostic['best_baseline']}).")
    return lines


def sweep_figure(results: dict) -> bytes:
    """PNG bytes of the history panel and one panel per searched setting."""
    from matplotlib.figure import Figure

    names = list(results["space"])
    n_axes = 1 + len(names)
    n_cols = min(3, n_axes)
    n_rows = math.ceil(n_axes / n_cols)
    figure = Figure(figsize=(4.2 * n_cols, 3.4 * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    _history_panel(axes[0], results)
    for axis, name in zip(axes[1:], names):
        _parameter_panel(axis, results, name)
    for axis in axes[n_axes:]:
        axis.set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _points(results: dict, state: str) -> list[tuple[dict, float]]:
    """(trial, value) of the trials in ``state``; a pruned trial's value is its last epoch's."""
    points = []
    for trial in results["trials"]:
        if trial["state"] != state:
            continue
        value = trial.get("value") if state == "complete" else (trial["values"][-1] if trial["values"] else None)
        if value is not None:
            points.append((trial, value))
    return points


def _history_panel(axis, results: dict) -> None:
    finished = _points(results, "complete")
    pruned = _points(results, "pruned")
    if pruned:
        axis.scatter([t["number"] for t, _ in pruned], [v for _, v in pruned], color="0.6", marker="x",
                     label="pruned (last epoch)")
    if finished:
        numbers = [t["number"] for t, _ in finished]
        values = [v for _, v in finished]
        axis.scatter(numbers, values, color="C0", label="finished")
        best_so_far = [max(values[: i + 1]) for i in range(len(values))]
        axis.step(numbers, best_so_far, where="post", color="C3", label="best so far")
    axis.set_xlabel("trial")
    axis.set_ylabel(f"validation {results['metric']}")
    axis.set_title("optimisation history")
    if finished or pruned:
        axis.legend(fontsize="small")


def _parameter_panel(axis, results: dict, name: str) -> None:
    spec = results["space"][name]
    choices = spec.get("choices")
    for state, style in (("pruned", dict(color="0.6", marker="x")), ("complete", dict(color="C0"))):
        points = [(trial["params"][name], value) for trial, value in _points(results, state) if name in trial["params"]]
        if not points:
            continue
        xs = [choices.index(x) if choices is not None else x for x, _ in points]
        axis.scatter(xs, [v for _, v in points], **style)
    if choices is not None:
        axis.set_xticks(range(len(choices)), [str(choice) for choice in choices])
    elif spec.get("log"):
        axis.set_xscale("log")
    axis.set_xlabel(name)
    axis.set_ylabel(f"validation {results['metric']}")


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_markdown(results: dict, image_file: str) -> str:
    lines = [f"# tgnrank sweep: {results['dataset']}", "", *(f"- {line}" for line in summary_lines(results)), "",
             "## Trials", "", *_markdown_table(*trials_table(results))]
    test = test_table(results)
    if test is not None:
        lines += ["## Best trial on the test window", "", *_markdown_table(*test)]
    lines += [f"![{FIGURE_CAPTION}]({image_file})", ""]
    return "\n".join(lines)


def render_html(results: dict, png: bytes) -> str:
    body = [f"<h1>tgnrank sweep: {html.escape(results['dataset'])}</h1>", "<ul>",
            *(f"<li>{html.escape(line)}</li>" for line in summary_lines(results)), "</ul>",
            "<h2>Trials</h2>", _html_table(*trials_table(results))]
    test = test_table(results)
    if test is not None:
        body += ["<h2>Best trial on the test window</h2>", _html_table(*test)]
    encoded = base64.b64encode(png).decode("ascii")
    body += [f"<figure><img alt=\"{html.escape(FIGURE_CAPTION)}\" src=\"data:image/png;base64,{encoded}\">"
             f"<figcaption>{html.escape(FIGURE_CAPTION)}</figcaption></figure>"]
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;" \
            "padding:0.2em 0.5em}img{max-width:100%}"
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>tgnrank sweep: {html.escape(results['dataset'])}</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_sweep_report(results: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write ``sweep.png``, ``sweep.md`` and ``sweep.html`` (each atomically); return their paths."""
    out_dir = Path(out_dir)
    png = sweep_figure(results)
    paths = {"figure": out_dir / "sweep.png", "markdown": out_dir / "sweep.md", "html": out_dir / "sweep.html"}
    payloads = {"figure": png, "markdown": render_markdown(results, "sweep.png").encode("utf-8"),
                "html": render_html(results, png).encode("utf-8")}
    for name, path in paths.items():
        atomic_write(path, lambda handle, payload=payloads[name]: handle.write(payload))
    return paths
