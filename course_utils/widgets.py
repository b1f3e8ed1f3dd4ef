"""Live widgets: each wraps a plain function that returns a matplotlib Figure.

Tests call the plain function; notebooks call ``live(show_x, param=slider(...))``.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
import traceback
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython import get_ipython
from IPython.display import display
from IPython.utils.capture import capture_output
from ipywidgets.widgets.interaction import show_inline_matplotlib_plots


def slider(value: float, min: float, max: float, step: float | None = None,
           description: str = "", integer: bool | None = None) -> widgets.ValueWidget:
    """An int or float slider that updates on release (so heavy plots stay responsive)."""
    if not min < max:
        raise ValueError(f"min must be smaller than max, got min={min}, max={max}")
    if not min <= value <= max:
        raise ValueError(f"value must lie in [min, max] = [{min}, {max}], got {value}")
    if step is not None and not 0 < step <= max - min:
        raise ValueError(f"step must lie in (0, max - min] = (0, {max - min}], got {step}")
    integer = all(isinstance(v, int) for v in (value, min, max, step or 1)) if integer is None \
        else integer
    cls = widgets.IntSlider if integer else widgets.FloatSlider
    kwargs = dict(value=value, min=min, max=max, description=description,
                  continuous_update=False, style={"description_width": "initial"})
    if step is not None:
        kwargs["step"] = step
    return cls(**kwargs)


def choice_slider(options, value, description: str = "") -> widgets.SelectionSlider:
    """A slider over precomputed values (``options``, in order) that updates on release: the
    widget's function only looks its result up, so every move redraws at once."""
    options = list(options) if isinstance(options, (list, tuple, range)) else None
    if not options:
        raise ValueError("options must be a non-empty list of the values computed beforehand")
    if value not in options:
        raise ValueError(f"value must be one of options {options}, got {value!r}")
    return widgets.SelectionSlider(options=options, value=value, description=description,
                                   continuous_update=False,
                                   style={"description_width": "initial"})


def _error_output() -> dict:
    """The exception being handled as an nbformat error output (IPython's coloured traceback)."""
    etype, value, tb = sys.exc_info()
    shell = get_ipython()
    if shell is not None:
        lines = shell.InteractiveTB.structured_traceback(etype, value, tb)
    else:
        lines = traceback.format_exception(etype, value, tb)
    return {"output_type": "error", "ename": etype.__name__, "evalue": str(value),
            "traceback": list(lines)}


class _Live(widgets.interactive):
    """``ipywidgets.interactive`` that *sets* its Output widget's outputs instead of capturing.

    ``interactive.update`` runs the function inside ``with self.out:``. Every output captured
    that way is mirrored back to the kernel by a headless executor: nbclient's stand-in for the
    Output widget (used by nbconvert ``--execute``, papermill, Jupyter Book) sends a
    ``comm_msg`` on the shell channel for each captured output, while the same client waits on
    that channel for the cell's ``execute_reply``. jupyter_client sends it raw on a sync shadow
    of the asyncio socket, which drains the socket's edge-triggered ZMQ_FD: when the reply has
    just arrived, the asyncio poll is never woken and the reply waits, unread, until the cell's
    timeout (forever by default; jupyter/nbclient#312, jupyter/jupyter_client#1059).

    Here the function runs under IPython's ``capture_output`` (in the kernel, no messages) and
    the result is published as the Output widget's ``outputs`` state: one comm update on IOPub
    that JupyterLab renders the same way and executors store with the widget state, and
    nothing for the executor to send back.
    """

    def __init__(self, f: Callable, function_name: str, **controls):
        self.function_name = function_name  # set first: the constructor draws once
        self.last_update_s = None
        super().__init__(f, **controls)

    def update(self, *args):
        """Call the function with the controls' values and show what it printed and drew.

        The seconds this took in the kernel (the function, its capture and publishing the
        output) are kept in ``last_update_s``; where ``COURSE_WIDGET_LOG`` names a file, one
        JSON line per update is appended to it (the browser suite's latency table)."""
        start = time.perf_counter()
        self.kwargs = {w._kwarg: w.get_interact_value() for w in self.kwargs_widgets}
        outputs = []
        with capture_output() as captured:
            try:
                self.result = self.f(**self.kwargs)
                show_inline_matplotlib_plots()  # pyplot figures the function left open
            except Exception:
                outputs.append(_error_output())
        streams = [{"output_type": "stream", "name": name, "text": text}
                   for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr))
                   if text]
        displays = [{"output_type": "display_data", "data": dict(o.data),
                     "metadata": dict(o.metadata or {})} for o in captured.outputs]
        self.out.outputs = tuple(streams + displays + outputs)
        self.last_update_s = time.perf_counter() - start
        _log_update(self, self.last_update_s)


LOG_ENV = "COURSE_WIDGET_LOG"


def _log_update(ui: "_Live", seconds: float) -> None:
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    controls = {w._kwarg: w.get_interact_value() for w in ui.kwargs_widgets}
    line = {"function": ui.function_name, "seconds": round(seconds, 4),
            "controls": {k: v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)
                         for k, v in controls.items()},
            "notebook": os.environ.get("JPY_SESSION_NAME", "")}
    with open(path, "a") as log:
        log.write(json.dumps(line) + "\n")


def _name(fn) -> str:
    """A readable name for the function behind a widget (through functools.partial)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def live(fn: Callable[..., "plt.Figure"], **controls) -> widgets.interactive:
    """Display ``fn``'s figure under the given controls and redraw it when they change.

    Controls are ipywidgets (e.g. from ``slider``) or anything ``ipywidgets.interactive``
    accepts. Returns the interactive widget (its ``.result`` holds the last figure, its
    ``.out.outputs`` what the widget shows: the figure as a display_data mimebundle, and any
    printed text as stream outputs).
    """
    if not controls:
        raise ValueError("live needs at least one control, e.g. sigma=slider(1, 0.5, 5)")

    def _draw(**kwargs):
        fig = fn(**kwargs)
        if fig is not None:
            display(fig)
            plt.close(fig)
        return fig

    ui = _Live(_draw, _name(fn), **controls)
    display(ui)
    return ui
