"""Scale: a million-event synthetic dataset through one training epoch and the test window's diagnostic.

Three stages, each in its own process so that each peak RSS belongs to that stage alone:

* ``generate``: the synthetic generator (``tgnrank generate``'s API) with the default dataset's ratio of
  companies to investors, sized for about ``--events`` events (the generator draws about 4.8 events per
  company), written in the ``ml_`` format;
* ``train``: one epoch with the default flags and ``--use_memory`` (as ``train_self_supervised.py``: the
  epoch, its validation, the test, the final checkpoint); epoch time, events/s, the checkpoint's size
  and what takes its space (stored, and what the dense memory state would take);
* ``diagnose``: the test window's diagnostic from that checkpoint (the history replayed through the
  memory, then every candidate pair ranked, streamed); its time, the candidate pairs and pairs/s,
  and the RSS after the first, the middle and the last ranked block (flat memory: the same).

Prints one JSON object with every figure (also written to ``--json``); each stage logs to
``scale-{stage}.log`` in the working folder (training every tenth of the epoch)::

    python benchmarks/scale.py                                   # 1,000,000 events
    python benchmarks/scale.py --events 20000 --workdir /tmp/scale --threads 2
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENTS_PER_COMPANY = 4.8  # measured: the generator draws ~4.86 events per company at 8,000 and 200,000 companies
INVESTORS_PER_COMPANY = 2500 / 8000  # the default synthetic dataset's ratio
NAME = "scale"
PREFIX = "scale"
STAGES = ("generate", "train", "diagnose")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.stage:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        figures = {"generate": stage_generate, "train": stage_train, "diagnose": stage_diagnose}[args.stage](args)
        print(json.dumps({"peak_rss_mb": peak_rss_mb(), **figures}))
        return figures
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.workdir) if args.workdir else Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        report = {"events_requested": args.events, "threads": args.threads, "workdir": str(workdir)}
        for stage in STAGES:
            report[stage] = run_stage(stage, args, workdir)
            print(f"{stage}: {json.dumps(report[stage])}", file=sys.stderr, flush=True)
        report["peak_rss_mb"] = max(report[stage]["peak_rss_mb"] for stage in STAGES)
        report["summary"] = summary(report)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many events (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default %(default)s)")
    parser.add_argument("--workdir", default=None,
                        help="folder for the data, checkpoints and logs, kept afterwards (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--gpu", type=int, default=-1, help="CUDA device for training and scoring (default: -1, CPU)")
    parser.add_argument("--baselines", default="popularity",
                        help="comma-separated diagnostic baselines ranked beside the model, or 'none' (default %(default)s)")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    parser.add_argument("--stage", choices=STAGES, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 1000:
        parser.error(f"--events must be an integer >= 1000 (enough for three chronological windows), got {args.events}")
    return args


def run_stage(stage: str, args: argparse.Namespace, workdir: Path) -> dict:
    """Run one stage in a fresh Python process; its figures come back as the last line of its output."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--workdir", str(workdir),
               "--events", str(args.events), "--seed", str(args.seed), "--gpu", str(args.gpu),
               "--baselines", args.baselines]
    if args.threads:
        command += ["--threads", str(args.threads)]
    log_path = workdir / f"scale-{stage}.log"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"stage {stage} failed (exit {completed.returncode}); its log, {log_path}, ends:\n"
                           f"{log_path.read_text()[-4000:]}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return {**figures, "process_seconds": round(time.perf_counter() - started, 2)}


# ---- stages (each in its own process) ------------------------------------------------------------------------


def stage_generate(args: argparse.Namespace) -> dict:
    from tgnrank.data import save_dataset
    from tgnrank.data.synthetic import generate_synthetic

    n_companies = max(1, math.ceil(args.events / EVENTS_PER_COMPANY))
    n_investors = max(1, round(n_companies * INVESTORS_PER_COMPANY))
    started = time.perf_counter()
    data = generate_synthetic(n_companies=n_companies, n_investors=n_investors, seed=args.seed, name=NAME)
    seconds = time.perf_counter() - started
    save_dataset(data, Path(args.workdir) / "data")
    return {"seconds": round(seconds, 2), "n_events": int(data.n_events), "n_companies": n_companies,
            "n_investors": n_investors, "n_nodes": int(data.n_nodes),
            "node_feature_dim": int(data.node_features.shape[1]), "edge_feature_dim": int(data.edge_features.shape[1])}


def stage_train(args: argparse.Namespace) -> dict:
    torch = _torch(args)
    from tgnrank.train.checkpoint import load_checkpoint
    from tgnrank.train.checkpoint_state import state_bytes
    from tgnrank.train.config import TrainConfig
    from tgnrank.train.device import select_device
    from tgnrank.train.outputs import RunPaths
    from tgnrank.train.runs import train_run
    from tgnrank.train.training_data import load_training_data

    workdir = Path(args.workdir)
    config = TrainConfig(data=NAME, data_dir=str(workdir / "data"), use_memory=True, n_epoch=1, patience=2,
                         gpu=args.gpu, prefix=PREFIX)
    started = time.perf_counter()
    training_data = load_training_data(config)
    load_seconds = time.perf_counter() - started
    result = train_run(config, training_data, select_device(args.gpu), RunPaths(PREFIX, NAME, root=workdir),
                       callbacks=_progress_log())
    record = result.history[0]
    path = Path(result.model_path)
    stored = torch.load(path, weights_only=True)
    dense = load_checkpoint(path)
    return {
        "load_seconds": round(load_seconds, 2),
        "n_train_events": len(training_data.split.train),
        "epoch_seconds": round(record.epoch_time, 2),
        "events_per_second": round(record.events_per_second, 1),
        "epoch_with_validation_seconds": round(record.total_epoch_time, 2),
        "val_rank_seconds": round(record.val_rank_seconds, 2),
        "run_seconds": round(time.perf_counter() - started, 2),
        "val_ap": round(record.val_ap, 4),
        "test_ap": round(result.test_ap, 4),
        "checkpoint": str(path),
        "checkpoint_mb": round(path.stat().st_size / 1e6, 2),
        "checkpoint_parts_mb": _megabytes({"model_state": state_bytes({"w": stored["model_state"]})["w"],
                                           **state_bytes(stored["memory_state"])}),
        "dense_memory_state_parts_mb": _megabytes(state_bytes(dense["memory_state"])),
    }


def stage_diagnose(args: argparse.Namespace) -> dict:
    _torch(args)
    from tgnrank.data import open_dataset
    from tgnrank.eval.diagnostic import DiagnosticOptions, run_diagnostic
    from tgnrank.eval.protocol import build_window
    from tgnrank.eval.scoring import model_scorer_from_checkpoint
    from tgnrank.train.checkpoint import load_checkpoint, stored_config
    from tgnrank.train.device import select_device

    workdir = Path(args.workdir)
    started = time.perf_counter()
    checkpoint = load_checkpoint(workdir / "saved_models" / f"{PREFIX}-{NAME}.pth")
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    config = stored_config(checkpoint)
    data = open_dataset(NAME, workdir / "data")
    candidates = build_window(data.events, "test", config.train_quantile, config.val_quantile)
    window_seconds = time.perf_counter() - started
    scorer, _ = model_scorer_from_checkpoint(checkpoint, data, candidates, select_device(args.gpu))
    replay_seconds = time.perf_counter() - started - window_seconds
    rss_before_ranking = peak_rss_mb()
    baselines = () if args.baselines == "none" else tuple(args.baselines.split(","))
    watch = RssWatch()
    result = run_diagnostic(data, candidates, scorer, "tgn", DiagnosticOptions(baselines=baselines), watch)
    model = result["scorers"]["tgn"]
    seconds = load_seconds + time.perf_counter() - started
    peak = peak_rss_mb()  # the diagnostic's, before the compaction is timed
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": peak,
        "checkpoint_load_seconds": round(load_seconds, 2),
        "checkpoint_compaction_seconds": _time_compaction(checkpoint),
        "window_seconds": round(window_seconds, 2),
        "replay_seconds": round(replay_seconds, 2),
        "n_history_events": len(candidates.history),
        "n_candidate_companies": candidates.n_companies,
        "n_candidate_investors": candidates.n_investors,
        "n_candidates": int(candidates.n_candidates),
        "n_positives": int(candidates.n_positives),
        "model_rank_seconds": round(model["seconds"], 2),
        "candidate_pairs_per_second": round(candidates.n_candidates / model["seconds"]),
        "baseline_rank_seconds": {name: round(result["scorers"][name]["seconds"], 2) for name in baselines},
        "peak_rss_mb_before_ranking": rss_before_ranking,
        "rss_mb_during_model_ranking": watch.figures("tgn"),
        "recall@1000": model["metrics"]["recall@1000"],
        "mrr": model["metrics"]["mrr"],
        "best_baseline": result["best_baseline"],
    }


# ---- helpers ------------------------------------------------------------------------------------------------


def summary(report: dict) -> dict:
    """The headline figures of issue 11's scale item."""
    train, diagnose = report["train"], report["diagnose"]
    return {
        "n_events": report["generate"]["n_events"],
        "n_nodes": report["generate"]["n_nodes"],
        "epoch_seconds": train["epoch_seconds"],
        "events_per_second": train["events_per_second"],
        "peak_rss_mb": report["peak_rss_mb"],
        "diagnostic_seconds": diagnose["seconds"],
        "n_candidate_pairs": diagnose["n_candidates"],
        "candidate_pairs_per_second": diagnose["candidate_pairs_per_second"],
        "ranking_rss_mb_first_block_to_last": [diagnose["rss_mb_during_model_ranking"]["first_block"],
                                                diagnose["rss_mb_during_model_ranking"]["last_block"]],
        "checkpoint_mb": train["checkpoint_mb"],
        "dense_checkpoint_memory_state_mb": round(sum(train["dense_memory_state_parts_mb"].values()), 2),
    }


class RssWatch:
    """The diagnostic's progress callback: the resident set size after each ranked block, per scorer,
    to show that ranking more candidates does not take more memory."""

    def __init__(self):
        self.samples: dict[str, list[tuple[int, float]]] = {}

    def __call__(self, scorer: str, done: int, total: int) -> None:
        self.samples.setdefault(scorer, []).append((done, current_rss_mb()))

    def figures(self, scorer: str) -> dict:
        """RSS (MB) after the first block, after the block that reaches half the rows, after the last, and the max."""
        samples = self.samples.get(scorer) or [(0, current_rss_mb())]
        total = samples[-1][0]
        half = next(rss for done, rss in samples if 2 * done >= total)
        return {"first_block": samples[0][1], "half": half, "last_block": samples[-1][1],
                "max": max(rss for _, rss in samples), "blocks": len(samples)}


def current_rss_mb() -> float:
    """This process's resident set size now, in MB (from /proc; the peak where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return peak_rss_mb()
    return round(pages * resource.getpagesize() / 1e6, 1)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6, 1)


def _time_compaction(checkpoint: dict) -> float | None:
    """Seconds to encode the checkpoint's memory state compactly (what each checkpoint write adds)."""
    from tgnrank.train.checkpoint import compact_checkpoint

    started = time.perf_counter()
    compact = compact_checkpoint(checkpoint)
    if compact is checkpoint:
        return None
    return round(time.perf_counter() - started, 2)


def _progress_log():
    """Training callbacks that log every tenth of an epoch (the stage's log shows how far a long run is)."""
    from tgnrank.train.records import TrainingCallbacks

    class ProgressLog(TrainingCallbacks):
        def on_epoch_start(self, epoch: int, n_events: int) -> None:
            self.n_events, self.next_share, self.started = max(1, n_events), 0.1, time.perf_counter()

        def on_batch_end(self, epoch: int, n_events_done: int, loss: float) -> None:
            if n_events_done >= self.next_share * self.n_events:
                logging.info("epoch %d: %d of %d events after %.0f s", epoch, n_events_done, self.n_events,
                             time.perf_counter() - self.started)
                self.next_share += 0.1

    return ProgressLog()


def _megabytes(parts: dict) -> dict:
    return {key: round(value / 1e6, 3) for key, value in parts.items() if value}


def _torch(args: argparse.Namespace):
    from tgnrank.openmp import apply_wait_policy

    apply_wait_policy()  # as the CLI does, before torch loads OpenMP
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    return torch


if __name__ == "__main__":
    main()
