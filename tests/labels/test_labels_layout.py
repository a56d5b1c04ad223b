"""Text wrapping on labels: on word boundaries, never between a quantity and its unit,
shrunk before a word is broken, cut at a word with an ellipsis when still too long."""

from __future__ import annotations

import re

import pytest

from labels.fonts import label_font
from labels.layout import Box, fit_text, keep_quantities_together, wrap

NAME = "Romaine lettuce hearts washed 3 x 500 g case of 12 ct, 1,5 kg net, 20 % off"
QUANTITIES = ["3 x 500 g", "12 ct", "1,5 kg", "20 %"]


def measure(text: str, size: float) -> float:
    return float(label_font().pil(max(1, round(size))).getlength(text))


@pytest.mark.parametrize("width", range(100, 700, 15))
def test_no_width_splits_a_quantity_from_its_unit(width: int) -> None:
    """At any width that holds the widest word (a quantity with its unit counts as one;
    narrower, fit_text shrinks the text first)."""
    assert width >= max(measure(word, 24) for word in [*QUANTITIES, *NAME.split()])
    lines = wrap(NAME, width, 24, measure)
    assert " ".join(lines) == NAME  # nothing lost, spaces are plain again
    for quantity in QUANTITIES:
        assert any(quantity in line for line in lines), (width, lines)
    for line in lines:
        assert measure(line, 24) <= width or " " not in line


def test_units_need_a_number_before_them() -> None:
    assert (
        keep_quantities_together("Gala apples 6 x 1 kg bag") == "Gala apples 6\xa0x\xa01\xa0kg bag"
    )
    # words that merely start like units stay breakable: "good", "leaves", "x-ray"
    assert "\xa0" not in keep_quantities_together("3 good leaves, 2 gherkins")
    assert keep_quantities_together("500g 2 lb") == "500g 2\xa0lb"


def test_shrinks_before_breaking_a_word() -> None:
    box = Box(0, 0, 160, 200)
    block = fit_text([("Strawberries", 1.0, 2)], box, 40, measure)
    assert [line.text for line in block.lines] == ["Strawberries"]
    assert block.lines[0].size < 40


def test_cut_with_an_ellipsis_after_a_whole_word() -> None:
    box = Box(0, 0, 300, 80)
    text = "Heritage carrots purple yellow white orange mixed bunch " * 5
    block = fit_text([(text, 1.0, 2)], box, 24, measure)
    lines = [line.text for line in block.lines]
    assert len(lines) == 2
    assert lines[1].endswith("…")
    assert re.fullmatch(r"[A-Za-z ]+…", lines[1])
    assert text.startswith(" ".join(lines)[:-1].rstrip())
    assert all(measure(line, block.lines[0].size) <= 300 for line in lines)
