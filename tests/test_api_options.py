"""Detection options: validation (422 with clear messages), defaults, and their effect.

Effects are checked on the real Space; the defaults the gateway sends are read from the fake
Space's log of what it received (an exact view of the call, which the real Space cannot give).
"""

from __future__ import annotations

import base64
import io
import uuid

import httpx
import pytest
from PIL import Image

TIMEOUT = httpx.Timeout(60.0)
DETECTION_PATHS = ["/v1/detect", "/detect_objects", "/v1/vision/detection"]


def post(url: str, path: str, data: bytes, headers: dict | None = None, **fields) -> httpx.Response:
    return httpx.post(
        f"{url}{path}",
        files={"image": ("photo", data)},
        data={k: str(v) for k, v in fields.items()},
        headers=headers,
        timeout=TIMEOUT,
    )


def error_message(response: httpx.Response, path: str, status: int = 422) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    if path == "/v1/vision/detection":
        assert body["success"] is False and body["code"] == status
        return body["error"]
    assert set(body) == {"detail"}
    return body["detail"]


@pytest.fixture(scope="module")
def coffee(photos) -> bytes:
    return photos["coffee"].read_bytes()


# --- validation ---------------------------------------------------------------------------


INVALID = [
    ("min_confidence", "1.5", "less than or equal to 1"),
    ("min_confidence", "-0.1", "greater than or equal to 0"),
    ("min_confidence", "abc", "valid number"),
    ("min_confidence", "nan", "min_confidence"),
    ("max_detections", "0", "greater than or equal to 1"),
    ("max_detections", "101", "less than or equal to 100"),
    ("max_detections", "2.5", "valid integer"),
    ("nms_iou", "1.01", "less than or equal to 1"),
    ("nms_iou", "-1", "greater than or equal to 0"),
    ("nms_iou", "x", "valid number"),
]


@pytest.mark.parametrize("path", DETECTION_PATHS)
@pytest.mark.parametrize("field,value,expected", INVALID)
def test_invalid_option_is_422_naming_the_field(gateway_url, coffee, path, field, value, expected):
    message = error_message(post(gateway_url, path, coffee, **{field: value}), path)
    assert field in message and expected in message


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("annotate", "perhaps", "valid boolean"),
        ("image_format", "gif", "'png' or 'jpeg'"),
        ("image_format", "PNG ", "'png' or 'jpeg'"),
    ],
)
def test_invalid_v1_detect_option_is_422(gateway_url, coffee, field, value, expected):
    message = error_message(post(gateway_url, "/v1/detect", coffee, **{field: value}), "/v1/detect")
    assert field in message and expected in message


@pytest.mark.parametrize("path", DETECTION_PATHS)
def test_unknown_label_is_422_listing_the_valid_labels(gateway_url, coffee, path):
    message = error_message(post(gateway_url, path, coffee, classes="cup,unicorn"), path)
    assert "'unicorn'" in message
    assert "Valid labels: person, bicycle, car" in message
    assert "toothbrush" in message and "cup" in message


# --- effects on the real Space ----------------------------------------------------------


def test_classes_keep_only_the_named_labels(gateway_url, coffee):
    everything = post(gateway_url, "/v1/detect", coffee, annotate="false").json()
    assert {"cup", "dining table"} <= {d["label"] for d in everything["detections"]}
    cups = post(gateway_url, "/v1/detect", coffee, classes=" Cup ,", annotate="false")
    assert cups.status_code == 200, cups.text
    assert {d["label"] for d in cups.json()["detections"]} == {"cup"}
    both = post(gateway_url, "/v1/detect", coffee, classes="cup,dining table", annotate="false")
    assert {d["label"] for d in both.json()["detections"]} == {"cup", "dining table"}


def test_max_detections_keeps_the_best(gateway_url, coffee):
    many = post(gateway_url, "/v1/detect", coffee, min_confidence=0.05, annotate="false").json()
    assert len(many["detections"]) > 3
    few = post(
        gateway_url, "/v1/detect", coffee, min_confidence=0.05, max_detections=2, annotate="false"
    ).json()
    assert few["detections"] == many["detections"][:2]


def test_nms_iou_controls_overlap_suppression(gateway_url, coffee):
    counts = {}
    for iou in ("0", "0.5", "1"):
        body = post(
            gateway_url, "/v1/detect", coffee, min_confidence=0.05, nms_iou=iou, annotate="false"
        ).json()
        counts[iou] = len(body["detections"])
    # 0: any overlap suppresses; 1: nothing is suppressed (up to max_detections).
    assert counts["0"] < counts["0.5"] < counts["1"], counts


def test_min_confidence_on_the_deepstack_endpoint(gateway_url, coffee):
    loose = post(gateway_url, "/v1/vision/detection", coffee, min_confidence=0.05).json()
    strict = post(gateway_url, "/v1/vision/detection", coffee, min_confidence=0.9).json()
    assert loose["count"] > strict["count"] >= 1
    assert all(p["confidence"] >= 0.9 for p in strict["predictions"])


def test_annotate_false_returns_no_image(gateway_url, coffee):
    response = post(gateway_url, "/v1/detect", coffee, annotate="false")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image_base64"] is None and body["image_format"] is None
    assert body["timings_ms"]["draw"] == 0 and body["timings_ms"]["encode"] == 0
    assert body["detections"]


@pytest.mark.parametrize("fmt,pil_name", [("png", "PNG"), ("jpeg", "JPEG")])
def test_image_format_of_the_annotated_image(gateway_url, coffee, fmt, pil_name):
    response = post(gateway_url, "/v1/detect", coffee, image_format=fmt)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image_format"] == fmt
    with Image.open(io.BytesIO(base64.b64decode(body["image_base64"]))) as picture:
        assert (picture.format, picture.size) == (pil_name, (600, 400))


def test_detect_objects_applies_the_options(gateway_url, coffee):
    response = post(gateway_url, "/detect_objects", coffee, classes="cup", max_detections=1)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"


# --- what the gateway sends to the Space ------------------------------------------------------


@pytest.mark.parametrize(
    "path,fields,expected",
    [
        (
            "/v1/detect",
            {},
            {
                "min_confidence": 0.5,
                "classes": "",
                "max_detections": 100,
                "nms_iou": 0.5,
                "annotate": True,
                "image_format": "png",
            },
        ),
        (
            "/v1/vision/detection",
            {},
            {"min_confidence": 0.45, "max_detections": 100, "nms_iou": 0.5, "annotate": False},
        ),
        ("/detect_objects", {}, {"min_confidence": 0.5, "annotate": True, "image_format": "png"}),
        (
            "/v1/detect",
            {
                "min_confidence": "0.3",
                "classes": "dog,CAT",
                "max_detections": "7",
                "nms_iou": "0.25",
                "annotate": "false",
                "image_format": "jpeg",
            },
            {
                "min_confidence": 0.3,
                "classes": "dog,cat",
                "max_detections": 7,
                "nms_iou": 0.25,
                "annotate": False,
                "image_format": "jpeg",
            },
        ),
    ],
    ids=["detect-defaults", "deepstack-defaults", "detect_objects-defaults", "detect-all-set"],
)
def test_options_reach_the_space(
    fake_gateway_url, fake_space_calls, sample_images, path, fields, expected
):
    request_id = f"options-{uuid.uuid4().hex}"
    response = post(
        fake_gateway_url,
        path,
        sample_images["png"],
        headers={"X-Request-ID": request_id},
        **fields,
    )
    assert response.status_code == 200, response.text
    (call,) = fake_space_calls(request_id)
    assert {k: call[k] for k in expected} == expected
