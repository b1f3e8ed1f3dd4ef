"""Chapter 04: its tensor functions give the float64 answer for float32 inputs (to float32
precision), accept numpy boxes and scores as documented, and its models run in either
precision but refuse an input of the other precision with an error naming the argument
(torch alone reports only "expected scalar type Float but found Double")."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.recognition import anchors as A
from course_utils.recognition import boxes as B
from course_utils.recognition import detection_metrics as D
from course_utils.recognition import focal as Fo
from course_utils.recognition import nms as N
from course_utils.recognition import segmentation as S
from course_utils.recognition.one_stage import TinyDetector
from course_utils.recognition.resnet import DeepCNN
from course_utils.recognition.two_stage import RoIHead

pytestmark = pytest.mark.chapter("04_object_recognition")

BOXES, SCORES = B.random_boxes(40, seed=1, image_size=64.0, max_side=32.0, dtype=torch.float64)
OTHER, _ = B.random_boxes(30, seed=2, image_size=64.0, max_side=32.0, dtype=torch.float64)
GEN = torch.Generator().manual_seed(4)
X = torch.randn(2, 3, 5, 5, generator=GEN, dtype=torch.float64)
W = torch.randn(3, 2, 3, 3, generator=GEN, dtype=torch.float64)

CASES = {
    "box_iou": (lambda b, o: B.box_iou(b, o), (BOXES, OTHER)),
    "box_area": (lambda b: B.box_area(b), (BOXES,)),
    "xyxy_to_cxcywh": (lambda b: B.xyxy_to_cxcywh(b), (BOXES,)),
    "encode_boxes": (lambda b, o: B.encode_boxes(b, o[:1].expand(40, 4)), (BOXES, OTHER)),
    "decode_boxes": (lambda b, o: B.decode_boxes(b * 0.01, o[:1].expand(40, 4)), (BOXES, OTHER)),
    "best_iou_per_object": (lambda b, o: A.best_iou_per_object(b, [o]), (BOXES, OTHER)),
    "sigmoid_focal_loss": (lambda x: Fo.sigmoid_focal_loss(x, (x > 0).to(x.dtype)), (X,)),
    "transposed_conv2d": (lambda x, w: S.transposed_conv2d(x, w, stride=2, padding=1), (X, W)),
    "transposed_conv2d_stamp": (lambda x, w: S.transposed_conv2d_stamp(x, w, stride=2), (X, W)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_inputs_give_the_float64_answer(name):
    call, arrays = CASES[name]
    want = call(*[a.double() for a in arrays])
    got = call(*[a.float() for a in arrays])
    torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-4)


def test_nms_and_matching_agree_in_both_precisions_and_for_numpy():
    reference = N.nms(BOXES.double(), SCORES.double(), 0.5)
    assert torch.equal(N.nms(BOXES.float(), SCORES.float(), 0.5), reference)
    assert torch.equal(N.nms(BOXES.numpy(), SCORES.numpy(), 0.5), reference)
    assert torch.equal(N.nms_loop(BOXES.float(), SCORES.float(), 0.5), reference)
    matched = D.match_detections(BOXES.double(), SCORES.double(), OTHER.double())
    assert torch.equal(D.match_detections(BOXES.float().numpy(), SCORES.numpy(), OTHER.float()), matched)


@pytest.mark.parametrize("make, shape", [
    (lambda: S.UNet(widths=(4, 8)), (2, 3, 8, 8)),
    (lambda: TinyDetector(width=8), (2, 3, 64, 64)),
    (lambda: DeepCNN(num_blocks=2, channels=4), (2, 1, 8, 8)),
    (lambda: RoIHead(8, output_size=2), (2, 8, 2, 2)),
], ids=["UNet", "TinyDetector", "DeepCNN", "RoIHead"])
def test_models_run_in_either_precision_and_refuse_the_other(make, shape):
    torch.manual_seed(0)
    model = make().eval()
    x = torch.rand(shape, generator=torch.Generator().manual_seed(5))
    out32 = model(x)
    out32 = out32[0] if isinstance(out32, tuple) else out32
    model64 = model.double()
    out64 = model64(x.double())
    out64 = out64[0] if isinstance(out64, tuple) else out64
    torch.testing.assert_close(out32.double(), out64, rtol=1e-3, atol=1e-4)
    with pytest.raises(TypeError, match=r"is torch\.float32 but the model's parameters are torch\.float64"):
        model64(x)
    with pytest.raises((TypeError, ValueError), match=r"must (be a torch\.Tensor|have shape|be a \(N)"):
        model64(x.double().numpy())


def test_transposed_conv_refuses_mixed_precision_by_name():
    with pytest.raises(TypeError, match=r"x, weight and bias must share one dtype, got x torch\.float64, "
                                        r"weight torch\.float32"):
        S.transposed_conv2d(X, W.float(), stride=2)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        S.transposed_conv2d(np.zeros((1, 3, 2, 2)), W, stride=2)
