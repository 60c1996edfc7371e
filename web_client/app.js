// The page: send the photo to the gateway's /v1/detect, draw what it found over the photo, and
// keep the result in step with the controls, asking the gateway again only when filtering the
// last answer in the page cannot give the same result.
(function () {
  "use strict";

  const DEBOUNCE_MS = 300; // a slider drag becomes one request, after the user stops
  const MAX_DETECTIONS = 100; // the gateway's default: an answer this long may have been cut

  const $ = (id) => document.getElementById(id);
  const els = {
    main: $("main"),
    input: $("photo"),
    controls: $("controls"),
    slider: $("min-confidence"),
    sliderValue: $("min-confidence-value"),
    classList: $("class-list"),
    classSearch: $("class-search"),
    classClear: $("class-clear"),
    classSummary: $("class-summary"),
    labelsNote: $("labels-note"),
    status: $("status"),
    error: $("error"),
    errorTitle: $("error-title"),
    errorDetail: $("error-detail"),
    results: $("results"),
    stage: $("stage"),
    img: $("photo-view"),
    canvas: $("boxes"),
    summary: $("summary"),
    counts: $("counts"),
    tbody: $("detections"),
    timings: $("timings"),
    viewNote: $("view-note"),
    download: $("download"),
    jsonText: $("json-text"),
    copyJson: $("copy-json"),
    copyStatus: $("copy-status"),
    camera: {
      open: $("camera-open"),
      panel: $("camera-panel"),
      video: $("camera-video"),
      capture: $("camera-capture"),
      cancel: $("camera-cancel"),
    },
  };
  const { labelColour, confidenceText, drawDetections, detectionAt } = window.BoxDrawing;
  const { PageError } = window.GatewayClient;
  // The gateway's base URL comes from config.js; empty means this page's own origin.
  const gateway = window.GatewayClient.connect(window.GATEWAY_URL, setBusy);

  const state = {
    file: null,
    imageUrl: null,
    imageBroken: false, // the browser cannot display the file (TIFF, for instance)
    fetched: null, // { params, data, roundTripMs }: the gateway's last answer for this photo
    shownParams: null, // the controls the result on screen was made for
    shown: [], // the detections on screen
    active: -1, // index into `shown` of the highlighted box, or -1
    labelsLoaded: false,
    refocus: null,
  };

  async function loadLabels() {
    try {
      buildClassList(await gateway.labels());
      state.labelsLoaded = true;
      els.labelsNote.textContent = "";
    } catch (err) {
      els.labelsNote.textContent =
        "The label list could not be loaded (" +
        (err instanceof PageError ? err.detail || err.title : "the gateway did not answer") +
        "). It is asked for again after the next detection.";
    }
  }

  // --- deciding between filtering and asking -------------------------------------------------

  function wantedParams() {
    const classes = Array.from(els.classList.querySelectorAll("input:checked"), (c) => c.value);
    return { minConfidence: Number(els.slider.value), classes: classes.sort() };
  }

  // Can the last answer be filtered to what the controls ask, with the same result the gateway
  // would give? The model's NMS runs per label, and its threshold only removes boxes in score
  // order, so raising the threshold or dropping labels cannot change the boxes that remain.
  // Not when the answer was cut at MAX_DETECTIONS and labels are dropped: more boxes may exist.
  function canFilter(fetched, wanted) {
    if (!fetched || wanted.minConfidence < fetched.params.minConfidence) return false;
    const had = fetched.params.classes;
    const same = had.join(",") === wanted.classes.join(",");
    if (same) return true;
    const narrower =
      wanted.classes.length > 0 &&
      (had.length === 0 || wanted.classes.every((c) => had.includes(c)));
    return narrower && fetched.data.detections.length < MAX_DETECTIONS;
  }

  function filterDetections(detections, params) {
    return detections.filter(
      (d) =>
        d.confidence >= params.minConfidence &&
        (params.classes.length === 0 || params.classes.includes(d.label))
    );
  }

  let debounceTimer = 0;
  function scheduleUpdate() {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(update, DEBOUNCE_MS);
  }

  function update() {
    if (!state.file) return;
    const wanted = wantedParams();
    if (canFilter(state.fetched, wanted)) {
      showResult(wanted, true);
    } else {
      detect(wanted);
    }
  }

  async function detect(params) {
    const name = state.file.name;
    try {
      const answer = await gateway.post("/v1/detect", state.file, params, { annotate: "false" },
        "Finding the objects in " + name + "…");
      if (!answer) return; // superseded by a newer request
      state.fetched = { params, data: answer.body, roundTripMs: answer.ms };
      clearError();
      showResult(params, false);
      if (!state.labelsLoaded) loadLabels();
      fetchPlainCopyIfNeeded();
    } catch (err) {
      showError(err);
    }
  }

  // --- photos ----------------------------------------------------------------------------------

  function usePhoto(file) {
    clearError();
    state.file = file;
    state.fetched = null;
    state.imageBroken = false;
    state.plainCopyTried = false;
    if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
    state.imageUrl = URL.createObjectURL(file);
    els.img.src = state.imageUrl;
    els.img.alt = "Your photo, " + file.name;
    clearResult();
    detect(wantedParams());
  }

  // Browsers cannot display every format the gateway reads (TIFF, mostly). Ask the gateway for
  // an upright PNG of the photo with nothing drawn on it (a threshold of 1 keeps no box), so
  // the page can still draw its own boxes.
  async function fetchPlainCopyIfNeeded() {
    if (!state.imageBroken || !state.fetched || state.plainCopyTried) return;
    state.plainCopyTried = true;
    const status = els.status.textContent; // the result's summary, shown again afterwards
    try {
      const params = { minConfidence: 1, classes: [] };
      const answer = await gateway.post("/v1/detect", state.file, params, { annotate: "true" },
        "Converting the photo for display…");
      if (answer && answer.body.image_base64) {
        els.img.src = "data:image/png;base64," + answer.body.image_base64;
      }
      if (answer) setStatus(status);
    } catch (err) {
      showError(err);
    }
  }

  async function downloadAnnotated() {
    if (!state.file || !state.shownParams) return;
    try {
      const answer = await gateway.post("/detect_objects", state.file, state.shownParams, null,
        "Drawing the boxes on the photo…");
      if (!answer) return;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(answer.body);
      link.download = state.file.name.replace(/\.[^.]*$/, "") + "-objects.png";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      setStatus("The annotated image was downloaded.");
    } catch (err) {
      showError(err);
    }
  }

  // --- showing the result ----------------------------------------------------------------------

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function countByLabel(detections) {
    const counts = new Map();
    for (const d of detections) counts.set(d.label, (counts.get(d.label) || 0) + 1);
    return Array.from(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }

  function swatch(label) {
    const span = document.createElement("span");
    span.className = "swatch";
    span.style.background = labelColour(label);
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  function clearResult() {
    state.shown = [];
    state.active = -1;
    state.shownParams = null;
    els.tbody.replaceChildren();
    els.counts.replaceChildren();
    els.timings.replaceChildren();
    els.summary.textContent = "";
    els.jsonText.textContent = "";
    redraw();
  }

  function showResult(params, local) {
    const data = state.fetched.data;
    state.shownParams = params;
    state.shown = filterDetections(data.detections, params);
    state.active = -1;
    renderTable();
    const counts = countByLabel(state.shown);
    els.counts.replaceChildren(
      ...counts.map(([label, n]) => {
        const li = document.createElement("li");
        li.append(swatch(label), label + " ", Object.assign(document.createElement("b"), {
          textContent: String(n),
        }));
        return li;
      })
    );
    const n = state.shown.length;
    const threshold = "at least " + confidenceText(params.minConfidence) + " confidence";
    els.summary.textContent =
      (n ? plural(n, "object") : "No objects") + " with " + threshold + " in this " +
      data.width + " × " + data.height + " photo" +
      (params.classes.length ? " (only " + params.classes.join(", ") + ")." : ".");
    renderTimings(local);
    els.jsonText.textContent = JSON.stringify(data, null, 2);
    els.results.hidden = false;
    redraw();
    setStatus(n ? "Found " + counts.map(([l, c]) => c + " " + l).join(", ") + "."
      : "No objects found with " + threshold + ".");
  }

  function renderTable() {
    const px = (v) => Math.round(v);
    els.tbody.replaceChildren(
      ...state.shown.map((d, i) => {
        const row = document.createElement("tr");
        row.tabIndex = 0;
        row.dataset.index = String(i);
        const label = document.createElement("td");
        label.append(swatch(d.label), d.label);
        const confidence = document.createElement("td");
        confidence.className = "num";
        confidence.textContent = (d.confidence * 100).toFixed(1) + "%";
        const box = document.createElement("td");
        box.className = "box";
        const b = d.box;
        // No-break spaces: a narrow column may wrap only between the two corners.
        box.textContent = "(" + px(b.x_min) + ",\u00a0" + px(b.y_min) + ")\u00a0– (" +
          px(b.x_max) + ",\u00a0" + px(b.y_max) + ")";
        row.append(label, confidence, box);
        return row;
      })
    );
  }

  function renderTimings(local) {
    const t = state.fetched.data.timings_ms || {};
    const ms = (v) => (typeof v === "number" ? Math.round(v) + " ms" : "–");
    const rows = [
      ["Round trip (upload to answer, measured here)", ms(state.fetched.roundTripMs)],
      ["Gateway total", ms(t.total)],
      ["Model service call", ms(t.upstream)],
      ["Model inference", ms(t.inference)],
    ];
    els.viewNote.hidden = !local;
    els.timings.replaceChildren(
      ...rows.flatMap(([term, value]) => [
        Object.assign(document.createElement("dt"), { textContent: term }),
        Object.assign(document.createElement("dd"), { textContent: value }),
      ])
    );
  }

  // Draw the boxes over the photo; the canvas publishes how many it actually drew.
  function redraw() {
    const ready = state.fetched && els.img.complete && els.img.naturalWidth > 0;
    const drawn = ready
      ? drawDetections(els.canvas, state.shown, state.fetched.data.width, state.active)
      : drawDetections(els.canvas, [], 0, -1);
    els.canvas.dataset.boxes = String(drawn);
    els.canvas.setAttribute(
      "aria-label",
      drawn
        ? "Boxes drawn around: " +
            state.shown.map((d) => d.label + " " + confidenceText(d.confidence)).join(", ")
        : "No boxes drawn"
    );
  }

  // Hovering or focusing a row highlights its box; hovering a box highlights its row.
  function setActive(index) {
    if (index === state.active) return;
    state.active = index;
    for (const row of els.tbody.rows) {
      row.classList.toggle("active", Number(row.dataset.index) === index);
    }
    redraw();
  }

  // --- status, errors, busy ----------------------------------------------------------------------

  function setStatus(text, busy) {
    els.status.textContent = text || "";
    els.status.classList.toggle("busy", Boolean(busy));
  }

  function showError(err) {
    const e = err instanceof PageError ? err : new PageError("Something went wrong.", String(err));
    els.errorTitle.textContent = e.title;
    els.errorDetail.textContent = e.detail;
    els.error.hidden = false;
    setStatus("");
    if (!state.fetched) els.results.hidden = true; // nothing sensible to show for this photo
  }

  function clearError() {
    els.error.hidden = true;
    els.errorTitle.textContent = "";
    els.errorDetail.textContent = "";
  }

  // While a request runs the controls are disabled. Disabling the focused control drops the
  // keyboard focus to <body>, so it is given back afterwards.
  function setBusy(on, message) {
    els.main.dataset.requests = String(gateway.requestCount());
    if (on && document.activeElement !== document.body) state.refocus = document.activeElement;
    els.main.setAttribute("aria-busy", String(on));
    document.body.classList.toggle("busy", on);
    els.controls.disabled = on;
    for (const el of [els.input, els.camera.open, els.download]) el.disabled = on;
    setStatus(on ? message : els.status.textContent, on);
    if (!on && state.refocus && document.activeElement === document.body) {
      state.refocus.focus();
      state.refocus = null;
    }
  }

  // --- the label filter ------------------------------------------------------------------------

  function buildClassList(labels) {
    els.classList.replaceChildren(
      ...labels.map((label) => {
        const item = document.createElement("label");
        const box = Object.assign(document.createElement("input"), {
          type: "checkbox",
          value: label,
        });
        item.append(box, swatch(label), label);
        return item;
      })
    );
  }

  function updateClassSummary() {
    const chosen = wantedParams().classes;
    els.classSummary.textContent = chosen.length ? chosen.join(", ") : "all";
  }

  // --- copy the JSON -----------------------------------------------------------------------------

  async function copyJson() {
    const text = els.jsonText.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      // No async clipboard (plain-http pages): select the text and use the older command.
      const range = document.createRange();
      range.selectNodeContents(els.jsonText);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      if (!document.execCommand("copy")) {
        els.copyStatus.textContent = "Selected: press Ctrl+C to copy.";
        return;
      }
    }
    els.copyStatus.textContent = "Copied.";
    setTimeout(() => (els.copyStatus.textContent = ""), 3000);
  }

  // --- wiring ------------------------------------------------------------------------------------

  function rowIndex(event) {
    const row = event.target.closest && event.target.closest("tr[data-index]");
    return row ? Number(row.dataset.index) : -1;
  }

  function canvasPoint(event) {
    const rect = els.canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  function boxUnder(event) {
    if (!state.fetched) return -1;
    const [x, y] = canvasPoint(event);
    return detectionAt(state.shown, state.fetched.data.width, els.canvas, x, y);
  }

  // A zoom or a move to another screen changes devicePixelRatio without always resizing.
  function watchPixelRatio() {
    const query = window.matchMedia("(resolution: " + window.devicePixelRatio + "dppx)");
    query.addEventListener("change", () => {
      redraw();
      watchPixelRatio();
    }, { once: true });
  }

  function wire() {
    const sources = window.PhotoSources;
    sources.watchPicker(els.input, usePhoto);
    sources.watchDrop(usePhoto);
    sources.watchPaste(usePhoto);
    sources.setUpCamera(els.camera, usePhoto, (title, detail) =>
      showError(new PageError(title, detail)));

    els.slider.addEventListener("input", () => {
      els.sliderValue.textContent = confidenceText(Number(els.slider.value));
      scheduleUpdate();
    });
    els.classList.addEventListener("change", () => {
      updateClassSummary();
      scheduleUpdate();
    });
    els.classSearch.addEventListener("input", () => {
      const needle = els.classSearch.value.trim().toLowerCase();
      for (const item of els.classList.children) {
        item.hidden = needle !== "" && !item.textContent.toLowerCase().includes(needle);
      }
    });
    els.classClear.addEventListener("click", () => {
      els.classList.querySelectorAll("input:checked").forEach((c) => (c.checked = false));
      updateClassSummary();
      scheduleUpdate();
    });

    els.tbody.addEventListener("mouseover", (event) => setActive(rowIndex(event)));
    els.tbody.addEventListener("mouseleave", () => setActive(-1));
    els.tbody.addEventListener("focusin", (event) => setActive(rowIndex(event)));
    els.tbody.addEventListener("focusout", () => setActive(-1));
    els.canvas.addEventListener("pointermove", (event) => setActive(boxUnder(event)));
    els.canvas.addEventListener("pointerdown", (event) => setActive(boxUnder(event)));
    els.canvas.addEventListener("pointerleave", () => setActive(-1));

    els.img.addEventListener("load", redraw);
    els.img.addEventListener("error", () => {
      if (!els.img.getAttribute("src")) return;
      state.imageBroken = true;
      fetchPlainCopyIfNeeded();
    });
    new ResizeObserver(redraw).observe(els.stage);
    watchPixelRatio();

    els.download.addEventListener("click", downloadAnnotated);
    els.copyJson.addEventListener("click", copyJson);
    els.sliderValue.textContent = confidenceText(Number(els.slider.value));
    els.main.dataset.requests = "0";
  }

  wire();
  loadLabels();
})();
