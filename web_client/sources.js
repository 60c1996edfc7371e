// Every way a photo can reach the page: file picker, drag and drop anywhere on the page, paste
// from the clipboard, and the camera. Each one ends in `onPhoto(file)`.
(function () {
  "use strict";

  // The first file in a DataTransfer (drop or paste), preferring images. A non-image is still
  // returned: the gateway decides by content and its message explains the refusal.
  function fileFrom(transfer) {
    if (!transfer) return null;
    const files = Array.from(transfer.files || []);
    if (!files.length && transfer.items) {
      for (const item of transfer.items) {
        const file = item.kind === "file" ? item.getAsFile() : null;
        if (file) files.push(file);
      }
    }
    return files.find((f) => f.type.startsWith("image/")) || files[0] || null;
  }

  function hasFiles(event) {
    const types = event.dataTransfer ? Array.from(event.dataTransfer.types || []) : [];
    return types.includes("Files");
  }

  function watchPicker(input, onPhoto) {
    input.addEventListener("change", () => {
      if (input.files && input.files[0]) onPhoto(input.files[0]);
    });
  }

  // The whole page is a drop target; body.dragging shows the "drop it here" overlay.
  function watchDrop(onPhoto) {
    let depth = 0; // dragenter/dragleave fire for every child element crossed
    document.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      document.body.classList.add("dragging");
    });
    document.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault(); // required, or the browser opens the file instead
      event.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) document.body.classList.remove("dragging");
    });
    document.addEventListener("drop", (event) => {
      depth = 0;
      document.body.classList.remove("dragging");
      const file = fileFrom(event.dataTransfer);
      if (!file) return;
      event.preventDefault();
      onPhoto(file);
    });
  }

  // Ctrl+V / Cmd+V with an image on the clipboard, unless the user is typing in a text field.
  function watchPaste(onPhoto) {
    document.addEventListener("paste", (event) => {
      const target = event.target;
      if (target && target.matches && target.matches("input[type=search], textarea")) return;
      const file = fileFrom(event.clipboardData);
      if (!file) return;
      event.preventDefault();
      const ext = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
      // Pasted screenshots are all called "image.png"; a clearer name helps in the status line.
      onPhoto(new File([file], "pasted-image." + ext, { type: file.type }));
    });
  }

  // The camera: a live preview and a capture button. Hidden where the browser has no
  // getUserMedia (old browsers, or pages not served over HTTPS / localhost).
  function setUpCamera(els, onPhoto, onError) {
    const supported = Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    els.open.hidden = !supported;
    if (!supported) return;
    let stream = null;

    function stop() {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      els.video.srcObject = null;
      els.panel.hidden = true;
      els.open.setAttribute("aria-expanded", "false");
    }

    els.open.addEventListener("click", async () => {
      if (stream) {
        stop();
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "environment" },
          audio: false,
        });
      } catch (err) {
        stream = null;
        const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
        onError(
          denied ? "Camera access was refused." : "No camera is available.",
          denied
            ? "Allow the camera for this page in the browser's settings, or choose a file."
            : "Choose a file, drop one on the page, or paste one instead."
        );
        return;
      }
      els.video.srcObject = stream;
      els.panel.hidden = false;
      els.open.setAttribute("aria-expanded", "true");
      els.capture.focus();
    });

    els.capture.addEventListener("click", () => {
      const { videoWidth: w, videoHeight: h } = els.video;
      if (!w || !h) return; // the stream has not delivered a frame yet
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      canvas.getContext("2d").drawImage(els.video, 0, 0, w, h);
      canvas.toBlob(
        (blob) => {
          stop();
          if (blob) onPhoto(new File([blob], "camera.jpg", { type: "image/jpeg" }));
        },
        "image/jpeg",
        0.92
      );
    });
    els.cancel.addEventListener("click", stop);
  }

  window.PhotoSources = { watchPicker, watchDrop, watchPaste, setUpCamera };
})();
