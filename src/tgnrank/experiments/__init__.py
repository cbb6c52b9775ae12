"""Experiments built on training and evaluation: the guide's four-way comparison and its report.

* ``presets``: the guide's configurations and ``CompareSettings``;
* ``state``: what is finished (``compare-state.json``), for resuming;
* ``compare``: ``run_comparison``, training and diagnosing every (configuration, seed);
* ``results``: the typed results (``ComparisonResults``), stored as ``compare.json``;
* ``report`` and ``figures``: the text table, ``report.md``, ``report.html`` and the plots.
"""
