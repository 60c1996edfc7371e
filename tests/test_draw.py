"""Drawing: boxes land where the detections are, on a copy, in the label's colour."""

from __future__ import annotations

import numpy as np

from model_package import Box, Detection, draw_detections
from model_package.draw import label_colour


def test_draws_box_in_label_colour_on_a_copy():
    image = np.full((400, 600, 3), 30, np.uint8)
    before = image.copy()
    det = Detection("cup", 0.96, Box(100.0, 150.0, 300.0, 350.0))
    out = draw_detections(image, [det])
    assert np.array_equal(image, before)  # the input is untouched
    assert out.shape == image.shape
    colour = list(label_colour("cup"))
    assert out[250, 100].tolist() == colour  # left edge, mid-height
    assert out[350, 200].tolist() == colour  # bottom edge
    assert out[250, 200].tolist() == [30, 30, 30]  # inside stays clear
    # the tag sits above the box: a filled patch of the colour just above the top-left corner
    assert (out[130:148, 102:140] == colour).all(axis=2).mean() > 0.5


def test_line_and_text_grow_with_the_photo():
    det_small = Detection("cat", 0.9, Box(10.0, 40.0, 200.0, 200.0))
    det_big = Detection("cat", 0.9, Box(100.0, 400.0, 2000.0, 2000.0))
    small = draw_detections(np.zeros((300, 450, 3), np.uint8), [det_small])
    big = draw_detections(np.zeros((3000, 4500, 3), np.uint8), [det_big])
    small_line = (small[120, :30] > 0).any(axis=1).sum()
    big_line = (big[1200, :300] > 0).any(axis=1).sum()
    assert big_line >= 2 * small_line
    assert label_colour("cat") != label_colour("dog")
