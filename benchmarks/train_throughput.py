"""Training throughput on synthetic data at two sizes, and the neighbour finder against a plain loop.

Prints, per dataset size: training events/s and training time per epoch (as TGN's ``epoch_times``),
and the whole epoch with validation; then the temporal neighbour finder's queries/s, vectorised over
batches of 200 as training calls it, against a per-query Python reference (TGN's approach: one
``searchsorted`` per node), as a ratio measured in this run.

    python benchmarks/train_throughput.py                 # default flags + --use_memory, 1 epoch
    python benchmarks/train_throughput.py --n_epoch 2 --sizes 2000x600 8000x2500 --gpu 0
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
from tgnrank.openmp import apply_wait_policy

apply_wait_policy()  # the product's OpenMP wait policy, set (as the CLI does) before torch loads OpenMP

import torch  # noqa: E402

from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.sampling.neighbors import NeighborFinder
from tgnrank.train.config import TrainConfig
from tgnrank.train.device import select_device
from tgnrank.train.runs import train_run
from tgnrank.train.training_data import load_training_data
from tgnrank.train.outputs import RunPaths

DEFAULT_SIZES = ("2000x600", "8000x2500")  # companies x investors; the second is the default synthetic data
REFERENCE_QUERIES = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="COMPANIESxINVESTORS, e.g. 2000x600")
    parser.add_argument("--n_epoch", type=int, default=1)
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--no_memory", action="store_true", help="train without --use_memory")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
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


def report_training(config: TrainConfig, training_data, device, workdir: Path) -> None:
    result = train_run(config, training_data, device, RunPaths("bench", config.data, root=workdir))
    n_train = len(training_data.split.train)
    for record in result.history:
        print(
            f"{config.data}: {n_train} training events, epoch {record.epoch}: "
            f"train {record.epoch_time:.2f} s ({record.events_per_second:,.0f} events/s), "
            f"with validation {record.total_epoch_time:.2f} s, val AP {record.val_ap:.4f}"
        )


def report_neighbor_finder(training_data, n_neighbors: int, batch_size: int = 200) -> None:
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


if __name__ == "__main__":
    main()
