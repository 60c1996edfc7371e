"""The page (web_client/) in a real browser: headless Chromium driven by Playwright, against the
real gateway and model Space started on 127.0.0.1 (the gateway serves the page at ``/``)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from playwright.sync_api import Page, expect

DETECTION_TIMEOUT_MS = 60_000  # the first call may include the gateway connecting to the Space

# The page's canvas at a point given in CSS pixels: the alpha of what was drawn there (0: nothing).
PIXEL_ALPHA_JS = """([x, y]) => {
  const canvas = document.getElementById("boxes");
  const ratio = canvas.width / canvas.clientWidth;
  const ctx = canvas.getContext("2d");
  return ctx.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data[3];
}"""


def open_page(page: Page, url: str) -> None:
    page.goto(url + "/")
    # The label list arrives from GET /v1/labels once the page has loaded.
    expect(page.locator("#class-list input")).to_have_count(80)


def wait_idle(page: Page) -> None:
    expect(page.locator("#main")).to_have_attribute(
        "aria-busy", "false", timeout=DETECTION_TIMEOUT_MS
    )


def upload(page: Page, path) -> None:
    page.set_input_files("#photo", str(path))
    wait_idle(page)


def table_labels(page: Page) -> list[str]:
    return page.locator("#detections tr td:first-child").all_inner_texts()


def requests_made(page: Page) -> int:
    return int(page.locator("#main").get_attribute("data-requests"))


def boxes_drawn(page: Page) -> int:
    return int(page.locator("#boxes").get_attribute("data-boxes"))


def raw_answer(page: Page) -> dict:
    return json.loads(page.locator("#json-text").text_content())


def set_slider(page: Page, *values: float) -> None:
    """Move the slider through the values at once, as a quick drag does."""
    page.eval_on_selector(
        "#min-confidence",
        """(slider, values) => {
          for (const v of values) {
            slider.value = String(v);
            slider.dispatchEvent(new Event("input", { bubbles: true }));
          }
        }""",
        list(values),
    )


def canvas_point(page: Page, data: dict, x: float, y: float) -> tuple[float, float]:
    """Image pixels to CSS pixels on the canvas."""
    scale = page.eval_on_selector("#boxes", "c => c.clientWidth") / data["width"]
    return x * scale, y * scale


def alpha_at(page: Page, point: tuple[float, float]) -> int:
    return page.evaluate(PIXEL_ALPHA_JS, list(point))


def test_upload_shows_labels_table_and_drawn_boxes(
    browser_page: Page, gateway_url, photos, screenshot_dir
):
    page = browser_page
    open_page(page, gateway_url)
    upload(page, photos["coffee"])

    expect(page.locator("#error")).to_be_hidden()
    labels = table_labels(page)
    assert {"cup", "dining table"} <= set(labels), labels
    expect(page.locator("#counts")).to_contain_text("cup")
    # Every row of the table is a box on the canvas, and the canvas really shows each one:
    # the middle of each box's left edge is painted, the middle of the cup is not.
    assert boxes_drawn(page) == len(labels)
    data = raw_answer(page)
    shown = [d for d in data["detections"] if d["confidence"] >= 0.5]
    assert [d["label"] for d in shown] == labels
    for det in shown:
        b = det["box"]
        edge = canvas_point(page, data, b["x_min"], (b["y_min"] + b["y_max"]) / 2)
        assert alpha_at(page, edge) > 0, f"no line drawn at the left edge of {det}"
    cup = next(d["box"] for d in shown if d["label"] == "cup")
    centre = canvas_point(
        page, data, (cup["x_min"] + cup["x_max"]) / 2, (cup["y_min"] + cup["y_max"]) / 2
    )
    assert alpha_at(page, centre) == 0

    # Hovering the cup's row fills its box; hovering the box highlights the row.
    cup_row = page.locator("#detections tr", has_text="cup")
    cup_row.hover()
    expect(cup_row).to_have_class("active")
    assert alpha_at(page, centre) > 0
    page.mouse.move(0, 0)
    expect(cup_row).not_to_have_class("active")
    assert alpha_at(page, centre) == 0
    box = page.locator("#boxes").bounding_box()
    page.mouse.move(box["x"] + centre[0], box["y"] + centre[1])
    expect(cup_row).to_have_class("active")
    # Keyboard focus does the same as hovering.
    page.mouse.move(0, 0)
    table_row = page.locator("#detections tr", has_text="dining table")
    table_row.focus()
    expect(table_row).to_have_class("active")

    # Timings measured in the page and reported by the gateway, and the raw JSON.
    timings = page.locator("#timings").inner_text()
    for name in ("Round trip", "Gateway total", "Model inference"):
        assert name in timings
    assert data["model"] == "ssdlite_mobilenet_v2_coco" and data["image_base64"] is None
    page.locator("#json-view summary").click()
    expect(page.locator("#json-text")).to_contain_text('"dining table"')

    shot = screenshot_dir / "coffee-result.png"
    page.locator("#results").screenshot(path=shot)
    assert shot.stat().st_size > 10_000


def test_controls_filter_locally_or_ask_again(browser_page: Page, gateway_url, photos):
    page = browser_page
    open_page(page, gateway_url)
    upload(page, photos["coffee"])
    assert requests_made(page) == 1

    # Raising the threshold filters the last answer in the page: exactly what the gateway
    # would answer, without asking it.
    page.locator("#min-confidence").fill("0.9")
    expect(page.locator("#min-confidence-value")).to_have_text("90%")
    expect(page.locator("#detections tr")).to_have_count(1)
    assert table_labels(page) == ["cup"]
    assert boxes_drawn(page) == 1
    assert requests_made(page) == 1
    expect(page.locator("#view-note")).to_be_visible()

    # Lowering it needs the gateway; a quick drag through three values is one request.
    set_slider(page, 0.3, 0.2, 0.1)
    expect(page.locator("#detections tr", has_text="bowl").first).to_be_visible(
        timeout=DETECTION_TIMEOUT_MS
    )
    wait_idle(page)
    assert requests_made(page) == 2
    low = table_labels(page)
    assert low.count("cup") == 2 and "bowl" in low, low
    assert boxes_drawn(page) == len(low)

    # Narrowing the labels filters locally too, and so does going back to all of them.
    page.locator("#class-filter summary").click()
    page.locator("#class-search").fill("cu")
    page.locator("#class-list label", has_text="cup").click()
    expect(page.locator("#class-summary")).to_have_text("cup")
    expect(page.locator("#detections tr")).to_have_count(2)
    assert table_labels(page) == ["cup", "cup"]
    assert requests_made(page) == 2
    page.locator("#class-clear").click()
    expect(page.locator("#detections tr")).to_have_count(len(low))
    assert requests_made(page) == 2  # the answer was for every label already


def test_a_text_file_gives_the_gateways_message(browser_page: Page, gateway_url, tmp_path):
    page = browser_page
    open_page(page, gateway_url)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo at all\n" * 20)
    upload(page, notes)
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not a photo the service can read")
    expect(error).to_contain_text("Accepted formats")  # the gateway's own detail
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#results")).to_be_hidden()


def test_a_stopped_gateway_gives_a_message(
    browser_page: Page, space_url, start_gateway, processes, photos
):
    page = browser_page
    url = start_gateway(space_url, name="gateway-browser-stopped")
    open_page(page, url)
    processes.stop("gateway-browser-stopped")
    upload(page, photos["chelsea"])
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Could not reach the gateway")
    expect(error).to_contain_text(url)
    # The controls work again, for the next try.
    expect(page.locator("#photo")).to_be_enabled()


def test_a_file_over_the_limit_gives_a_message(
    browser_page: Page, space_url, start_gateway, photos
):
    page = browser_page
    url = start_gateway(space_url, name="gateway-browser-small", max_upload_bytes=50_000)
    open_page(page, url)
    upload(page, photos["coffee"])  # about 450 kB
    expect(page.locator("#error")).to_contain_text("The photo is too large.")
    expect(page.locator("#error")).to_contain_text("upload limit")


@pytest.mark.parametrize(
    "status, detail, title",
    [
        (503, "Too many requests in progress.", "The service is busy. Try again in 2 s."),
        (429, "Slow down.", "The service is busy. Try again in 2 s."),
        (504, "The model service did not answer within 30 s.", "took too long to answer"),
        (502, "The model service is unreachable.", "The model service is unavailable."),
    ],
    ids=["503", "429", "504", "502"],
)
def test_busy_and_timeout_answers_are_explained(
    browser_page: Page, gateway_url, photos, status, detail, title
):
    """The gateway's 503/504/502 are hard to provoke on cue; the browser answers for it."""
    page = browser_page
    open_page(page, gateway_url)
    page.route(
        "**/v1/detect",
        lambda route: route.fulfill(
            status=status,
            json={"detail": detail},
            headers={"Retry-After": "2"},
        ),
    )
    upload(page, photos["chelsea"])
    error = page.locator("#error")
    expect(error).to_contain_text(title)
    expect(error).to_contain_text(detail)


def test_drag_and_drop_a_photo(browser_page: Page, gateway_url, photos):
    page = browser_page
    open_page(page, gateway_url)
    data = base64.b64encode(photos["chelsea"].read_bytes()).decode()
    # A drop as the browser delivers it: a DataTransfer holding the file, built in the page.
    page.evaluate(
        """(data) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const file = new File([bytes], "chelsea.png", { type: "image/png" });
          const transfer = new DataTransfer();
          transfer.items.add(file);
          const target = document.querySelector("header");
          for (const type of ["dragenter", "dragover"]) {
            target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true,
                                                       dataTransfer: transfer }));
          }
          window.__overlayShown = document.body.classList.contains("dragging");
          target.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true,
                                                      dataTransfer: transfer }));
        }""",
        data,
    )
    assert page.evaluate("window.__overlayShown")
    expect(page.locator("body")).not_to_have_class("dragging")
    wait_idle(page)
    expect(page.locator("#detections tr").first).to_contain_text(
        "cat", timeout=DETECTION_TIMEOUT_MS
    )
    assert boxes_drawn(page) >= 1
    expect(page.locator("#status")).to_contain_text("1 cat")


def test_paste_a_photo(browser_page: Page, gateway_url, photos):
    page = browser_page
    open_page(page, gateway_url)
    data = base64.b64encode(photos["chelsea"].read_bytes()).decode()
    page.evaluate(
        """(data) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
          document.body.dispatchEvent(new ClipboardEvent("paste", { bubbles: true,
                                                                   cancelable: true,
                                                                   clipboardData: transfer }));
        }""",
        data,
    )
    wait_idle(page)
    expect(page.locator("#detections tr").first).to_contain_text(
        "cat", timeout=DETECTION_TIMEOUT_MS
    )
    expect(page.locator("#photo-view")).to_have_attribute("alt", "Your photo, pasted-image.png")


def test_phone_width_and_dark_scheme(chromium, gateway_url, photos, screenshot_dir):
    """On a phone-sized screen nothing is wider than the screen; dark scheme changes colours."""
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, color_scheme="dark"
    )
    try:
        page = context.new_page()
        open_page(page, gateway_url)
        upload(page, photos["coffee"])
        expect(page.locator("#detections tr").first).to_contain_text("cup")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The canvas's backing store follows devicePixelRatio, so the boxes stay sharp.
        ratio = page.eval_on_selector("#boxes", "c => c.width / c.clientWidth")
        assert ratio == pytest.approx(2, abs=0.02)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(21, 24, 29)"
        page.screenshot(path=screenshot_dir / "coffee-phone-dark.png", full_page=True)
    finally:
        context.close()


def test_take_a_photo_with_the_camera(launch_chromium, gateway_url):
    """Chromium's fake camera (a test pattern) stands in for a real one."""
    browser = launch_chromium(
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"
    )
    try:
        page = browser.new_page()
        open_page(page, gateway_url)
        expect(page.locator("#camera-panel")).to_be_hidden()
        page.locator("#camera-open").click()
        expect(page.locator("#camera-panel")).to_be_visible()
        page.wait_for_function("document.getElementById('camera-video').videoWidth > 0")
        page.locator("#camera-capture").click()
        wait_idle(page)
        expect(page.locator("#camera-panel")).to_be_hidden()
        expect(page.locator("#photo-view")).to_have_attribute("alt", "Your photo, camera.jpg")
        expect(page.locator("#results")).to_be_visible()  # the gateway read the JPEG
        expect(page.locator("#error")).to_be_hidden()
    finally:
        browser.close()


def test_no_camera_button_without_getusermedia(browser_page: Page, gateway_url):
    page = browser_page
    page.add_init_script("delete Navigator.prototype.mediaDevices;")
    open_page(page, gateway_url)
    expect(page.locator("#camera-open")).to_be_hidden()


def test_a_format_the_browser_cannot_show_still_gets_its_boxes(
    browser_page: Page, gateway_url, photos, tmp_path
):
    """Chromium cannot display TIFF; the page asks the gateway for a plain PNG copy instead."""
    from PIL import Image

    tiff = tmp_path / "chelsea.tiff"
    with Image.open(photos["chelsea"]) as image:
        image.convert("RGB").save(tiff, format="TIFF")
    page = browser_page
    open_page(page, gateway_url)
    upload(page, tiff)
    expect(page.locator("#photo-view")).to_have_attribute("src", re.compile("^data:image/png"))
    page.wait_for_function("document.getElementById('photo-view').naturalWidth === 451")
    expect(page.locator("#boxes")).not_to_have_attribute("data-boxes", "0")
    assert table_labels(page) == ["cat"]
    expect(page.locator("#error")).to_be_hidden()
