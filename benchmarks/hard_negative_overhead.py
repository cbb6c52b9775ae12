"""Training epoch time with hard negatives (ratio 0.5) against random negatives, measured in one run.

Two identically initialised models train on the same training split, one with random negatives and
one with hard negatives. Printed, all from this one run:

* the one-off precomputation of the hard sampler (top-k similarity and link index);
* the per-batch cost of the samplers alone, which bounds the overhead whatever the timing noise;
* an interleaved epoch: the two models take their training steps in turn, batch by batch (the order
  alternating), each step timed, so that changes in the machine's load hit both alike; the ratio
  of the two summed times is the most robust figure on a shared machine;
* whole epochs with ``train_epoch`` (TGN's ``epoch_times``), alternating R H H R ..., and the ratio
  of the medians (the issue's target: at most 1.05).

    python benchmarks/hard_negative_overhead.py                      # default synthetic data, --use_memory
    python benchmarks/hard_negative_overhead.py --n_repeats 4 --gpu 0 --data crunchbase
    python benchmarks/hard_negative_overhead.py --threads 1   # on a busy shared CPU: no thread oversubscription
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from dataclasses import replace

from tgnrank.openmp import apply_wait_policy

apply_wait_policy()  # the product's OpenMP wait policy, set (as the CLI does) before torch loads OpenMP

import torch  # noqa: E402

from tgnrank.data.activity import similarity_features
from tgnrank.sampling.negatives import create_negative_sampler
from tgnrank.train.config import TrainConfig
from tgnrank.train.device import select_device
from tgnrank.train.records import TrainingCallbacks
from tgnrank.train.steps import train_epoch
from tgnrank.train.training_data import load_training_data, set_seeds
from tgnrank.train.losses import make_pair_loss
from tgnrank.train.model_setup import build_neighbor_finder, build_training_model

SAMPLING_REPEATS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--n_repeats", type=int, default=2, help="whole epochs per sampler (default: 2)")
    parser.add_argument("--hard_neg_ratio", type=float, default=0.5)
    parser.add_argument("--hard_neg_temperature", type=float, default=0.1)
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--no_memory", action="store_true", help="train without --use_memory")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)

    random_config = TrainConfig(data=args.data, data_dir=args.data_dir, use_memory=not args.no_memory, gpu=args.gpu)
    hard_config = replace(random_config, use_hard_negatives=True, hard_neg_ratio=args.hard_neg_ratio,
                          hard_neg_temperature=args.hard_neg_temperature)
    device = select_device(args.gpu)
    training_data = load_training_data(random_config)
    train = training_data.split.train
    print(f"device: {device} ({torch.get_num_threads()} CPU threads); data '{args.data}': {len(train):,} training events, batch {random_config.bs}, "
          f"{'memory' if random_config.use_memory else 'no memory'}, n_neg {random_config.n_neg}")

    samplers = {}
    for label, config in (("random", random_config), ("hard", hard_config)):
        start = time.perf_counter()
        samplers[label] = make_sampler(config, training_data, device)
        if label == "hard":
            print(f"one-off precomputation of the hard sampler (top-{config.hard_neg_topk} similarity, link index): "
                  f"{time.perf_counter() - start:.3f} s")

    report_sampling_cost(samplers, train, random_config)
    configs = {"random": random_config, "hard": hard_config}
    interleaved = time_interleaved_epoch(samplers, configs, training_data, device)
    print(f"interleaved epoch: random {interleaved['random']:.2f} s, hard {interleaved['hard']:.2f} s; "
          f"ratio hard / random {interleaved['hard'] / interleaved['random']:.3f}")
    times = time_epochs(samplers, configs, training_data, device, args.n_repeats)
    for label in ("random", "hard"):
        print(f"{label:>6} epochs: " + ", ".join(f"{seconds:.2f} s" for seconds in times[label]))
    hard, random = statistics.median(times["hard"]), statistics.median(times["random"])
    print(f"epoch time ratio hard ({args.hard_neg_ratio:g}) / random, medians: {hard / random:.3f} "
          f"({hard:.2f} s / {random:.2f} s); totals: {sum(times['hard']) / sum(times['random']):.3f}")
    stats = samplers["hard"].stats()
    print(f"hard sampler, last epoch: {stats['share_hard']:.3f} of negatives hard, mean similarity "
          f"{stats['mean_similarity']:.3f} to the true investor, {stats['n_fallback']} fallbacks")


def make_sampler(config: TrainConfig, training_data, device):
    return create_negative_sampler(
        use_hard_negatives=config.use_hard_negatives,
        hard_neg_ratio=config.hard_neg_ratio,
        hard_neg_temperature=config.hard_neg_temperature,
        hard_neg_topk=config.hard_neg_topk,
        node_features=similarity_features(training_data.data, training_data.split.train),
        train=training_data.split.train,
        seed=config.seed,
        device=str(device),
    )


def report_sampling_cost(samplers: dict, train, config: TrainConfig) -> None:
    """Mean wall time of ``sample`` per training batch, as the training loop calls it."""
    starts = range(0, len(train), config.bs)
    per_batch = {}
    for label, sampler in samplers.items():
        start = time.perf_counter()
        for _ in range(SAMPLING_REPEATS):
            for first in starts:
                sampler.sample(train.sources[first:first + config.bs], train.destinations[first:first + config.bs],
                               n_neg=config.n_neg)
        per_batch[label] = (time.perf_counter() - start) / (SAMPLING_REPEATS * len(starts))
        sampler.reset_stats()
        sampler.reset_rng(config.seed)
    extra = per_batch["hard"] - per_batch["random"]
    print(f"sampling per batch of {config.bs}: random {1e6 * per_batch['random']:.0f} us, hard "
          f"{1e6 * per_batch['hard']:.0f} us; extra per epoch ({len(starts)} batches): {extra * len(starts):.3f} s")


def time_epochs(samplers: dict, configs: dict, training_data, device, n_repeats: int) -> dict[str, list[float]]:
    """Training time of ``n_repeats`` epochs per sampler, interleaved R H H R ..."""
    setups = {label: training_setup(configs[label], training_data, device) for label in samplers}
    times = {label: [] for label in samplers}
    for repeat in range(n_repeats):
        order = ("random", "hard") if repeat % 2 == 0 else ("hard", "random")
        for label in order:
            model, optimizer, criterion, finder = setups[label]
            model.set_neighbor_finder(finder)
            _, seconds = train_epoch(model, optimizer, criterion, training_data.split.train, samplers[label],
                                     configs[label], repeat, TrainingCallbacks())
            times[label].append(seconds)
    return times


def time_interleaved_epoch(samplers: dict, configs: dict, training_data, device) -> dict[str, float]:
    """Seconds of one epoch per sampler, the two models stepping in turn batch by batch.

    Each step is ``train_epoch``'s with ``backprop_every = 1``: sample, score, loss, backward, optimiser
    step, detach the memory.
    """
    setups = {label: training_setup(configs[label], training_data, device) for label in samplers}
    train, batch_size = training_data.split.train, configs["random"].bs
    seconds = {label: 0.0 for label in samplers}
    for label, (model, _, _, finder) in setups.items():
        model.set_neighbor_finder(finder)
        model.train()
        if configs[label].use_memory:
            model.reset_memory()
        samplers[label].reset_stats()
    for batch, first in enumerate(range(0, len(train), batch_size)):
        chunk = slice(first, first + batch_size)
        for label in (("random", "hard") if batch % 2 == 0 else ("hard", "random")):
            start = time.perf_counter()
            training_step(setups[label], samplers[label], configs[label], train, chunk, device)
            seconds[label] += time.perf_counter() - start
    return seconds


def training_step(setup, sampler, config: TrainConfig, train, chunk: slice, device) -> None:
    model, optimizer, criterion, _ = setup
    optimizer.zero_grad()
    sources, destinations = train.sources[chunk], train.destinations[chunk]
    negatives = sampler.sample(sources, destinations, n_neg=config.n_neg)
    positive_logits, negative_logits = model.compute_edge_logits(
        sources, destinations, negatives, train.timestamps[chunk], train.edge_idxs[chunk], config.n_degree
    )
    criterion(positive_logits, negative_logits).backward()
    optimizer.step()
    if config.use_memory:
        model.detach_memory()
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_setup(config: TrainConfig, training_data, device):
    """A model initialised from ``config.seed`` (identical for both samplers), its optimiser, loss and finder."""
    set_seeds(config.seed)
    finder = build_neighbor_finder(training_data.split.train, training_data.data.n_nodes, config)
    model = build_training_model(config, training_data.data, finder, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    return model, optimizer, make_pair_loss(config.loss, config.focal_alpha, config.focal_gamma, config.softmax_temperature), finder


if __name__ == "__main__":
    main()
