"""course_utils: tested implementations behind the Computer Vision II notebooks.

One folder per chapter subject (filtering, frequency, learning, recognition, temporal, motion,
interpretability, selfsup, synthesis, audit, sound, language, geometry3d), each with its
concepts, its figures and its own data generators, and a docstring giving the reading order.
Shared plumbing sits at the top and the most used of it is re-exported here; chapter modules
are imported by folder, e.g. ``from course_utils.filtering import filters``.
"""
from .checks import check_function, check_raises
from .data import AVAILABLE_IMAGES, load_image
from .device import get_device, model_device, seed_everything
from .model_size import count_parameters
from .metrics import accuracy
from .train import evaluate, fit
from .viz import format_table, plot_history, show_image, show_images
from .widgets import live, slider

__all__ = [
    "AVAILABLE_IMAGES", "accuracy", "check_function", "check_raises", "count_parameters",
    "evaluate", "fit", "format_table", "get_device", "live", "load_image", "model_device",
    "plot_history", "seed_everything", "show_image", "show_images", "slider",
]
__version__ = "0.2.0"
