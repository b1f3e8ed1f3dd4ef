"""Chapter 12 figures: what each panel shows."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.language import vqa  # noqa: E402
from course_utils.language import figures as demos  # noqa: E402

pytestmark = pytest.mark.chapter("12_vqa")


def test_answers_figure_colours_right_and_wrong():
    fig = demos.show_answers(np.ones((8, 8, 3)), "shape of the red object?", {"a": "circle", "b": "square"}, "circle")
    texts = {t.get_text(): t.get_color() for t in fig.axes[1].texts}
    assert texts["a: circle"] == "tab:green" and texts["b: square"] == "tab:red"
    assert "truth: circle" in texts
    plt.close(fig)


def test_type_accuracy_bars_and_program_widget():
    fig = demos.show_type_accuracy({"m": [0.1, 0.2], "n": [0.3, 0.4]}, ["x", "y"])
    assert [bar.get_height() for bar in fig.axes[0].patches] == [0.1, 0.2, 0.3, 0.4]
    plt.close(fig)
    fig = demos.show_program_scene(objects=3, seed=4, colour="green")
    table = vqa.random_table(np.random.default_rng(4), 3)
    expected = vqa.run_program(vqa.question_program("green", "closest shape"), table)
    assert f"closest shape: {expected}" in [t.get_text() for t in fig.axes[1].texts]
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), vqa.render_scene(table).transpose(1, 2, 0))
    plt.close(fig)


def test_question_widget_shows_the_chosen_question_and_every_answer():
    data = vqa.sort_of_clevr(2, seed=5, size=32)
    k = vqa.question_index(1, "blue", "shape")
    right = data["answers"].clone()
    wrong = (right + 1) % len(vqa.ANSWERS)
    fig = demos.show_question(data, {"good": right, "bad": wrong}, scene=1, colour="blue", question_type="shape")
    texts = {t.get_text(): t.get_color() for t in fig.axes[1].texts}
    truth = vqa.ANSWERS[int(data["answers"][k])]
    assert texts[f"good: {truth}"] == "tab:green"
    assert texts[f"bad: {vqa.ANSWERS[int(wrong[k])]}"] == "tab:red"
    assert f"truth: {truth}" in texts and "shape of the blue object?" in texts
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), data["images"][1].permute(1, 2, 0).numpy())
    plt.close(fig)
