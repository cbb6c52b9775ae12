"""The comparison's figures, drawn with matplotlib's object API (no pyplot state, no display needed)
into PNG bytes: Recall@K, the rank distribution of the positives, the training curves (three panels per
epoch: training loss, validation AP and the validation ranking's MRR, with the epoch kept starred) and,
when the results hold a learned fusion, its feature importances.

The ensemble and the fusion (when the results hold them) are more models, after the configurations.
"""

from __future__ import annotations

import io

import numpy as np

from tgnrank.eval.baselines import RANDOM
from tgnrank.experiments.results import ComparisonResults

FIGURES = {
    "recall_at_k": "Recall@K against K (log scale): every model and baseline",
    "rank_distribution": "Where the true new links rank: share of positives within the top x% of the candidates",
    "training_curves": "Training loss, validation AP and validation ranking MRR per epoch",
}
# Drawn only when the results hold a learned fusion.
FUSION_FIGURES = {"fusion_importances": "Learned fusion: share of the split gain per feature"}
COMBINED_COLORS = {"ensemble": "black", "fusion": "#8c564b"}


def render_figures(results: ComparisonResults) -> dict[str, bytes]:
    """PNG bytes of every figure of FIGURES, and of FUSION_FIGURES when the results hold a fusion."""
    figures = {
        "recall_at_k": _png(_recall_figure(results)),
        "rank_distribution": _png(_rank_figure(results)),
        "training_curves": _png(_training_figure(results)),
    }
    if results.fusion is not None:
        figures["fusion_importances"] = _png(_importance_figure(results))
    return figures


def _figure(n_axes: int = 1, width: float = 7.5):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, 4.5), layout="constrained")
    return figure, figure.subplots(1, n_axes, squeeze=False)[0]


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _model_color(results: ComparisonResults, index: int) -> str:
    """The colour of the ``index``-th model column: C0, C1... per configuration; the ensemble black
    (solid, where random is a black dotted line), the fusion brown."""
    if index < len(results.configurations):
        return f"C{index}"
    return COMBINED_COLORS.get(results.model_columns[index].name, "black")


def _baseline_style(index: int) -> dict:
    return {"color": f"C{4 + index % 6}", "linestyle": "--", "linewidth": 1.2}


def _recall_figure(results: ComparisonResults):
    figure, (axes,) = _figure()
    n_candidates = results.window.n_candidates
    grid = None
    for index, configuration in enumerate(results.model_columns):
        curves = [run.diagnostic.recall_curve for run in configuration.runs]
        grid = np.asarray(curves[0].k, dtype=np.float64)
        recalls = np.array([np.interp(grid, curve.k, curve.recall) for curve in curves])
        color = _model_color(results, index)
        axes.plot(grid, recalls.mean(axis=0), color=color, linewidth=2, label=configuration.label)
        if len(curves) > 1:
            axes.fill_between(grid, recalls.min(axis=0), recalls.max(axis=0), color=color, alpha=0.2)
    for index, name in enumerate(n for n in results.baseline_names if n != RANDOM):
        curve = results.baselines[name].recall_curve
        axes.plot(curve.k, curve.recall, label=name, **_baseline_style(index))
    if grid is not None:
        axes.plot(grid, np.minimum(grid, n_candidates) / n_candidates, color="black", linestyle=":", label=RANDOM)
    for k in results.ks:
        axes.axvline(k, color="#ddd", linewidth=0.8, zorder=0)
    axes.set_xscale("log")
    axes.set_xlabel("K (top-K candidate pairs)")
    axes.set_ylabel("Recall@K")
    axes.set_ylim(0, 1)
    axes.legend(fontsize=8)
    axes.set_title("Recall@K" + (" (band: min to max over seeds)" if len(results.seeds) > 1 else ""), fontsize=10)
    return figure


def _rank_figure(results: ComparisonResults):
    figure, (axes,) = _figure()
    lowest = 100.0
    for index, configuration in enumerate(results.model_columns):
        quantiles = [run.diagnostic.rank_quantiles for run in configuration.runs]
        levels = np.asarray(quantiles[0].levels)
        # Averaging quantile curves over seeds gives the distribution of a "typical" seed.
        ranks = np.mean([q.rank_pct for q in quantiles], axis=0)
        axes.step(ranks, 100 * levels, where="post", color=_model_color(results, index), linewidth=2,
                  label=configuration.label)
        lowest = min(lowest, float(ranks[0]))
    best = results.best_baseline
    best_quantiles = results.baselines[best].rank_quantiles
    if best_quantiles is not None:
        ranks = np.asarray(best_quantiles.rank_pct)
        axes.step(ranks, 100 * np.asarray(best_quantiles.levels), where="post",
                  label=f"{best} (best baseline)", **_baseline_style(0))
        lowest = min(lowest, float(ranks[0]))
    diagonal = np.geomspace(max(lowest, 1e-6), 100.0, 50)
    axes.plot(diagonal, diagonal, color="black", linestyle=":", label=RANDOM)
    axes.set_xscale("log")
    axes.set_xlabel("rank as % of the candidate pairs (1 = best)")
    axes.set_ylabel("% of the true new links ranked at or above")
    axes.set_ylim(0, 100)
    axes.legend(fontsize=8)
    axes.set_title("Rank distribution of the positives (ECDF; higher and further left is better)", fontsize=10)
    return figure


def _training_figure(results: ComparisonResults):
    """Per run and epoch: the training loss, the validation AP and the validation ranking's MRR."""
    from matplotlib.ticker import MaxNLocator

    figure, (loss_axes, ap_axes, mrr_axes) = _figure(3, width=15)
    styles = ("-", "--", ":", "-.")
    for index, configuration in enumerate(results.configurations):
        for run_index, run in enumerate(configuration.runs):
            training = run.training
            label = configuration.label
            if len(configuration.runs) > 1:
                label += f" s{run.seed}"
            style = {"color": f"C{index}", "linestyle": styles[run_index % len(styles)], "marker": "o", "markersize": 3}
            epochs = np.arange(1, len(training.train_losses) + 1)
            loss_axes.plot(epochs, _floats(training.train_losses), label=label, **style)
            # runs trained before the per-epoch ranking have no MRR curve
            for axes, values in ((ap_axes, training.val_aps), (mrr_axes, training.val_mrrs or [])):
                values = _floats(values)
                axes.plot(epochs[: len(values)], values, label=label, **style)
                best = training.best_epoch
                if best is not None and best < len(values):
                    axes.plot(best + 1, values[best], marker="*", markersize=12, color=f"C{index}", linestyle="none")
    loss_axes.set_yscale("log")  # focal losses are several times smaller than BCE ones
    loss_axes.set_title("training loss (log scale)", fontsize=10)
    ap_axes.set_title("validation AP (random negatives; star: the epoch kept)", fontsize=10)
    mrr_axes.set_title("validation ranking MRR (star: the epoch kept)", fontsize=10)
    for axes in (loss_axes, ap_axes, mrr_axes):
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    ap_axes.legend(fontsize=8)
    return figure


def _floats(values: list) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _importance_figure(results: ComparisonResults):
    from tgnrank.experiments.ablation import mean_importances

    shares = mean_importances(results)
    figure, (axes,) = _figure(width=7.5)
    names = list(shares)[::-1]  # the largest on top
    axes.barh(names, [100 * shares[name] for name in names], color=COMBINED_COLORS["fusion"])
    axes.set_xlabel("% of the total split gain" + (" (mean over seeds)" if len(results.seeds) > 1 else ""))
    axes.tick_params(axis="y", labelsize=8)
    axes.set_title("Feature importances of the learned fusion", fontsize=10)
    return figure
