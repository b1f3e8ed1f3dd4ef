"""Offline data: bundled sample images and seeded synthetic generators."""
from .images import AVAILABLE_IMAGES, load_image, load_stereo_pair

__all__ = ["AVAILABLE_IMAGES", "load_image", "load_stereo_pair"]
