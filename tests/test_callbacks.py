"""Every training hook reaches every callback: the list forwards each one, the CLI's bar answers each one."""

import inspect

from tgnrank.cli.train import ProgressBar
from tgnrank.train.records import TrainingCallbacks
from tgnrank.train.tracking import CallbackList

HOOKS = sorted(name for name, _ in inspect.getmembers(TrainingCallbacks, inspect.isfunction) if name.startswith("on_"))


class _Recorder(TrainingCallbacks):
    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda *args: object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)


def test_the_callback_list_forwards_every_hook_to_each_callback():
    first, second = _Recorder(), _Recorder()
    callbacks = CallbackList([first, second])
    for hook in HOOKS:
        arity = len(inspect.signature(getattr(TrainingCallbacks, hook)).parameters) - 1
        getattr(callbacks, hook)(*([None] * arity))
    assert "on_run_resumed" in HOOKS
    assert first.calls == second.calls == HOOKS


def test_the_progress_bar_answers_every_hook():
    assert all(callable(getattr(ProgressBar, hook, None)) for hook in HOOKS)


def test_a_resumed_run_shows_its_last_validation_in_the_bar():
    class Record:
        val_mrr, val_recall_at_1000 = 0.125, 0.5

    bar = ProgressBar()
    bar.on_run_resumed([Record()])
    assert bar.previous == " (last: val MRR 0.1250, R@1000 0.5000)"
