"""stage_bars: one tqdm bar per stage of a progress(stage, done, total) callback."""

from tgnrank.stage_bars import StageBars


def test_a_bar_per_stage_labelled_and_closed_when_the_stage_changes_or_completes(capsys):
    bars = StageBars(lambda stage: f"ranking with {stage}", unit="company")
    bars("ppr", 0, 4)
    first = bars.bar
    assert (first.desc, first.unit, first.total) == ("ranking with ppr", "company", 4)
    bars("ppr", 3, 4)
    assert bars.bar is first and first.n == 3
    bars("adamic_adar", 0, 2)
    assert bars.bar is not first and first.disable  # a closed bar is disabled
    bars("adamic_adar", 2, 2)
    assert bars.bar is None and bars.stage is None
    assert "ranking with ppr" in capsys.readouterr().err


def test_without_close_when_done_a_finished_bar_stays_until_the_block_ends():
    with StageBars(close_when_done=False) as bars:
        bars("run 0 epoch 0", 5, 5)
        finished = bars.bar
        assert finished is not None and finished.n == 5
    assert bars.bar is None and finished.disable
