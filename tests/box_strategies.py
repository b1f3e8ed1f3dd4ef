"""Hypothesis strategies for box tests (imported by test_boxes.py and test_nms.py)."""
import torch
from hypothesis import strategies as st

coordinate = st.integers(0, 30)


@st.composite
def box_sets(draw, min_size=0, max_size=40, integer=True):
    """(N, 4) float64 boxes; small integer grids make ties, duplicates and zero areas common."""
    n = draw(st.integers(min_size, max_size))
    value = coordinate if integer else st.floats(0, 100, allow_nan=False, width=64)
    raw = draw(st.lists(st.tuples(value, value, value, value), min_size=n, max_size=n))
    boxes = torch.tensor(raw, dtype=torch.float64).reshape(-1, 4)
    x1, x2 = torch.minimum(boxes[:, 0], boxes[:, 2]), torch.maximum(boxes[:, 0], boxes[:, 2])
    y1, y2 = torch.minimum(boxes[:, 1], boxes[:, 3]), torch.maximum(boxes[:, 1], boxes[:, 3])
    return torch.stack([x1, y1, x2, y2], dim=1)
