"""Figures for chapter 12 (VQA): a scene with a question and every model's answer (and the
widget that picks them); accuracy by question type. Drawing only: the answers come from vqa.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..viz import show_image
from .vqa import (
    ANSWERS,
    COLOURS,
    QUESTION_TYPES,
    describe_question,
    question_index,
    question_program,
    random_table,
    render_scene,
    run_program,
)


def show_answers(image, question: str, answers: Mapping[str, str], truth: str) -> plt.Figure:
    """The scene, the question, and each model's answer (green when right, red when wrong)."""
    fig, (ax_image, ax_text) = plt.subplots(1, 2, figsize=(6.6, 3.0), gridspec_kw={"width_ratios": [1, 1.2]})
    show_image(ax_image, np.asarray(image), title="scene")
    ax_text.axis("off")
    ax_text.text(0, 0.9, question, fontsize=10, weight="bold", wrap=True)
    ax_text.text(0, 0.75, f"truth: {truth}", fontsize=10)
    for k, (name, answer) in enumerate(answers.items()):
        ax_text.text(0, 0.6 - 0.13 * k, f"{name}: {answer}", fontsize=10,
                     color="tab:green" if answer == truth else "tab:red")
    fig.tight_layout()
    return fig


def show_question(data: dict, answers: Mapping[str, Sequence[int]], scene: int = 0, colour: str = "red",
                  question_type: str = "closest shape") -> plt.Figure:
    """Widget: one question of a ``sort_of_clevr`` dict ``data`` (rendered), about ``colour`` in
    test scene ``scene``, with each model's answer: ``answers`` maps a name to its (M,) answer
    indices for every question of ``data`` (``vqa.predict``), drawn by ``show_answers``."""
    k = question_index(int(scene), colour, question_type)
    _, _, text = describe_question(data["questions"][k])
    words = {name: ANSWERS[int(predicted[k])] for name, predicted in answers.items()}
    return show_answers(data["images"][int(scene)].permute(1, 2, 0).numpy(), text, words,
                        ANSWERS[int(data["answers"][k])])


def show_type_accuracy(accuracy: Mapping[str, Sequence[float]], types: Sequence[str]) -> plt.Figure:
    """Grouped bars: accuracy per question type, one bar per model."""
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    width = 0.8 / len(accuracy)
    for j, (name, values) in enumerate(accuracy.items()):
        ax.bar(np.arange(len(types)) + (j - (len(accuracy) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(np.arange(len(types)))
    ax.set_xticklabels(types, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8, ncol=len(accuracy))
    fig.tight_layout()
    return fig


def show_program_scene(objects: int = 6, seed: int = 0, colour: str = "red") -> plt.Figure:
    """Widget: a fresh scene with ``objects`` objects and the programs' answers to every
    question about ``colour`` (the program is printed in the title of each line)."""
    table = random_table(np.random.default_rng(int(seed)), int(objects))
    if COLOURS.index(colour) >= int(objects):
        colour = COLOURS[0]
    lines = {}
    for qtype in QUESTION_TYPES:
        if qtype in ("closest shape", "furthest shape") and int(objects) < 2:
            continue
        lines[qtype] = run_program(question_program(colour, qtype), table)
    fig, (ax_image, ax_text) = plt.subplots(1, 2, figsize=(6.8, 3.0), gridspec_kw={"width_ratios": [1, 1.3]})
    show_image(ax_image, render_scene(table), title=f"{int(objects)} objects")
    ax_text.axis("off")
    ax_text.text(0, 0.92, f"questions about the {colour} object", fontsize=10, weight="bold")
    for k, (qtype, answer) in enumerate(lines.items()):
        ax_text.text(0, 0.76 - 0.13 * k, f"{qtype}: {answer}", fontsize=10)
    fig.tight_layout()
    return fig
