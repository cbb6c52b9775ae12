"""Training throughput on synthetic data at two sizes, the neighbour finder against a plain loop, and
this code against an earlier git revision.

Without ``--against``, prints, per dataset size: training events/s and training time per epoch (as
TGN's ``epoch_times``), and the whole epoch with validation; then the temporal neighbour finder's
queries/s, vectorised over batches of 200 as training calls it, against a per-query Python reference
(TGN's approach: one ``searchsorted`` per node), as a ratio measured in this run.

With ``--against REV``, checks out REV in a temporary ``git worktree`` (nothing is installed: its
``src`` goes first on ``PYTHONPATH``) and times the training loop of both revisions on the same files
and settings, alternately, in fresh processes (``--repeats`` each), then prints the median events/s of
each, the median of the per-repetition ratios and the thread count. It also trains the first
``--loss_batches`` batches of both from the same seed and compares their per-batch losses, once with
the settings as given and once with ``--drop_out 0``.

    python benchmarks/train_throughput.py                 # default flags + --use_memory, 1 epoch
    python benchmarks/train_throughput.py --n_epoch 2 --sizes 2000x600 8000x2500 --gpu 0
    python benchmarks/train_throughput.py --against 7fbd16c --threads 2          # default synthetic data
    python benchmarks/train_throughput.py --against 7fbd16c --data cbdev --data_dir data --batches 150
    python benchmarks/train_throughput.py --against 7fbd16c --threads 1 --against_threads 2   # as each trains
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tgnrank.openmp import apply_wait_policy

apply_wait_policy()  # the product's OpenMP wait policy, set (as the CLI does) before torch loads OpenMP

DEFAULT_SIZES = ("2000x600", "8000x2500")  # companies x investors; the second is the default synthetic data
REFERENCE_QUERIES = 5000
REPO_ROOT = Path(__file__).resolve().parents[1]
LOSS_RTOL = 1e-5  # per-batch losses "equal within float32 rounding" (float32 eps is 1.2e-7, compounded by steps)
RESULT_TAG = "RESULT "
PEAK_MATMUL_SIZE = 2048  # square float32 product timed for the CPU's matrix-product rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="COMPANIESxINVESTORS, e.g. 2000x600")
    parser.add_argument("--n_epoch", type=int, default=1)
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--no_memory", action="store_true", help="train without --use_memory")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--against", metavar="REV", help="git revision to time this working tree against")
    parser.add_argument("--against_threads", type=int, default=None,
                        help="with --against: torch CPU threads of REV's runs (default: --threads), to compare "
                             "each revision as it trains by default")
    parser.add_argument("--data", help="with --against: dataset name (default: the default synthetic data)")
    parser.add_argument("--data_dir", default="data", help="with --against and --data: folder of the ml_ files")
    parser.add_argument("--repeats", type=int, default=3, help="with --against: timed runs of each revision")
    parser.add_argument("--batches", type=int, default=0, help="with --against: training batches timed per run "
                        "(0 = the whole training split)")
    parser.add_argument("--loss_batches", type=int, default=20, help="with --against: batches whose losses are "
                        "compared (0 = no comparison)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FLAG=VALUE",
                        help="with --against: training settings given to both revisions, e.g. drop_out=0")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a job of --against, as JSON
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.worker:
        print(RESULT_TAG + json.dumps(run_worker(json.loads(args.worker))), flush=True)
    elif args.against:
        compare_revisions(args)
    else:
        report_sizes(args)


# ----------------------------------------------------------------- this code alone


def report_sizes(args) -> None:
    import torch

    from tgnrank.data import save_dataset
    from tgnrank.data.synthetic import generate_synthetic
    from tgnrank.train.config import TrainConfig
    from tgnrank.train.device import select_device
    from tgnrank.train.training_data import load_training_data

    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.gpu)
    print(
        f"device: {device} ({torch.get_num_threads()} CPU threads); "
        f"flags: defaults{'' if args.no_memory else ' + --use_memory'}, {args.n_epoch} epoch(s)"
    )
    with tempfile.TemporaryDirectory() as workdir:
        for size in args.sizes:
            n_companies, n_investors = (int(part) for part in size.lower().split("x"))
            name = f"synthetic_{n_companies}x{n_investors}"
            data = generate_synthetic(n_companies=n_companies, n_investors=n_investors, seed=0, name=name)
            save_dataset(data, workdir)
            config = TrainConfig(data=name, data_dir=workdir, use_memory=not args.no_memory, n_epoch=args.n_epoch,
                                 patience=args.n_epoch + 1, gpu=args.gpu)
            training_data = load_training_data(config)
            report_training(config, training_data, device, Path(workdir))
            report_neighbor_finder(training_data, config.n_degree)


def report_training(config, training_data, device, workdir: Path) -> None:
    from tgnrank.train.outputs import RunPaths
    from tgnrank.train.runs import train_run

    result = train_run(config, training_data, device, RunPaths("bench", config.data, root=workdir))
    n_train = len(training_data.split.train)
    for record in result.history:
        print(
            f"{config.data}: {n_train} training events, epoch {record.epoch}: "
            f"train {record.epoch_time:.2f} s ({record.events_per_second:,.0f} events/s), "
            f"with validation {record.total_epoch_time:.2f} s, val AP {record.val_ap:.4f}"
        )


def report_neighbor_finder(training_data, n_neighbors: int, batch_size: int = 200) -> None:
    from tgnrank.sampling.neighbors import NeighborFinder

    data, events = training_data.data, training_data.split.full
    finder = NeighborFinder.from_interactions(events, data.n_nodes)
    nodes = np.concatenate([events.sources, events.destinations])
    times = np.concatenate([events.timestamps, events.timestamps])
    start = time.perf_counter()
    for first in range(0, len(nodes), batch_size):
        finder.get_temporal_neighbor(nodes[first:first + batch_size], times[first:first + batch_size], n_neighbors)
    vectorised = len(nodes) / (time.perf_counter() - start)

    picked = np.random.default_rng(0).choice(len(nodes), size=min(REFERENCE_QUERIES, len(nodes)), replace=False)
    per_node = [
        (finder.neighbors[lo:hi], finder.times[lo:hi]) for lo, hi in zip(finder.offsets[:-1], finder.offsets[1:])
    ]
    start = time.perf_counter()
    reference = [_reference_query(per_node, int(nodes[i]), float(times[i]), n_neighbors) for i in picked]
    plain = len(picked) / (time.perf_counter() - start)

    fast, _, _ = finder.get_temporal_neighbor(nodes[picked], times[picked], n_neighbors)
    fast = fast.cpu().numpy() if hasattr(fast, "cpu") else fast
    agree = np.array_equal(fast, np.stack(reference))
    print(
        f"{data.name}: neighbour finder {vectorised:,.0f} queries/s vectorised vs {plain:,.0f} queries/s per-query "
        f"Python reference: {vectorised / plain:.1f}x (results agree: {agree})"
    )


def _reference_query(per_node, node: int, timestamp: float, n_neighbors: int) -> np.ndarray:
    """The ``n_neighbors`` most recent neighbours of ``node`` strictly before ``timestamp``, left-padded with 0."""
    neighbors, times = per_node[node]
    end = np.searchsorted(times, timestamp, side="left")
    chosen = neighbors[max(0, end - n_neighbors):end]
    return np.concatenate([np.zeros(n_neighbors - len(chosen), dtype=np.int64), chosen])


# ----------------------------------------------------------------- this code against a revision


def compare_revisions(args) -> None:
    """Time this working tree and ``args.against`` alternately; compare their same-seed losses."""
    settings = {"use_memory": True, **_parse_settings(args.set)}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data, data_dir = _benchmark_data(args, scratch)
        settings.setdefault("activity_features", _current_default("activity_features"))
        base = {"data": data, "data_dir": str(Path(data_dir).resolve()), "settings": settings, "threads": args.threads}
        worktree = scratch / "against"
        _git("worktree", "add", "--detach", str(worktree), args.against)
        try:
            revisions = {"this": REPO_ROOT / "src", args.against: worktree / "src"}
            print(f"this working tree (HEAD {_git('rev-parse', '--short', 'HEAD')}) against {args.against} "
                  f"({_git('rev-parse', '--short', args.against)}); data {data}; settings {settings}")
            variants = [("the settings above", {})]
            if settings.get("drop_out") != 0:
                variants.append(("drop_out=0", {"drop_out": 0.0}))
            _report_timings(revisions, base, args, variants)
        finally:
            _git("worktree", "remove", "--force", str(worktree))


def _report_timings(revisions: dict, base: dict, args, loss_variants: list[tuple[str, dict]]) -> None:
    """Alternate the revisions' timed runs; the first run of each also records the same-seed losses of
    every ``(label, settings)`` variant."""
    rates = {name: [] for name in revisions}
    cpu_rates = {name: [] for name in revisions}
    losses = {name: {} for name in revisions}
    threads = set()
    for repeat in range(args.repeats):
        order = list(revisions) if repeat % 2 == 0 else list(revisions)[::-1]
        for name in order:
            job = {**base, "time_batches": args.batches, "threads": _threads_of(name, base, args)}
            if repeat == 0 and args.loss_batches:
                job.update(loss_batches=args.loss_batches, loss_variants=loss_variants)
            result = _run_job(revisions[name], job)
            rates[name].append(result["events_per_second"])
            cpu_rates[name].append(result["n_events"] / result["cpu_seconds"])
            losses[name].update(result.get("losses", {}))
            threads.add((name, result["threads"]))
            print(f"  repeat {repeat + 1}: {name}: {result['events_per_second']:,.0f} events/s "
                  f"({result['n_events']} events, {result['seconds']:.2f} s, {result['cpu_seconds']:.2f} CPU s)",
                  flush=True)
    print(f"torch threads {', '.join(f'{name} {count}' for name, count in sorted(threads))}, {os.cpu_count()} cores")
    _print_medians("events/s", rates["this"], rates[args.against], args.against)
    _print_medians("events per CPU second (all threads; steadier on a busy machine)", cpu_rates["this"],
                   cpu_rates[args.against], args.against)
    for label, _ in loss_variants if args.loss_batches else []:
        _report_losses(np.array(losses["this"][label]), np.array(losses[args.against][label]), label)
    _report_arithmetic(revisions, base, args, rates)


def _report_arithmetic(revisions: dict, base: dict, args, rates: dict) -> None:
    """Each revision's matrix-product GFLOP per batch, and the time they would take at this CPU's rate
    with the revision's threads, against the median time per batch measured above."""
    for name, src in revisions.items():
        threads = _threads_of(name, base, args)
        peak = _matmul_rate(threads)
        counted = _run_job(src, {**base, "time_batches": args.batches, "count_flops": True, "threads": threads})
        per_batch = counted["matmul_flops"] / counted["n_batches"]
        batch_seconds = _batch_size(base) / statistics.median(rates[name])
        print(f"{name}: {per_batch / 1e9:.2f} GFLOP of matrix products per batch; this CPU's float32 product rate "
              f"with {threads or 'default'} threads is {peak / 1e9:,.0f} GFLOP/s ({PEAK_MATMUL_SIZE}x"
              f"{PEAK_MATMUL_SIZE}), so {1e3 * per_batch / peak:.1f} ms of the {1e3 * batch_seconds:.1f} ms per batch "
              f"measured ({per_batch / batch_seconds / 1e9:,.0f} GFLOP/s)")


def _batch_size(base: dict) -> int:
    from tgnrank.train.config import TrainConfig

    return base["settings"].get("bs", TrainConfig().bs)


def _matmul_rate(threads: int | None) -> float:
    """Floating-point operations per second of a large float32 matrix product, best of five."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    left, right = torch.randn(PEAK_MATMUL_SIZE, PEAK_MATMUL_SIZE), torch.randn(PEAK_MATMUL_SIZE, PEAK_MATMUL_SIZE)
    left @ right
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        left @ right
        best = min(best, time.perf_counter() - start)
    return 2 * PEAK_MATMUL_SIZE**3 / best


def _threads_of(name: str, base: dict, args) -> int | None:
    """The torch threads of a revision's runs: ``--against_threads`` for REV when given, else ``--threads``."""
    return args.against_threads if name == args.against and args.against_threads else base["threads"]


def _print_medians(what: str, this: list, other: list, against: str) -> None:
    ratios = [mine / theirs for mine, theirs in zip(this, other)]
    print(f"median {what}: this {statistics.median(this):,.0f}, {against} {statistics.median(other):,.0f}; "
          f"median ratio {statistics.median(ratios):.2f}x (ratios {', '.join(f'{r:.2f}' for r in ratios)})")


def _report_losses(this: np.ndarray, other: np.ndarray, label: str) -> None:
    relative = np.abs(this - other) / np.maximum(np.abs(other), 1e-12)
    equal = bool(np.all(relative <= LOSS_RTOL))
    print(f"losses of the first {len(this)} batches, same seed, {label}: max relative difference "
          f"{relative.max():.2e} ({'equal' if equal else 'NOT equal'} within rtol {LOSS_RTOL:g}); "
          f"first {this[0]:.7f} vs {other[0]:.7f}, last {this[-1]:.7f} vs {other[-1]:.7f}")


def _run_job(src: Path, job: dict) -> dict:
    """Run one worker job with ``src`` first on ``PYTHONPATH``; returns its result dict."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps({**job, "expected_src": str(src)})],
        env=env, capture_output=True, text=True, check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"worker for {src} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_TAG):])


def run_worker(job: dict) -> dict:
    """One job, with whichever ``tgnrank`` is first on the path: for every loss variant, the losses of
    the first ``loss_batches`` batches of a freshly seeded run; then the events/s of training on the
    first ``time_batches`` batches (after a short warm-up). Uses only the API the revisions share."""
    import torch

    import tgnrank
    from tgnrank.train.config import TrainConfig
    from tgnrank.train.training_data import load_training_data

    loaded_from = Path(tgnrank.__file__).resolve().parents[1]
    if loaded_from != Path(job["expected_src"]).resolve():
        raise SystemExit(f"tgnrank was imported from {loaded_from}, not {job['expected_src']}")
    if job.get("threads"):
        torch.set_num_threads(job["threads"])

    def config_of(settings: dict):
        return TrainConfig(data=job["data"], data_dir=job["data_dir"], n_epoch=1, gpu=-1, **settings)

    training_data = load_training_data(config_of(job["settings"]))
    if job.get("count_flops"):
        flops, n_batches = _worker_flops(config_of(job["settings"]), training_data, job["time_batches"])
        return {"matmul_flops": flops, "n_batches": n_batches}
    losses = {
        label: _worker_losses(config_of({**job["settings"], **overrides}), training_data, job["loss_batches"])
        for label, overrides in job.get("loss_variants", [])
    }
    n_events, seconds, cpu_seconds = _worker_timing(config_of(job["settings"]), training_data, job["time_batches"])
    return {"events_per_second": n_events / seconds, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "n_events": n_events, "threads": torch.get_num_threads(), "losses": losses}


def _worker_parts(config, training_data):
    """A freshly seeded run's parts, as ``train_run`` builds them, with the training neighbour finder."""
    import torch

    from tgnrank.train.epochs import RunParts
    from tgnrank.train.training_data import set_seeds

    set_seeds(config.seed)
    parts = RunParts.build(config, training_data, torch.device("cpu"))
    parts.model.set_neighbor_finder(parts.train_finder)
    return parts


def _first_batches(events, n_batches: int, batch_size: int):
    return events.select(np.arange(min(len(events), n_batches * batch_size))) if n_batches else events


def _worker_losses(config, training_data, n_batches: int) -> list[float]:
    from tgnrank.train.records import TrainingCallbacks
    from tgnrank.train.steps import train_epoch

    class Losses(TrainingCallbacks):
        def __init__(self):
            self.values = []

        def on_batch_end(self, epoch, n_events_done, loss):
            self.values.append(loss)

    parts, recorder = _worker_parts(config, training_data), Losses()
    train_epoch(parts.model, parts.optimizer, parts.criterion,
                _first_batches(training_data.split.train, n_batches, config.bs), parts.sampler, config, 0, recorder)
    return recorder.values


def _worker_timing(config, training_data, n_batches: int) -> tuple[int, float, float]:
    """Training events, seconds and CPU seconds (all threads) of one pass over the first ``n_batches``
    batches (0 = all)."""
    from tgnrank.train.records import TrainingCallbacks
    from tgnrank.train.steps import train_epoch

    parts, train = _worker_parts(config, training_data), training_data.split.train
    # warm-up: the allocator's pools, lazy initialisation
    train_epoch(parts.model, parts.optimizer, parts.criterion, _first_batches(train, 5, config.bs), parts.sampler,
                config, 0, TrainingCallbacks())
    events = _first_batches(train, n_batches, config.bs)
    cpu_start = time.process_time()
    _, seconds = train_epoch(parts.model, parts.optimizer, parts.criterion, events, parts.sampler, config, 0,
                             TrainingCallbacks())
    return len(events), seconds, time.process_time() - cpu_start


def _worker_flops(config, training_data, n_batches: int) -> tuple[int, int]:
    """Matrix-product floating-point operations (forward and backward) of one pass over the first
    ``n_batches`` batches (0 = all), and the number of batches."""
    from torch.utils.flop_counter import FlopCounterMode

    from tgnrank.train.records import TrainingCallbacks
    from tgnrank.train.steps import train_epoch

    parts = _worker_parts(config, training_data)
    events = _first_batches(training_data.split.train, n_batches, config.bs)
    with FlopCounterMode(display=False) as counter:
        train_epoch(parts.model, parts.optimizer, parts.criterion, events, parts.sampler, config, 0,
                    TrainingCallbacks())
    return counter.get_total_flops(), math.ceil(len(events) / config.bs)


def _benchmark_data(args, scratch: Path) -> tuple[str, Path]:
    """The dataset both revisions read: ``--data`` in ``--data_dir``, or the default synthetic data
    generated into ``scratch``."""
    if args.data:
        return args.data, Path(args.data_dir)
    from tgnrank.data import save_dataset
    from tgnrank.data.synthetic import generate_synthetic

    save_dataset(generate_synthetic(seed=0, name="synthetic"), scratch / "data")
    return "synthetic", scratch / "data"


def _current_default(name: str):
    from tgnrank.train.config import TrainConfig

    return getattr(TrainConfig(), name)


def _parse_settings(pairs: list[str]) -> dict:
    """``["drop_out=0", "use_memory=false"]`` -> ``{"drop_out": 0.0, "use_memory": False}`` (JSON values)."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes FLAG=VALUE, got {pair!r}")
        lowered = value.lower()
        settings[name] = json.loads(lowered) if lowered in ("true", "false") else _number_or_text(value)
    return settings


def _number_or_text(value: str):
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _git(*arguments: str) -> str:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *arguments], check=True, capture_output=True,
                          text=True).stdout.strip()


if __name__ == "__main__":
    main()
