"""Real-data ranking benchmark: import a Crunchbase export, train configurations over seeds, rank the test
(and validation) window, and print each configuration beside the learned fusion and every baseline.

Everything runs through the product's own commands, as subprocesses in a work directory (nothing is
written to the repository): ``tgnrank import-crunchbase``, then per configuration and seed
``tgnrank train --seed S --prefix CONFIG-sS``, then per window ``tgnrank fuse`` (the heuristics-only
fusion) and per model ``tgnrank diagnose --fusion`` (the fusion with that model's logit as a feature;
its JSON also holds the model's own column, identical to a plain ``diagnose``, so no second ranking
is run). With ``--no-fusion`` each model gets a plain ``diagnose``.

The table per window: one row per configuration (mean ± std over seeds, std with ddof=1), the fusion
rows, every baseline, and each row's ratio to the best baseline on R@1000 and MRR (row / best) and on
the median rank (best / row), so that a ratio > 1 is better in all three. A configuration whose flags
``tgnrank train`` refuses (or whose run fails) is reported as skipped with the error line.

    python benchmarks/real_data_ranking.py --csv ../shared/data/crunchbase_usa_until_2012-04.csv \\
        --configs baseline,softmax --n_epoch 5 --seeds 0,1,2 --windows test,val --work /tmp/rd
    python benchmarks/real_data_ranking.py --csv export.csv --configs baseline --n_epoch 1 --seeds 0 \\
        --train_args "--memory_dim 8 --node_dim 8 --time_dim 8 --message_dim 8 --bs 50"

Writes real_data_ranking.md and real_data_ranking.json into the work directory; each command's output
goes to bench_logs/ there.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tgnrank.data import atomic_write

CONFIGS: dict[str, tuple[str, ...]] = {
    "baseline": ("--use_memory",),
    "focal": ("--use_memory", "--use_focal_loss"),
    "hardneg": ("--use_memory", "--use_hard_negatives", "--hard_neg_ratio", "0.5", "--hard_neg_temperature", "0.1"),
    "focal-hardneg": ("--use_memory", "--use_focal_loss", "--use_hard_negatives", "--hard_neg_ratio", "0.5",
                      "--hard_neg_temperature", "0.1"),
    "softmax": ("--use_memory", "--loss", "softmax", "--n_neg", "5"),
    "degree": ("--use_memory", "--loss", "softmax", "--n_neg", "5", "--neg_sampling", "degree"),
    "pairwise": ("--use_memory", "--link_predictor", "pairwise"),
    # the ablation of the time-aware activity features, which every configuration above uses by default
    "static": ("--use_memory", "--no-activity_features"),
}
BASELINES = ("random", "popularity", "recency", "coinvestment", "ppr")
FUSION = "fusion"
FUSION_ALONE = "fusion (heuristics)"
# (key in the diagnostic's metrics, column header, display scale: 100 for a fraction shown in %, 1 for a
# percentage already, None for a plain number)
METRICS = (
    ("precision@1000", "P@1000", 100.0),
    ("recall@1000", "R@1000", 100.0),
    ("median_rank_pct", "median rank %", 1.0),
    ("mrr", "MRR", None),
    ("hits@10", "Hits@10", 100.0),
)
RATIO_HEADERS = ("R@1000 / best", "MRR / best", "best / median rank")
CLI = (sys.executable, "-m", "tgnrank.cli.main")


@dataclass
class Stage:
    """One command run: its stage name, argv, wall seconds and exit status."""

    name: str
    command: list[str]
    seconds: float
    returncode: int


@dataclass
class Runner:
    """Runs the product's commands in the work directory, logging each one's output to bench_logs/."""

    work: Path
    env: dict[str, str]
    stages: list[Stage] = field(default_factory=list)

    def __call__(self, name: str, command: list[str]) -> subprocess.CompletedProcess:
        print(f"$ {shown(command)}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=self.work, env=self.env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        self.stages.append(Stage(name, command, seconds, done.returncode))
        log = self.work / "bench_logs" / f"{len(self.stages):03d}-{name}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(f"$ {shown(command)}\n{done.stdout}\n--- stderr ---\n{done.stderr}")
        status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode}): {error_line(done)}"
        print(f"  {name}: {seconds:.1f} s, {status}", flush=True)
        return done


def shown(command: list[str]) -> str:
    """The command as a user would type it (``python`` for this interpreter)."""
    return shlex.join(["python" if part == sys.executable else part for part in command])


def stage_totals(stages: list[dict]) -> dict[str, float]:
    """Wall seconds per kind of stage (import, train, fuse, diagnose, ...): the name up to its first '-'."""
    totals: dict[str, float] = {}
    for stage in stages:
        kind = stage["name"].split("-", 1)[0]
        totals[kind] = totals.get(kind, 0.0) + stage["seconds"]
    return totals


def error_line(done: subprocess.CompletedProcess) -> str:
    """The line of a failed command's stderr that says why: the last naming an error, else its last line."""
    lines = [line.strip() for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no output)"])[-1]


def result_json(done: subprocess.CompletedProcess, work: Path, expected: str) -> dict:
    """The diagnostic JSON a command wrote: the path it printed last ('results: PATH'), else ``expected``."""
    printed = [line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("results:")]
    path = work / (printed[-1] if printed and printed[-1].endswith(".json") else expected)
    return json.loads(path.read_text())


def parse_names(text: str, flag: str, accepted) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in accepted]
    if not names or unknown:
        raise SystemExit(f"{flag} must be comma-separated names among {','.join(accepted)}; got {text!r}")
    return names


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise SystemExit(f"--seeds must be comma-separated integers >= 0 (e.g. 0,1,2); got {text!r}")
    return seeds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="the Crunchbase export (CSV)")
    parser.add_argument("--configs", default="baseline", help=f"comma-separated among {','.join(CONFIGS)}")
    parser.add_argument("--n_epoch", type=int, default=5, help="epochs per training run (default %(default)s)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds (default %(default)s)")
    parser.add_argument("--work", default=None, help="work directory (default: a new temporary one, kept)")
    parser.add_argument("--name", default="cbbench", help="dataset name in the work dir (default %(default)s)")
    parser.add_argument("--fusion", action=argparse.BooleanOptionalAction, default=True,
                        help="add the learned fusion rows (default: on)")
    parser.add_argument("--windows", default="test", help="comma-separated among test,val (default %(default)s)")
    parser.add_argument("--train_args", default="", help="extra flags for every `tgnrank train`, one string")
    parser.add_argument("--diagnose_args", default="", help="extra flags for every `diagnose`/`fuse`, one string")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP/MKL threads of every command (default: the environment's, else torch's choice)")
    return parser


def thread_env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    if threads is not None:
        if threads < 1:
            raise SystemExit(f"--threads must be an integer >= 1, got {threads}")
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def thread_line(env: dict[str, str]) -> str:
    """torch's thread count as the commands will see it (torch reads OMP_NUM_THREADS when it loads)."""
    os.environ.update({key: env[key] for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if key in env})
    import torch

    return f"torch threads {torch.get_num_threads()} (OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')})"


def train_config(run: Runner, config: str, seeds: list[int], args, train_args: list[str]):
    """(checkpoint stems, None) of the config's runs, or ([], error line) at its first failing seed."""
    stems = []
    for seed in seeds:
        prefix = f"{config}-s{seed}"
        done = run(f"train-{prefix}", [*CLI, "train", "--data", args.name, "--seed", str(seed), "--prefix", prefix,
                                       "--n_epoch", str(args.n_epoch), *CONFIGS[config], *train_args])
        if done.returncode != 0:
            return [], error_line(done)
        stems.append(f"{prefix}-{args.name}")
    return stems, None


def diagnose_model(run: Runner, stem: str, window: str, fusion: bool, args, extra: list[str]) -> dict:
    command = [*CLI, "diagnose", "--data", args.name, "--model_path", f"saved_models/{stem}.pth",
               "--auto_detect_params", "--window", window, "--out", "results", *(["--fusion"] if fusion else []),
               *extra]
    done = run(f"diagnose{'-fusion' if fusion else ''}-{stem}-{window}", command)
    if done.returncode != 0:
        raise RuntimeError(error_line(done))
    return result_json(done, run.work, f"results/diagnostic-{'fusion-' if fusion else ''}{stem}-{window}.json")


def mean_std(values: list[dict]) -> tuple[dict, dict]:
    """Per metric, the mean and the std (ddof=1; 0 for one value) over the runs' metrics dicts."""
    mean, std = {}, {}
    for key, _, _ in METRICS:
        column = np.array([metrics[key] for metrics in values], dtype=float)
        mean[key] = float(column.mean())
        std[key] = float(column.std(ddof=1)) if len(column) > 1 else 0.0
    return mean, std


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, None where the denominator is 0 (no ratio to show)."""
    return numerator / denominator if denominator > 0 else None


def ratios_to_best(mean: dict, best: dict) -> dict:
    """R@1000 and MRR as row / best, the median rank as best / row: > 1 is better in all three."""
    return {
        "recall@1000": ratio(mean["recall@1000"], best["recall@1000"]),
        "mrr": ratio(mean["mrr"], best["mrr"]),
        "median_rank_pct": ratio(best["median_rank_pct"], mean["median_rank_pct"]),
    }


def window_rows(runs: dict[str, tuple[str, list[dict]]], reference: dict) -> list[dict]:
    """The table's rows: ``runs`` (row name -> (kind, per-seed metrics)) in order, then every baseline of
    ``reference`` (a diagnostic JSON), each with its mean, std and ratios to the best baseline.

    Kinds: "model" and "fusion" (over seeds), "heuristic" (the fusion without a model) and "baseline"."""
    best = reference["scorers"][reference["best_baseline"]]["metrics"]
    named = {**runs, **{name: ("baseline", [reference["scorers"][name]["metrics"]])
                        for name in BASELINES if name in reference["scorers"]}}
    rows = []
    for name, (kind, values) in named.items():
        mean, std = mean_std(values)
        rows.append({"name": name, "kind": kind, "n": len(values), "mean": mean, "std": std,
                     "ratios": ratios_to_best(mean, best), "best_baseline": name == reference["best_baseline"]})
    return rows


def format_cell(mean: float, std: float, n: int, scale: float | None) -> str:
    scale, digits, unit = (1.0, 4, "") if scale is None else (scale, 2, "%")
    text = f"{mean * scale:.{digits}f}{unit}"
    return text if n < 2 else f"{text} ± {std * scale:.{digits}f}{unit}"


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def markdown_table(rows: list[dict]) -> list[str]:
    header = ["scorer", "seeds", *(title for _, title, _ in METRICS), *RATIO_HEADERS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        name = f"{row['name']} (best baseline)" if row["best_baseline"] else row["name"]
        cells = [name, str(row["n"]) if row["kind"] in ("model", FUSION) else "-"]
        cells += [format_cell(row["mean"][key], row["std"][key], row["n"], scale) for key, _, scale in METRICS]
        cells += [format_ratio(row["ratios"][key]) for key in ("recall@1000", "mrr", "median_rank_pct")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report_lines(summary: dict) -> list[str]:
    lines = ["# Real-data ranking benchmark", "",
             f"export {summary['csv']}; configs {','.join(summary['configs'])}; seeds {summary['seeds']}; "
             f"{summary['n_epoch']} epoch(s); train args {summary['train_args']!r}; {summary['threads']}", ""]
    for window, table in summary["windows"].items():
        counts = table["window"]
        lines += [f"## {window} window: {counts.get('n_positives')} new links among {counts.get('n_candidates')} "
                  f"candidate pairs; best baseline: {table['best_baseline']}", "",
                  "Mean ± std over seeds. Ratios to the best baseline: R@1000 and MRR as row / best, the median "
                  "rank as best / row, so > 1 is better in all three.", "", *markdown_table(table["rows"]), ""]
    lines += [f"skipped {name}: {error}" for name, error in summary["skipped"].items()]
    lines += ["", "## Commands and wall time", "", "| stage | seconds | exit | command |", "|---|---|---|---|"]
    lines += [f"| {stage['name']} | {stage['seconds']:.1f} | {stage['returncode']} | `{shown(stage['command'])}` |"
              for stage in summary["stages"]]
    totals = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in stage_totals(summary["stages"]).items())
    lines.append(f"\ntotal wall time {summary['seconds']:.1f} s ({totals})")
    return lines


def run_window(run: Runner, window: str, trained: dict[str, list[str]], args, extra: list[str]) -> tuple[dict, dict]:
    """(the window's table, failures: config -> error line): fuse once, then rank each trained model
    (with the fusion when it is on); a model whose ranking fails leaves its configuration's row out."""
    fusion, reference, fused_rows, failures = args.fusion, None, {}, {}
    if fusion:
        done = run(f"fuse-{window}", [*CLI, "fuse", "--data", args.name, "--window", window, "--out", "results", *extra])
        if done.returncode == 0:
            reference = result_json(done, run.work, f"results/diagnostic-fusion-baselines-{args.name}-{window}.json")
            fused_rows[FUSION_ALONE] = ("heuristic", [reference["scorers"][FUSION]["metrics"]])
        else:
            failures["fusion"] = error_line(done)
            fusion = False
    model_rows = {}
    for config, stems in trained.items():
        try:
            results = [diagnose_model(run, stem, window, fusion, args, extra) for stem in stems]
        except RuntimeError as error:
            failures[config] = str(error)
            continue
        reference = reference or results[0]
        model_rows[config] = ("model", [result["scorers"][stem]["metrics"] for result, stem in zip(results, stems)])
        if fusion:
            fused_rows[f"fusion + {config}"] = (FUSION, [result["scorers"][FUSION]["metrics"] for result in results])
    if reference is None:
        done = run(f"baselines-{window}", [*CLI, "diagnose", "--data", args.name, "--baselines-only",
                                           "--window", window, "--out", "results", *extra])
        if done.returncode != 0:
            raise SystemExit(f"the baselines-only diagnostic failed: {error_line(done)}")
        reference = result_json(done, run.work, f"results/diagnostic-baselines-{args.name}-{window}.json")
    table = {"window": reference["window"], "best_baseline": reference["best_baseline"],
             "rows": window_rows(model_rows | fused_rows, reference)}
    return table, failures


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    configs = parse_names(args.configs, "--configs", CONFIGS)
    windows = parse_names(args.windows, "--windows", ("test", "val"))
    seeds = parse_seeds(args.seeds)
    if args.n_epoch < 1:
        raise SystemExit(f"--n_epoch must be an integer >= 1, got {args.n_epoch}")
    csv = Path(args.csv).resolve()
    if not csv.is_file():
        raise SystemExit(f"--csv {csv} is not a file")
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="tgnrank-real-data-"))
    work.mkdir(parents=True, exist_ok=True)
    env = thread_env(args.threads)
    threads = thread_line(env)
    print(f"work dir {work}; {threads}", flush=True)
    started = time.perf_counter()
    run = Runner(work, env)
    done = run("import", [*CLI, "import-crunchbase", str(csv), "--name", args.name])
    if done.returncode != 0:
        raise SystemExit(f"import failed: {error_line(done)}")
    trained, skipped = {}, {}
    for config in configs:
        stems, error = train_config(run, config, seeds, args, shlex.split(args.train_args))
        if error is None:
            trained[config] = stems
        else:
            skipped[config] = error
    extra = shlex.split(args.diagnose_args)
    tables = {}
    for window in windows:
        tables[window], failures = run_window(run, window, trained, args, extra)
        skipped |= {f"{name} ({window} window)": error for name, error in failures.items()}
    summary = {"csv": str(csv), "work": str(work), "dataset": args.name, "configs": configs,
               "flags": {config: list(CONFIGS[config]) for config in configs}, "seeds": seeds,
               "n_epoch": args.n_epoch, "train_args": args.train_args, "threads": threads, "fusion": args.fusion,
               "windows": tables, "skipped": skipped, "stages": [vars(stage) for stage in run.stages],
               "seconds": time.perf_counter() - started}
    text = "\n".join(report_lines(summary)) + "\n"
    print("\n" + text)
    atomic_write(work / "real_data_ranking.md", lambda handle: handle.write(text.encode("utf-8")))
    atomic_write(work / "real_data_ranking.json",
                 lambda handle: handle.write(json.dumps(summary, indent=1).encode("utf-8")))
    print(f"wrote {work / 'real_data_ranking.md'} and {work / 'real_data_ranking.json'}")
    return summary


if __name__ == "__main__":
    main()
