"""A seeded population of small scenes for fairness audits, with every attribute known.

Each scene is a 16 x 16 patch of "skin": a base reflectance that depends on the person's
group (group 0 light, group 1 dark, like skin tones), a soft texture and, for label 1, a small
spot slightly darker than the surround (the finding a classifier must detect). Scenes are
*radiance* (linear light); ``course_utils.audit.camera.capture`` turns them into 8-bit images.
A nuisance bit (e.g. which clinic took the picture) brightens the frame's border; it can be
made to agree with the label with a chosen probability. ``composition`` audits a population
before any model is trained: how many scenes each group has and how many show the finding.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..validate import check_int, check_real

SIZE = 16
REFLECTANCE = (0.6, 0.1)   # mean base reflectance of group 0 (light) and group 1 (dark)


def make_population(n: int, share_group1: float = 0.5, nuisance_agreement: float = 0.5,
                    spot_contrast: float = 0.35, texture: float = 0.1, visible: bool = True,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` scenes. Returns a dict of numpy arrays:
      radiance: (N, 16, 16) float64;  label: (N,) 0/1 (spot present, half the scenes);
      group: (N,) 0/1 (1 with probability ``share_group1``);  reflectance: (N,) base level;
      nuisance: (N,) 0/1, equal to the label with probability ``nuisance_agreement``
      (0.5 = independent of it); where it is 1 the border pixels are 50% brighter.
    The spot (3 x 3, at a random place in the central 8 x 8) changes the radiance by the same
    relative amount in both groups, but it *presents* differently (an assumption of this
    simulation, as some skin findings do): darker than the surround in group 0 (factor
    1 - ``spot_contrast``), lighter in group 1 (factor 1 + ``spot_contrast``). The skin's texture
    multiplies the radiance by 1 + ``texture`` * N(0, 1) per pixel. With ``visible=False`` no
    spot is drawn: the label is then invisible in the image (an outcome recorded elsewhere).
    """
    n = check_int(n, "n", 1)
    share_group1 = check_real(share_group1, "share_group1")
    nuisance_agreement = check_real(nuisance_agreement, "nuisance_agreement")
    for name, value in (("share_group1", share_group1), ("nuisance_agreement", nuisance_agreement)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    group = (rng.random(n) < share_group1).astype(np.int64)
    label = rng.integers(0, 2, size=n)
    reflectance = np.array(REFLECTANCE)[group] * rng.uniform(0.85, 1.15, size=n)
    pattern = 1 + texture * rng.standard_normal((n, SIZE, SIZE))
    radiance = reflectance[:, None, None] * pattern
    for i in np.flatnonzero(label) if visible else ():
        r, c = rng.integers(4, SIZE - 7, size=2)
        # the finding presents differently: darker than the skin in group 0, lighter in group 1
        radiance[i, r:r + 3, c:c + 3] *= 1 - spot_contrast if group[i] == 0 else 1 + spot_contrast
    nuisance = np.where(rng.random(n) < nuisance_agreement, label, 1 - label)
    border = np.ones((SIZE, SIZE), dtype=bool)
    border[2:-2, 2:-2] = False
    radiance[:, border] *= np.where(nuisance == 1, 1.5, 1.0)[:, None]
    return {"radiance": radiance, "label": label, "group": group, "reflectance": reflectance,
            "nuisance": nuisance.astype(np.int64)}


def composition(population: Mapping[str, np.ndarray], names: Mapping[int, str]) -> pd.DataFrame:
    """Who is in a population: one row per group name (sorted), with the number of scenes
    (``images``) and the share of them with the finding (``share_with_finding``).
    ``population``: a dict with ``group`` and ``label`` arrays (N,), as ``make_population``
    returns; ``names`` maps every group number to its name, e.g. {0: "light", 1: "dark"}."""
    for key in ("group", "label"):
        if key not in population:
            raise ValueError(f"population must hold a {key!r} array, got keys {sorted(population)}")
    missing = sorted(set(np.asarray(population["group"]).tolist()) - set(names))
    if missing:
        raise ValueError(f"names must name every group, missing {missing}")
    frame = pd.DataFrame({"group": [names[g] for g in population["group"]], "label": population["label"]})
    return frame.groupby("group").agg(images=("label", "size"), share_with_finding=("label", "mean"))
