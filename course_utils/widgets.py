"""Live widgets: each wraps a plain function that returns a matplotlib Figure.

Tests call the plain function; notebooks call ``live(show_x, param=slider(...))``.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display


def slider(value: float, min: float, max: float, step: float | None = None,
           description: str = "", integer: bool | None = None) -> widgets.ValueWidget:
    """An int or float slider that updates on release (so heavy plots stay responsive)."""
    if not min <= value <= max:
        raise ValueError(f"value must lie in [min, max] = [{min}, {max}], got {value}")
    integer = all(isinstance(v, int) for v in (value, min, max, step or 1)) if integer is None \
        else integer
    cls = widgets.IntSlider if integer else widgets.FloatSlider
    kwargs = dict(value=value, min=min, max=max, description=description,
                  continuous_update=False, style={"description_width": "initial"})
    if step is not None:
        kwargs["step"] = step
    return cls(**kwargs)


def live(fn: Callable[..., "plt.Figure"], **controls) -> widgets.interactive:
    """Display ``fn``'s figure under the given controls and redraw it when they change.

    Controls are ipywidgets (e.g. from ``slider``) or anything ``ipywidgets.interactive``
    accepts. Returns the interactive widget (its ``.result`` holds the last figure).
    """
    if not controls:
        raise ValueError("live needs at least one control, e.g. sigma=slider(1, 0.5, 5)")

    def _draw(**kwargs):
        fig = fn(**kwargs)
        if fig is not None:
            display(fig)
            plt.close(fig)
        return fig

    ui = widgets.interactive(_draw, **controls)
    display(ui)
    return ui
