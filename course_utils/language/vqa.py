"""Visual question answering on Sort-of-CLEVR: the generator (scenes, object tables,
questions, answers), a Relation Network and its baselines, their accuracy per question type,
and question programs executed on the object table.

Object table: (N, 6, 9) per scene, one row per object, listed in COLOURS order: colour
one-hot (6), is-circle (1), x, y in [0, 1] (x to the right, y downwards). A question is (colour, type):
encoded as one-hot colour (6) + one-hot type (6) = 12 numbers. Answers index ANSWERS.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import accuracy_score
from torch import nn
from torch.nn import functional as F

from ..audit.fairness import by_group
from ..train import fit_steps
from ..validate import check_choice, check_int

COLOURS: tuple[str, ...] = ("red", "green", "blue", "orange", "grey", "yellow")
RGB = np.array([(0.9, 0.1, 0.1), (0.1, 0.75, 0.1), (0.15, 0.3, 0.95), (1.0, 0.55, 0.0),
                (0.5, 0.5, 0.5), (0.95, 0.9, 0.1)])
SHAPES: tuple[str, ...] = ("square", "circle")
QUESTION_TYPES: tuple[str, ...] = ("shape", "left", "top",                  # non-relational
                                   "closest shape", "furthest shape", "count same shape")  # relational
NON_RELATIONAL, RELATIONAL = (0, 1, 2), (3, 4, 5)   # indices into QUESTION_TYPES
ANSWERS: tuple[str, ...] = ("square", "circle", "yes", "no", "1", "2", "3", "4", "5", "6")


def _row_of(table: np.ndarray, colour: int) -> int:
    """Index of the row whose colour one-hot is ``colour``."""
    rows = np.flatnonzero(table[:, colour] == 1)
    if len(rows) != 1:
        raise ValueError(f"the scene must hold exactly one {COLOURS[colour]} object, found {len(rows)}")
    return int(rows[0])


def answer_question(table: np.ndarray, colour: int, qtype: int) -> int:
    """The generator's own answer, straight from one scene's table (6, 9): an ANSWERS index."""
    colour = _row_of(table, colour)
    me = table[colour]
    circle, x, y = table[:, 6], table[:, 7], table[:, 8]
    name = QUESTION_TYPES[qtype]
    if name == "shape":
        return int(me[6])                       # 0 square, 1 circle
    if name == "left":
        return 2 if me[7] < 0.5 else 3
    if name == "top":
        return 2 if me[8] < 0.5 else 3
    distance = np.hypot(x - me[7], y - me[8])
    if name in ("closest shape", "furthest shape"):
        distance[colour] = np.inf if name == "closest shape" else -np.inf
        other = np.argmin(distance) if name == "closest shape" else np.argmax(distance)
        return int(circle[other])
    return 3 + int(np.sum(circle == me[6]))     # "1".."6" sit at indices 4..9


def _render(table: np.ndarray, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    image = np.ones((3, size, size))
    half = size * 0.06
    for row in table:
        colour = RGB[int(np.argmax(row[:6]))]
        cx, cy = row[7] * size, row[8] * size
        if row[6]:
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= half ** 2
        else:
            inside = (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
        image[:, inside] = colour[:, None]
    return image


def random_table(rng: np.random.Generator, objects: int = 6, left_bias: float | None = None) -> np.ndarray:
    """One scene's table (objects, 9): the first ``objects`` colours, random shapes, positions
    at least 0.15 apart. With ``left_bias`` each object lands in the left half (x < 0.5) with
    that probability (a deliberate prior for the "left" questions)."""
    objects = check_int(objects, "objects", 1)
    if objects > len(COLOURS):
        raise ValueError(f"objects must be at most {len(COLOURS)}, got {objects}")
    points = []
    while len(points) < objects:
        p = rng.uniform(0.1, 0.9, size=2)
        if left_bias is not None:
            p[0] = rng.uniform(0.1, 0.5) if rng.random() < left_bias else rng.uniform(0.5, 0.9)
        if all(np.hypot(*(p - q)) >= 0.15 for q in points):
            points.append(p)
    table = np.zeros((objects, 9))
    table[:, :6] = np.eye(6)[:objects]
    table[:, 6] = rng.integers(0, 2, size=objects)
    table[:, 7:] = points
    return table


def render_scene(table: np.ndarray, size: int = 64) -> np.ndarray:
    """The picture of one table: (3, size, size) in [0, 1], white background."""
    return _render(np.asarray(table), check_int(size, "size", 8))


def sort_of_clevr(n: int, seed: int = 0, size: int = 64, render: bool = True,
                  left_bias: float | None = None) -> dict[str, torch.Tensor]:
    """``n`` scenes of six objects (one per colour, random shape, positions at least 0.15
    apart) and all 36 questions about each (every colour x every type). ``left_bias``: see
    ``random_table``.

    Returns tensors: images (n, 3, size, size) float32 (zeros if ``render=False``); tables
    (n, 6, 9) float32; questions (n * 36, 12) float32; question_scene (n * 36,) int64 (which
    scene each question is about); question_type (n * 36,); answers (n * 36,) int64.
    """
    n, size = check_int(n, "n", 1), check_int(size, "size", 8)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    tables = np.stack([random_table(rng, 6, left_bias) for _ in range(n)])
    colours, types = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    colours, types = colours.ravel(), types.ravel()
    questions = np.concatenate([np.eye(6)[colours], np.eye(6)[types]], axis=1)
    answers = np.array([[answer_question(t, c, q) for c, q in zip(colours, types)] for t in tables])
    images = np.stack([_render(t, size) for t in tables]) if render else np.zeros((n, 3, size, size))
    return {"images": torch.tensor(images, dtype=torch.float32),
            "tables": torch.tensor(tables, dtype=torch.float32),
            "questions": torch.tensor(np.tile(questions, (n, 1)), dtype=torch.float32),
            "question_scene": torch.arange(n).repeat_interleave(36),
            "question_type": torch.tensor(np.tile(types, n)),
            "answers": torch.tensor(answers.ravel(), dtype=torch.int64)}


def question_index(scene: int, colour: str, question_type: str) -> int:
    """Where a question sits in a ``sort_of_clevr`` dict: scene by scene, 36 questions each,
    colour by colour (COLOURS order) and within a colour type by type (QUESTION_TYPES order)."""
    scene = check_int(scene, "scene", 0)
    colour = COLOURS.index(check_choice(colour, "colour", COLOURS))
    question_type = QUESTION_TYPES.index(check_choice(question_type, "question_type", QUESTION_TYPES))
    return scene * len(COLOURS) * len(QUESTION_TYPES) + colour * len(QUESTION_TYPES) + question_type


def describe_question(question) -> tuple[int, int, str]:
    """A question's code (12,): colour one-hot (6) + type one-hot (6) -> (colour index, type
    index, the question in words), e.g. (0, 3, "closest shape of the red object?")."""
    question = np.asarray(question.detach().cpu() if isinstance(question, torch.Tensor) else question)
    if question.shape != (len(COLOURS) + len(QUESTION_TYPES),):
        raise ValueError(f"question must be a ({len(COLOURS) + len(QUESTION_TYPES)},) code, got shape "
                         f"{question.shape}")
    colour, qtype = int(question[:6].argmax()), int(question[6:].argmax())
    return colour, qtype, f"{QUESTION_TYPES[qtype]} of the {COLOURS[colour]} object?"


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class RelationNetwork(nn.Module):
    """f( sum over all ordered object pairs (i, j) of g(o_i, o_j, q) ).

    objects: (N, K, D) whose last two features are the position (x, y), question: (N, Q) ->
    answer logits (N, A). Besides the two objects and the question, g reads the pair's offset
    x_j - x_i, y_j - y_i. The sum makes the answer the same for any order of the objects.
    """

    def __init__(self, object_dim: int = 9, question_dim: int = 12, hidden: int = 96,
                 answers: int = len(ANSWERS)):
        super().__init__()
        # g's first layer on the concatenation [o_i, o_j, o_j - o_i (position), q] is split into
        # its blocks, W_i o_i + W_j o_j + W_d d_ij + W_q q: the same function, computed once per
        # object (the offset d_ij = (x_j - x_i, y_j - y_i) once per pair)
        self.g_first, self.g_second = nn.Linear(object_dim, hidden), nn.Linear(object_dim, hidden, bias=False)
        self.g_offset = nn.Linear(2, hidden, bias=False)
        self.g_question = nn.Linear(question_dim, hidden, bias=False)
        self.g = nn.Sequential(nn.ReLU(), *_mlp([hidden, hidden, hidden, hidden]))
        self.f = nn.Sequential(nn.ReLU(), *_mlp([hidden, hidden, answers]))

    def pair_features(self, objects: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """g(o_i, o_j, q) for every ordered pair: (N, K, K, H)."""
        if objects.ndim != 3 or question.ndim != 2 or len(objects) != len(question):
            raise ValueError(f"objects must be (N, K, D) and question (N, Q), got {tuple(objects.shape)} "
                             f"and {tuple(question.shape)}")
        first = self.g_first(objects)[:, :, None]                    # (N, K, 1, H)
        second = self.g_second(objects)[:, None, :]                  # (N, 1, K, H)
        q = self.g_question(question)[:, None, None]                 # (N, 1, 1, H)
        position = objects[..., -2:]
        offset = self.g_offset(position[:, None, :] - position[:, :, None])   # (N, K, K, H)
        return self.g(first + second + offset + q)

    def pair_features_loop(self, objects: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """``pair_features`` the way the Relation Network is usually drawn: for each ordered
        pair, concatenate [o_i, o_j, o_j - o_i (position), q] and apply one first layer whose
        weight is the four blocks side by side. Same result; K * K Python steps."""
        if objects.ndim != 3 or question.ndim != 2 or len(objects) != len(question):
            raise ValueError(f"objects must be (N, K, D) and question (N, Q), got {tuple(objects.shape)} "
                             f"and {tuple(question.shape)}")
        weight = torch.cat([self.g_first.weight, self.g_second.weight, self.g_offset.weight,
                            self.g_question.weight], dim=1)
        k = objects.shape[1]
        rows = []
        for i in range(k):
            row = []
            for j in range(k):
                offset = objects[:, j, -2:] - objects[:, i, -2:]
                joint = torch.cat([objects[:, i], objects[:, j], offset, question], dim=1)
                row.append(self.g(joint @ weight.T + self.g_first.bias))
            rows.append(torch.stack(row, dim=1))
        return torch.stack(rows, dim=1)

    def forward(self, objects: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        return self.f(self.pair_features(objects, question).sum(dim=(1, 2)))


class StateMLP(nn.Module):
    """The baseline with the same input: the whole object table flattened, plus the question,
    through an MLP: (N, K, D), (N, Q) -> (N, A). ``use_objects=False`` gives the blind
    (question-only) baseline, ``use_question=False`` the table-only one."""

    def __init__(self, objects: int = 6, object_dim: int = 9, question_dim: int = 12, hidden: int = 256,
                 answers: int = len(ANSWERS), use_objects: bool = True, use_question: bool = True):
        super().__init__()
        self.use_objects, self.use_question = use_objects, use_question
        inputs = objects * object_dim * use_objects + question_dim * use_question
        self.net = _mlp([inputs, hidden, hidden, hidden, answers])

    def forward(self, objects: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        parts = ([objects.flatten(1)] if self.use_objects else []) + ([question] if self.use_question else [])
        return self.net(torch.cat(parts, dim=1))


def train_vqa(model: nn.Module, data: dict, steps: int = 1000, batch: int = 256, lr: float = 3e-3,
              seed: int = 0, cosine: bool = True, type_weights=None) -> list[float]:
    """Adam on cross-entropy over random (scene, question) pairs of a ``sort_of_clevr`` dict.

    ``type_weights`` (one number per QUESTION_TYPES entry) makes some question types more
    frequent in the training batches (default: as in the data, uniform)."""

    batch = check_int(batch, "batch", 1)
    if type_weights is None:
        probabilities = None
    else:
        type_weights = torch.as_tensor(type_weights, dtype=torch.float64)
        if type_weights.shape != (len(QUESTION_TYPES),) or (type_weights < 0).any() or type_weights.sum() <= 0:
            raise ValueError(f"type_weights must be {len(QUESTION_TYPES)} non-negative numbers, not all 0")
        probabilities = type_weights[data["question_type"]]

    def batch_loss(generator):
        if probabilities is None:
            idx = torch.randint(0, len(data["answers"]), (batch,), generator=generator)
        else:
            idx = torch.multinomial(probabilities, batch, replacement=True, generator=generator)
        objects = data["tables"][data["question_scene"][idx]]
        return F.cross_entropy(model(objects, data["questions"][idx]), data["answers"][idx])

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), lr, seed, cosine=cosine)


@torch.no_grad()
def predict(model: nn.Module, data: dict, batch: int = 4096) -> torch.Tensor:
    """Answer indices (M,) for every question of a ``sort_of_clevr`` dict."""
    model.eval()
    out = []
    for start in range(0, len(data["answers"]), batch):
        idx = torch.arange(start, min(start + batch, len(data["answers"])))
        out.append(model(data["tables"][data["question_scene"][idx]], data["questions"][idx]).argmax(1))
    model.train()
    return torch.cat(out)


def accuracy_by_type(predictions: torch.Tensor, data: dict) -> list[float]:
    """Accuracy of ``predictions`` (M,) (answer indices for every question of a ``sort_of_clevr``
    dict, in its order) on each question type, in QUESTION_TYPES order (NaN for a type that
    ``data`` does not ask): ``audit.fairness.by_group`` with the question types as groups."""
    answers, types = data["answers"].numpy(), data["question_type"].numpy()
    predictions = np.asarray(predictions.detach().cpu() if isinstance(predictions, torch.Tensor) else predictions)
    if predictions.shape != answers.shape:
        raise ValueError(f"predictions must have shape {answers.shape}, one answer per question of data, "
                         f"got {predictions.shape}")
    table = by_group(answers, predictions, types, {"accuracy": accuracy_score})
    return [float(a) for a in table["accuracy"].reindex(range(len(QUESTION_TYPES)))]


def relational_split(per_type) -> tuple[float, float]:
    """Mean accuracy over the non-relational and over the relational question types:
    ``per_type`` (6,) in QUESTION_TYPES order -> (non-relational, relational)."""
    if len(per_type) != len(QUESTION_TYPES):
        raise ValueError(f"per_type must hold one value per question type ({len(QUESTION_TYPES)}), "
                         f"got {len(per_type)}")
    return (float(np.mean([per_type[t] for t in NON_RELATIONAL])),
            float(np.mean([per_type[t] for t in RELATIONAL])))


# ---------------------------------------------------------------- programs on the object table
OPERATIONS = ("filter_colour", "relate", "query", "count_same_shape")


def question_program(colour: str, qtype: str) -> list[tuple[str, str]]:
    """The program for a question: e.g. ("red", "closest shape") ->
    [("filter_colour", "red"), ("relate", "closest"), ("query", "shape")]."""
    check_choice(colour, "colour", COLOURS)
    check_choice(qtype, "qtype", QUESTION_TYPES)
    start = [("filter_colour", colour)]
    if qtype in ("shape", "left", "top"):
        return start + [("query", qtype)]
    if qtype == "count same shape":
        return start + [("count_same_shape", "")]
    return start + [("relate", qtype.split()[0]), ("query", "shape")]


def run_program(program: list[tuple[str, str]], scene: np.ndarray) -> str:
    """Execute a program on one object table (6, 9); returns the answer as a word of ANSWERS.

    Operations: ("filter_colour", c) selects the object of colour c; ("relate", "closest" |
    "furthest") moves to the nearest / farthest other object; ("query", "shape" | "left" |
    "top") reads an attribute; ("count_same_shape", "") counts objects with the selected
    object's shape (itself included).
    """
    scene = np.asarray(scene)
    current = None
    for operation, argument in program:
        check_choice(operation, "operation", OPERATIONS)
        if operation == "filter_colour":
            current = _row_of(scene, COLOURS.index(check_choice(argument, "colour", COLOURS)))
            continue
        if current is None:
            raise ValueError(f"{operation} needs an object: start the program with filter_colour")
        if operation == "relate":
            check_choice(argument, "relation", ("closest", "furthest"))
            d = np.hypot(scene[:, 7] - scene[current, 7], scene[:, 8] - scene[current, 8])
            d[current] = np.inf if argument == "closest" else -np.inf
            current = int(np.argmin(d) if argument == "closest" else np.argmax(d))
        elif operation == "query":
            check_choice(argument, "attribute", ("shape", "left", "top"))
            if argument == "shape":
                return SHAPES[int(scene[current, 6])]
            coordinate = scene[current, 7 if argument == "left" else 8]
            return "yes" if coordinate < 0.5 else "no"
        else:
            return str(int(np.sum(scene[:, 6] == scene[current, 6])))
    raise ValueError("program must end with query or count_same_shape")


def consistency(predictions: torch.Tensor, data: dict) -> float:
    """Do a model's answers agree with each other? For every scene and colour X, its answer to
    "how many objects have the same shape as X" should equal the number of objects to which it
    gives the shape it gave X. Returns the share of (scene, colour) pairs where they agree.
    predictions: (M,) answer indices for every question of ``data``, in its order."""
    per_scene = predictions.reshape(-1, 6, len(QUESTION_TYPES))          # scene, colour, type
    shapes = per_scene[:, :, QUESTION_TYPES.index("shape")]               # answer index 0 / 1
    counts = per_scene[:, :, QUESTION_TYPES.index("count same shape")] - 3  # "1" sits at index 4
    implied = (shapes[:, :, None] == shapes[:, None, :]).sum(dim=2)
    return (counts == implied).float().mean().item()
