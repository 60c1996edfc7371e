// Draws the detected boxes on a <canvas> laid over the photo.
// The canvas backing store is sized in device pixels (CSS size x devicePixelRatio), so lines and
// text stay sharp on any screen; the caller redraws whenever the displayed size changes.
(function () {
  "use strict";

  const FONT_PX = 13;
  const PAD_PX = 4;

  // A stable colour per label: the same label gets the same colour in every photo and in the
  // table, without needing the label list. Hues are spread by a string hash.
  function labelColour(label) {
    let hash = 0;
    for (let i = 0; i < label.length; i++) {
      hash = (hash * 31 + label.charCodeAt(i)) >>> 0;
    }
    const hue = (hash * 137) % 360; // 137 degrees: neighbouring hashes land far apart
    return "hsl(" + hue + " 85% 42%)";
  }

  function confidenceText(confidence) {
    return Math.round(confidence * 100) + "%";
  }

  // Fit the canvas's backing store to its displayed size; returns a context drawing in CSS px.
  function fitCanvas(canvas, cssWidth, cssHeight) {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(cssWidth * dpr));
    const height = Math.max(1, Math.round(cssHeight * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width; // resizing also clears the canvas
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  // The box in CSS pixels of the displayed photo.
  function screenBox(det, scale) {
    const b = det.box;
    return {
      x: b.x_min * scale,
      y: b.y_min * scale,
      w: (b.x_max - b.x_min) * scale,
      h: (b.y_max - b.y_min) * scale,
    };
  }

  function drawTag(ctx, text, colour, box, cssWidth) {
    ctx.font = "600 " + FONT_PX + "px system-ui, sans-serif";
    const tagW = ctx.measureText(text).width + 2 * PAD_PX;
    const tagH = FONT_PX + 2 * PAD_PX;
    // Above the box when there is room, else just inside its top edge; never off the right side.
    const x = Math.max(0, Math.min(box.x, cssWidth - tagW));
    const y = box.y >= tagH ? box.y - tagH : box.y;
    ctx.fillStyle = colour;
    ctx.fillRect(x, y, tagW, tagH);
    ctx.fillStyle = "#fff";
    ctx.textBaseline = "middle";
    ctx.fillText(text, x + PAD_PX, y + tagH / 2 + 0.5);
  }

  // Draw every detection; `active` (an index, or -1) is emphasised and the others dimmed.
  // Returns the number of boxes drawn, which the page publishes for tests and tools.
  function drawDetections(canvas, detections, imageWidth, active) {
    const cssWidth = canvas.clientWidth;
    const cssHeight = canvas.clientHeight;
    const ctx = fitCanvas(canvas, cssWidth, cssHeight);
    if (!imageWidth || !cssWidth) return 0;
    const scale = cssWidth / imageWidth;
    // Draw the active box last so it sits on top of the others.
    const order = detections.map((_, i) => i).filter((i) => i !== active);
    if (active >= 0 && active < detections.length) order.push(active);
    for (const i of order) {
      const det = detections[i];
      const colour = labelColour(det.label);
      const box = screenBox(det, scale);
      const isActive = i === active;
      ctx.globalAlpha = active >= 0 && !isActive ? 0.35 : 1;
      if (isActive) {
        ctx.fillStyle = colour;
        ctx.globalAlpha = 0.18;
        ctx.fillRect(box.x, box.y, box.w, box.h);
        ctx.globalAlpha = 1;
      }
      ctx.lineWidth = isActive ? 4 : 2;
      ctx.strokeStyle = colour;
      ctx.strokeRect(box.x, box.y, box.w, box.h);
      drawTag(ctx, det.label + " " + confidenceText(det.confidence), colour, box, cssWidth);
    }
    ctx.globalAlpha = 1;
    return order.length;
  }

  // Index of the detection under a point (CSS px on the canvas), or -1. The smallest box wins,
  // so a small object inside a large one (a cup on a table) can still be picked.
  function detectionAt(detections, imageWidth, canvas, x, y) {
    const scale = canvas.clientWidth / imageWidth;
    let found = -1;
    let foundArea = Infinity;
    detections.forEach((det, i) => {
      const box = screenBox(det, scale);
      const inside = x >= box.x && x <= box.x + box.w && y >= box.y && y <= box.y + box.h;
      if (inside && box.w * box.h < foundArea) {
        found = i;
        foundArea = box.w * box.h;
      }
    });
    return found;
  }

  window.BoxDrawing = { labelColour, confidenceText, drawDetections, detectionAt };
})();
