"""course_utils: tested implementations behind the Computer Vision II notebooks.

Shared plumbing is re-exported here; chapter modules are imported by name, e.g.
``from course_utils import filters``.
"""
from .checks import check_function, check_raises
from .data import AVAILABLE_IMAGES, load_image
from .device import get_device, seed_everything
from .train import accuracy, evaluate, fit
from .viz import plot_history, show_image, show_images
from .widgets import live, slider

__all__ = [
    "AVAILABLE_IMAGES", "accuracy", "check_function", "check_raises", "evaluate", "fit",
    "get_device", "live", "load_image", "plot_history", "seed_everything", "show_image",
    "show_images", "slider",
]
__version__ = "0.1.0"
