"""Self-test of hard negative mining on a dataset's training split.

Prints (a) example positives with random and hard negatives side by side, by name, with their cosine
similarity to the true investor; (b) the mean and median similarity of random negatives and of hard
negatives at several temperatures; (c) PASS/FAIL checks. Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse

from tgnrank.errors import ConfigError
from tgnrank.train.config import TrainConfig

HELP = "show hard negatives beside random ones and check the hard negative sampler (exit 1 on FAIL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="synthetic", help="dataset name: data/ml_{data}.* (default: synthetic)")
    parser.add_argument("--data_dir", default="data", help="folder holding the ml_ files (default: data)")
    parser.add_argument("--n_examples", type=int, default=5, help="example positives to show (default: 5)")
    parser.add_argument("--n_positives", type=int, default=2000,
                        help="training positives used for the similarity table and checks (default: 2000)")
    d = TrainConfig()  # the training defaults of the hard negatives
    parser.add_argument("--hard_neg_topk", type=int, default=d.hard_neg_topk,
                        help="similar investors kept per investor (default: %(default)s)")
    parser.add_argument("--hard_neg_ratio", type=float, default=d.hard_neg_ratio,
                        help="share of hard negatives for the ratio check (default: %(default)s)")
    parser.add_argument("--hard_neg_temperature", type=float, default=d.hard_neg_temperature,
                        help="softmax temperature of the examples and the hard-vs-random check "
                             "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def run(args: argparse.Namespace) -> int:
    from tgnrank.data import chronological_split, open_dataset
    from tgnrank.data.activity import similarity_features
    from tgnrank.data.arrays import distinct
    from tgnrank.sampling.negatives import validate_hard_negative_params
    from tgnrank.sampling.self_test import (
        EXAMPLE_NEGATIVES, NEGATIVES_PER_POSITIVE, TABLE_TEMPERATURES, TOLERANCE_SDS, SelfTest, summary_table,
    )
    from tgnrank.sampling.similarity import InvestorSimilarity

    _validate_args(args)
    validate_hard_negative_params(args.hard_neg_ratio, args.hard_neg_temperature, args.hard_neg_topk)
    data = open_dataset(args.data, args.data_dir)
    train = chronological_split(data.events).train
    if len(train) == 0:
        raise ConfigError(f"--data {args.data}: the training split holds no events to take positives from")
    vectors = similarity_features(data, train)  # as training compares investors
    similarity = InvestorSimilarity.compute(vectors, distinct(train.destinations), args.hard_neg_topk)
    test = SelfTest(data.node_names, train, vectors, similarity, args.seed)

    print(f"Hard negative mining self-test on '{data.name}': {len(similarity.pool):,} candidate investors, "
          f"{len(train):,} training events, top-{similarity.topk} similar investors per investor.")
    print()
    print(f"(a) Examples: {EXAMPLE_NEGATIVES} random and {EXAMPLE_NEGATIVES} hard negatives "
          f"(T={args.hard_neg_temperature:g}), cosine similarity to the true investor")
    print()
    for line in test.example_lines(args.n_examples, args.hard_neg_temperature):
        print(line)
    positives = test.choose_positives(args.n_positives)
    summaries = test.similarity_summaries(positives, TABLE_TEMPERATURES)
    print(f"(b) Similarity to the true investor over {len(positives):,} training positives "
          f"x {NEGATIVES_PER_POSITIVE} negatives")
    print()
    for line in summary_table(summaries):
        print(line)
    print()
    checks = test.checks(positives, summaries, args.hard_neg_temperature, args.hard_neg_ratio)
    print(f"(c) Checks (tolerances: {TOLERANCE_SDS:g} standard errors)")
    print()
    for check in checks:
        print(f"  {'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    n_failed = sum(not check.passed for check in checks)
    print()
    print("All checks passed." if n_failed == 0 else f"{n_failed} check(s) FAILED.")
    return 0 if n_failed == 0 else 1


def _validate_args(args: argparse.Namespace) -> None:
    if args.n_examples < 0:
        raise ConfigError(f"--n_examples must be >= 0, got {args.n_examples}")
    if args.n_positives < 1:
        raise ConfigError(f"--n_positives must be >= 1, got {args.n_positives}")
