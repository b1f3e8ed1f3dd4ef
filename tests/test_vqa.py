"""Tests for course_utils.language.vqa: the generator against a brute-force reading of the object
table, programs on every question type, the Relation Network's permutation invariance, and
the errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from course_utils.language import vqa

pytestmark = pytest.mark.chapter("12_vqa")


def _brute_force(table, colour, qtype):
    """Every answer from first principles, object by object."""
    rows = {vqa.COLOURS[int(r[:6].argmax())]: r for r in table}
    me = rows[vqa.COLOURS[colour]]
    name = vqa.QUESTION_TYPES[qtype]
    if name == "shape":
        return vqa.SHAPES[int(me[6])]
    if name in ("left", "top"):
        return "yes" if me[7 if name == "left" else 8] < 0.5 else "no"
    others = [r for c, r in rows.items() if c != vqa.COLOURS[colour]]
    if name == "count same shape":
        return str(sum(int(r[6] == me[6]) for r in rows.values()))
    dist = [((r[7] - me[7]) ** 2 + (r[8] - me[8]) ** 2, r) for r in others]
    pick = min(dist, key=lambda d: d[0]) if name == "closest shape" else max(dist, key=lambda d: d[0])
    return vqa.SHAPES[int(pick[1][6])]


def test_generator_answers_match_brute_force_and_programs():
    data = vqa.sort_of_clevr(40, seed=3, size=32)
    assert data["images"].shape == (40, 3, 32, 32) and data["tables"].shape == (40, 6, 9)
    assert data["questions"].shape == (40 * 36, 12) and data["answers"].shape == (40 * 36,)
    for k in range(len(data["answers"])):
        table = data["tables"][data["question_scene"][k]].numpy()
        colour, qtype = int(data["questions"][k][:6].argmax()), int(data["questions"][k][6:].argmax())
        assert qtype == int(data["question_type"][k])
        truth = vqa.ANSWERS[int(data["answers"][k])]
        assert truth == _brute_force(table, colour, qtype)
        program = vqa.question_program(vqa.COLOURS[colour], vqa.QUESTION_TYPES[qtype])
        assert vqa.run_program(program, table) == truth


def test_scenes_are_valid_and_seeded():
    data = vqa.sort_of_clevr(30, seed=1, render=False)
    for table in data["tables"].numpy():
        points = table[:, 7:]
        gaps = [np.hypot(*(a - b)) for a, b in itertools.combinations(points, 2)]
        assert min(gaps) >= 0.15 - 1e-6 and points.min() >= 0.1 and points.max() <= 0.9
    assert torch.equal(vqa.sort_of_clevr(3, seed=1, render=False)["tables"], data["tables"][:3])
    biased = vqa.sort_of_clevr(300, seed=0, render=False, left_bias=0.9)
    assert 0.85 < (biased["tables"][..., 7] < 0.5).float().mean() < 0.95


def test_rendered_scene_shows_each_object_in_its_colour():
    table = vqa.random_table(np.random.default_rng(0), 6)
    image = vqa.render_scene(table, 64)
    for row in table:
        x, y = int(row[7] * 64), int(row[8] * 64)
        np.testing.assert_allclose(image[:, y, x], vqa.RGB[int(row[:6].argmax())])


def test_relation_network_is_invariant_to_object_order():
    torch.manual_seed(0)
    model = vqa.RelationNetwork(hidden=16).eval()
    objects, question = torch.randn(4, 6, 9), torch.randn(4, 12)
    permuted = objects[:, torch.randperm(6)]
    with torch.no_grad():
        torch.testing.assert_close(model(objects, question), model(permuted, question))
        features = model.pair_features(objects, question)
    assert features.shape == (4, 6, 6, 16)
    with pytest.raises(ValueError, match=r"\(N, K, D\)"):
        model.pair_features_loop(objects[0], question)


def test_split_first_layer_equals_one_concatenated_linear_layer():
    """Reference: one nn.Linear on [o_i, o_j, o_j - o_i (position), q] with its own random
    weights, copied block by block into the model's four pieces."""
    torch.manual_seed(1)
    model = vqa.RelationNetwork(hidden=8).double().eval()
    one_layer = torch.nn.Linear(9 + 9 + 2 + 12, 8).double()
    blocks = one_layer.weight.detach().split([9, 9, 2, 12], dim=1)
    with torch.no_grad():
        for piece, block in zip((model.g_first, model.g_second, model.g_offset, model.g_question),
                                blocks):
            piece.weight.copy_(block)
        model.g_first.bias.copy_(one_layer.bias)
        objects, question = torch.randn(3, 5, 9).double(), torch.randn(3, 12).double()
        features = model.pair_features(objects, question)
        torch.testing.assert_close(model.pair_features_loop(objects, question), features)
        for i, j in [(0, 0), (2, 4), (4, 1)]:
            joint = torch.cat([objects[:, i], objects[:, j],
                               objects[:, j, -2:] - objects[:, i, -2:], question], dim=1)
            torch.testing.assert_close(features[:, i, j], model.g(one_layer(joint)))
    with pytest.raises(ValueError, match=r"\(N, K, D\)"):
        model(objects[0], question)


def test_relation_network_forms_agree_on_every_device_and_dtype(device, dtype):
    torch.manual_seed(2)
    model = vqa.RelationNetwork(hidden=8).to(device=device, dtype=dtype).eval()
    objects = torch.randn(2, 4, 9, dtype=dtype, device=device)
    question = torch.randn(2, 12, dtype=dtype, device=device)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-12, rtol=1e-12)
    with torch.no_grad():
        features = model.pair_features(objects, question)
        assert features.dtype == dtype and features.device.type == device.type
        torch.testing.assert_close(model.pair_features_loop(objects, question), features, **tol)
        torch.testing.assert_close(model(objects.flip(1), question), model(objects, question), **tol)


def test_consistency_and_training(one_torch_thread):
    data = vqa.sort_of_clevr(200, seed=0, render=False)
    assert vqa.consistency(data["answers"], data) == 1.0
    broken = data["answers"].clone()
    broken[5::6] = 4                          # every count answer "1"
    assert vqa.consistency(broken, data) < 0.5
    torch.manual_seed(0)
    model = vqa.StateMLP()
    losses = vqa.train_vqa(model, data, steps=600)
    assert np.mean(losses[-20:]) < 0.6 * losses[0]
    held_out = vqa.sort_of_clevr(200, seed=1, render=False)   # scenes the model never saw
    shape_questions = held_out["question_type"] == 0
    correct = vqa.predict(model, held_out)[shape_questions] == held_out["answers"][shape_questions]
    assert correct.float().mean() > 0.65   # chance 0.5


def test_errors_name_the_argument():
    table = vqa.random_table(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match="operation"):
        vqa.run_program([("filter_colour", "red"), ("jump", "")], table)
    with pytest.raises(ValueError, match="colour"):
        vqa.run_program([("filter_colour", "purple"), ("query", "shape")], table)
    with pytest.raises(ValueError, match="exactly one blue"):
        vqa.run_program([("filter_colour", "blue"), ("query", "shape")], vqa.random_table(np.random.default_rng(1), 2))
    with pytest.raises(ValueError, match="start the program"):
        vqa.run_program([("query", "shape")], table)
    with pytest.raises(ValueError, match="attribute"):
        vqa.run_program([("filter_colour", "red"), ("query", "size")], table)
    with pytest.raises(ValueError, match="qtype"):
        vqa.question_program("red", "colour")
    with pytest.raises(ValueError, match="objects"):
        vqa.random_table(np.random.default_rng(0), 7)
    with pytest.raises(ValueError, match="type_weights"):
        vqa.train_vqa(vqa.StateMLP(), vqa.sort_of_clevr(2, render=False), steps=1, type_weights=[1, 1])


def test_question_index_and_description_follow_the_generator():
    data = vqa.sort_of_clevr(3, seed=2, render=False)
    for scene in range(3):
        for c, colour in enumerate(vqa.COLOURS):
            for t, qtype in enumerate(vqa.QUESTION_TYPES):
                k = vqa.question_index(scene, colour, qtype)
                assert int(data["question_scene"][k]) == scene and int(data["question_type"][k]) == t
                assert int(data["questions"][k][:6].argmax()) == c
                assert vqa.describe_question(data["questions"][k]) == (c, t, f"{qtype} of the {colour} object?")
    assert vqa.describe_question(data["questions"][5].numpy())[:2] == (0, 5)
    with pytest.raises(ValueError, match="colour"):
        vqa.question_index(0, "purple", "shape")
    with pytest.raises(ValueError, match="question_type"):
        vqa.question_index(0, "red", "size")
    with pytest.raises(ValueError, match="question must be"):
        vqa.describe_question(torch.zeros(6))


def test_accuracy_by_type_counts_each_type_alone():
    data = vqa.sort_of_clevr(4, seed=0, render=False)
    rng = np.random.default_rng(0)
    predictions = data["answers"].clone()
    wrong = torch.tensor(rng.random(len(predictions)) < 0.4)
    predictions[wrong] = (predictions[wrong] + 1) % len(vqa.ANSWERS)
    expected = []
    for t in range(len(vqa.QUESTION_TYPES)):              # by hand: the questions of one type, one by one
        rows = [k for k in range(len(predictions)) if int(data["question_type"][k]) == t]
        expected.append(sum(int(predictions[k] == data["answers"][k]) for k in rows) / len(rows))
    np.testing.assert_allclose(vqa.accuracy_by_type(predictions, data), expected)
    only_shape = {key: value[data["question_type"] == 0] if len(value) == len(predictions) else value
                  for key, value in data.items()}
    per_type = vqa.accuracy_by_type(predictions[data["question_type"] == 0], only_shape)
    assert per_type[0] == pytest.approx(expected[0]) and all(np.isnan(per_type[1:]))
    assert vqa.relational_split([1.0, 0.5, 0.0, 0.2, 0.4, 0.9]) == (pytest.approx(0.5), pytest.approx(0.5))
    with pytest.raises(ValueError, match="predictions"):
        vqa.accuracy_by_type(predictions[:-1], data)
    with pytest.raises(ValueError, match="per_type"):
        vqa.relational_split([0.5, 0.5])
