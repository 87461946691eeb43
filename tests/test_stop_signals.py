"""Stop signals in the servers: SIGTERM and SIGINT become `Stop`, at once or, while the
gate is shut (an event loop being built), when it opens."""

from __future__ import annotations

import signal

import pytest

from tracker.cli.server import Stop, stop_on_signals


def test_a_signal_raises_stop_at_once_by_default() -> None:
    with pytest.raises(Stop) as stopped, stop_on_signals():
        signal.raise_signal(signal.SIGTERM)
    assert stopped.value.args == (signal.SIGTERM,)


def test_a_signal_waits_while_the_gate_is_shut_and_stops_when_it_opens() -> None:
    reached: list[str] = []
    with pytest.raises(Stop) as stopped, stop_on_signals(shut=True) as gate:
        signal.raise_signal(signal.SIGINT)
        reached.append("after the signal")  # not cut short: the gate is shut
        with gate.opened():
            reached.append("inside the open gate")
    assert reached == ["after the signal"]
    assert stopped.value.args == (signal.SIGINT,)


def test_a_signal_while_open_stops_at_once_and_one_after_stops_at_the_end() -> None:
    with pytest.raises(Stop), stop_on_signals(shut=True) as gate, gate.opened():
        signal.raise_signal(signal.SIGTERM)
        pytest.fail("the open gate let the signal wait")
    late: list[str] = []
    with pytest.raises(Stop) as stopped, stop_on_signals(shut=True) as gate:
        with gate.opened():
            late.append("served")
        signal.raise_signal(signal.SIGTERM)  # the event loop tearing down
        late.append("torn down")
    assert late == ["served", "torn down"]
    assert stopped.value.args == (signal.SIGTERM,)


def test_the_previous_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(shut=True):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
