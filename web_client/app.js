// Upload a photo to the gateway's /v1/detect and show what it found.
(function () {
  "use strict";

  const gateway = String(window.GATEWAY_URL || "").replace(/\/+$/, "");
  const endpoint = gateway + "/v1/detect";

  const form = document.getElementById("upload-form");
  const input = document.getElementById("photo");
  const dropZone = document.getElementById("drop-zone");
  const slider = document.getElementById("min-confidence");
  const sliderValue = document.getElementById("min-confidence-value");
  const button = document.getElementById("detect-button");
  const statusEl = document.getElementById("status");
  const errorEl = document.getElementById("error");
  const results = document.getElementById("results");
  const annotated = document.getElementById("annotated");
  const summary = document.getElementById("summary");
  const tbody = document.getElementById("detections");

  let chosenFile = null;
  let busy = false;

  const percent = (x) => Math.round(x * 100) + "%";
  const px = (x) => Math.round(x);

  function setStatus(text, isBusy) {
    statusEl.textContent = text;
    statusEl.classList.toggle("busy", Boolean(isBusy));
  }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    setStatus("", false);
  }

  function clearError() {
    errorEl.hidden = true;
    errorEl.textContent = "";
  }

  function chooseFile(file) {
    clearError();
    chosenFile = file || null;
    button.disabled = busy || !chosenFile;
    setStatus(chosenFile ? "Ready: " + chosenFile.name : "", false);
  }

  // Turn a failed response into one sentence, preferring the gateway's own "detail".
  async function describeFailure(response) {
    let detail = "";
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string") {
        detail = body.detail;
      } else if (body && body.detail) {
        detail = JSON.stringify(body.detail);
      }
    } catch (_) {
      // Not JSON (a proxy's error page, for instance): fall back to the status line.
    }
    return detail || "The request failed (HTTP " + response.status + " " + response.statusText + ").";
  }

  function render(data) {
    if (data.image_base64) {
      annotated.src = "data:image/" + (data.image_format || "png") + ";base64," + data.image_base64;
      annotated.hidden = false;
    } else {
      annotated.removeAttribute("src");
      annotated.hidden = true;
    }
    const labels = data.detections.map((d) => d.label);
    annotated.alt = labels.length
      ? "The photo with boxes around: " + labels.join(", ") + "."
      : "The photo; no objects were found.";

    const n = data.detections.length;
    summary.textContent =
      (n === 0 ? "No objects found" : n + (n === 1 ? " object" : " objects") + " found") +
      " in a " + data.width + " × " + data.height + " image by " + data.model +
      " in " + Math.round(data.timings_ms.total) + " ms.";

    tbody.replaceChildren();
    for (const d of data.detections) {
      const row = document.createElement("tr");
      const label = document.createElement("td");
      label.textContent = d.label;
      const confidence = document.createElement("td");
      confidence.className = "num";
      confidence.textContent = (d.confidence * 100).toFixed(1) + "%";
      const box = document.createElement("td");
      box.className = "box";
      const b = d.box;
      box.textContent = "(" + px(b.x_min) + ", " + px(b.y_min) + ") – (" + px(b.x_max) + ", " + px(b.y_max) + ")";
      row.append(label, confidence, box);
      tbody.append(row);
    }
    results.hidden = false;
  }

  async function detect() {
    if (!chosenFile || busy) return;
    busy = true;
    button.disabled = true;
    clearError();
    setStatus("Detecting objects in " + chosenFile.name + "…", true);
    const body = new FormData();
    body.append("image", chosenFile, chosenFile.name);
    body.append("min_confidence", slider.value);
    try {
      let response;
      try {
        response = await fetch(endpoint, { method: "POST", body: body });
      } catch (_) {
        throw new Error("Could not reach the detection service" +
          (gateway ? " at " + gateway : "") + ". Check your connection and try again.");
      }
      if (!response.ok) {
        throw new Error(await describeFailure(response));
      }
      const data = await response.json();
      render(data);
      setStatus("Done.", false);
    } catch (err) {
      showError(err.message || String(err));
    } finally {
      busy = false;
      button.disabled = !chosenFile;
    }
  }

  input.addEventListener("change", () => chooseFile(input.files[0]));

  slider.addEventListener("input", () => {
    sliderValue.textContent = percent(Number(slider.value));
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    detect();
  });

  for (const name of ["dragenter", "dragover"]) {
    dropZone.addEventListener(name, (event) => {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropZone.addEventListener(name, () => dropZone.classList.remove("dragging"));
  }
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) {
      try {
        input.files = event.dataTransfer.files; // show the dropped file's name in the input
      } catch (_) {
        // Older browsers cannot assign a FileList; the drop still works.
      }
      chooseFile(file);
      detect();
    }
  });

  sliderValue.textContent = percent(Number(slider.value));
})();
