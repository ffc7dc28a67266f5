"""The process helper every caller starts the emulator with: a free port, readiness, a restart on
the same port after a stop or a SIGKILL, and a start failure that carries the log."""

from __future__ import annotations

import pytest
import singlestoredb

from s2emulator.process import EmulatorProcess, EmulatorStartError


def answers(emulator: EmulatorProcess) -> bool:
    connection = singlestoredb.connect(
        host=emulator.host, port=emulator.port, user="s2kit", password="s2kit"
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@memsql_version")
            return bool(cursor.fetchone()[0])
    finally:
        connection.close()


def test_start_kill_and_restart_on_the_same_port(s2emu: EmulatorProcess) -> None:
    with EmulatorProcess(s2emu.backend) as emulator:
        port = emulator.port
        assert port and port != s2emu.port
        assert answers(emulator)
        emulator.kill()
        assert not emulator.running
        with pytest.raises(singlestoredb.Error):
            answers(emulator)
        emulator.start()
        assert emulator.port == port and answers(emulator)
        emulator.restart()
        assert emulator.port == port and answers(emulator)
        log = emulator.log_path
    assert not emulator.running and not log.exists()


def test_start_failure_carries_the_log(s2emu: EmulatorProcess) -> None:
    unreachable = EmulatorProcess("mysql://s2kit:s2kit@127.0.0.1:1")
    with pytest.raises(EmulatorStartError, match="cannot start the emulator"):
        unreachable.start()
    assert not unreachable.running
    unreachable.close()
    taken = EmulatorProcess(s2emu.backend, port=s2emu.port)  # the session's emulator has it
    with pytest.raises(EmulatorStartError, match="in use"):
        taken.start(timeout=5.0)
    taken.close()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_event_loop_is_chosen_and_named(s2emu: EmulatorProcess, loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop is not installed here")
    with EmulatorProcess(s2emu.backend, ["--loop", loop]) as emulator:
        assert f"; loop {loop})" in emulator.log()
        assert answers(emulator)
