"""Widget notebooks under the standard headless executor (nbclient: nbconvert, papermill, Jupyter Book).

The stall these tests guard against (jupyter/nbclient#312): while nbclient waits on the shell
channel for a cell's ``execute_reply``, its stand-in for the Output widget sent a ``comm_msg`` on
that same channel for every output captured by ``with output_widget:``. jupyter_client sends it
raw on a sync shadow of the asyncio socket, which drains the socket's edge-triggered wake-up,
so a reply that had just arrived stayed unread until the cell's timeout (forever by default).
``course_utils.widgets.live`` therefore publishes its outputs as widget state instead of
capturing them; see ``_Live``.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "widget_executors.ipynb"
ROUNDS = 10          # each widget cell of the fixture runs this many times, in one kernel
CELL_TIMEOUT_S = 20  # a widget cell needs well under a second; a lost wake-up waits all of it


def _repeated_widget_notebook(rounds: int) -> nbformat.NotebookNode:
    """The fixture with its widget cells (every code cell after the first) repeated ``rounds`` times."""
    nb = nbformat.read(FIXTURE, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup, widget_cells = code[0], code[1:]
    nb.cells = [setup] + [copy.deepcopy(c) for _ in range(rounds) for c in widget_cells]
    return nb


def _execute_watched(nb: nbformat.NotebookNode, timeout: int):
    """Run ``nb`` with nbconvert's ExecutePreprocessor; return it with what the shell channel saw.

    Recorded: the type of every message the client sent on the shell channel, and every wait for
    a shell message that lasted its whole timeout yet found a message (a lost wake-up: the reply
    was there, nothing woke the poll).
    """
    from jupyter_core.utils import run_sync
    from nbconvert.preprocessors import ExecutePreprocessor

    sent: list[str] = []
    lost_wakeups: list[str] = []

    class Watched(ExecutePreprocessor):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            channel = kc.shell_channel
            get_msg, send = channel.get_msg, channel.send

            async def watched_get_msg(timeout=None):
                start = time.monotonic()
                msg = await get_msg(timeout=timeout)
                if timeout and time.monotonic() - start >= 0.99 * timeout:
                    lost_wakeups.append(msg["msg_type"])
                return msg

            def watched_send(msg):
                sent.append(msg["header"]["msg_type"])
                return send(msg)

            channel.get_msg, channel.send = watched_get_msg, watched_send
            return kc

        # preprocess() starts the client through the sync twin, bound to the base class
        start_new_kernel_client = run_sync(async_start_new_kernel_client)

    executor = Watched(timeout=timeout, kernel_name="python3")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as for a student
        nb, _ = executor.preprocess(nb, {"metadata": {"path": str(FIXTURE.parent)}})
    return nb, sent, lost_wakeups


@pytest.fixture(scope="module")
def repeated_run():
    """The fixture's widget cells, ROUNDS times each, executed once for all tests here."""
    return _execute_watched(_repeated_widget_notebook(ROUNDS), CELL_TIMEOUT_S)


def test_widget_cells_send_nothing_back_on_the_shell_channel(repeated_run):
    """The cause: the executor must have nothing to send while it waits for a reply."""
    _, sent, _ = repeated_run
    assert sent.count("execute_request") == 1 + ROUNDS * 5
    assert set(sent) <= {"kernel_info_request", "execute_request"}, (
        f"the executor sent {sorted(set(sent) - {'kernel_info_request', 'execute_request'})} "
        "on the shell channel: live() outputs are being captured by an Output widget again")


def test_no_shell_reply_waits_out_its_timeout(repeated_run):
    """The symptom: every execute_reply wakes its poll (none is found only at the timeout)."""
    _, _, lost_wakeups = repeated_run
    assert lost_wakeups == [], (
        f"{len(lost_wakeups)} shell message(s) were picked up only when the "
        f"{CELL_TIMEOUT_S} s poll timed out (lost wake-up, jupyter/nbclient#312)")


def test_widgets_show_their_last_figure_in_the_executed_notebook(repeated_run):
    """Each widget's output (its figure) is in the saved widget state, as last computed."""
    nb, _, _ = repeated_run
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    outputs = [m["state"]["outputs"] for m in state.values()
               if m["model_name"] == "OutputModel" and m["state"].get("outputs")]
    assert len(outputs) == ROUNDS * 4  # one per live() call; the last cell prints, draws nothing
    for outs in outputs:
        assert [o["output_type"] for o in outs] == ["display_data"]
        assert outs[0]["data"]["image/png"]
    titles = [c.outputs[0]["text"] for c in nb.cells if "print(" in c.source]
    assert titles == ["seed 9\n"] * ROUNDS  # the slider moved, and the widget redrew


def test_live_publishes_printed_text_and_errors_as_output_state():
    """What ``live`` shows is set as its Output widget's ``outputs`` (nothing captured)."""
    from course_utils.widgets import live, slider

    def describe(n: int) -> None:
        if n == 0:
            raise ValueError("n must be positive")
        print(f"n = {n}")

    ui = live(describe, n=slider(2, 0, 5))
    assert ui.out.outputs == ({"output_type": "stream", "name": "stdout", "text": "n = 2\n"},)
    ui.children[0].value = 0
    (error,) = ui.out.outputs
    assert error["output_type"] == "error"
    assert (error["ename"], error["evalue"]) == ("ValueError", "n must be positive")
    assert any("raise ValueError" in line for line in error["traceback"])
    ui.children[0].value = 3
    assert ui.out.outputs[0]["text"] == "n = 3\n" and ui.out.msg_id == ""
