// Talking to the gateway: one POST at a time (a newer request aborts the one in flight and
// stale answers are dropped), and every failure turned into a title and a detail for people.
(function () {
  "use strict";

  const CLIENT_TIMEOUT_MS = 90000; // the gateway answers 504 after 30 s; this catches the rest

  class PageError extends Error {
    constructor(title, detail) {
      super(title + " " + detail);
      this.title = title;
      this.detail = detail;
    }
  }

  const STATUS_TITLES = {
    401: "This gateway needs an API key.",
    413: "The photo is too large.",
    415: "That file is not a photo the service can read.",
    422: "The service could not use that file.",
    429: "The service is busy.",
    502: "The model service is unavailable.",
    503: "The service is busy.",
    504: "The model took too long to answer.",
  };

  // FastAPI's own validation errors are a list of {loc, msg}; the gateway's are one sentence.
  function detailText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => (d && d.msg ? (d.loc ? d.loc[d.loc.length - 1] + ": " : "") + d.msg : ""))
        .filter(Boolean)
        .join("; ");
    }
    return detail ? JSON.stringify(detail) : "";
  }

  async function failure(response) {
    let detail = "";
    try {
      detail = detailText((await response.json()).detail);
    } catch (_) {
      // Not JSON (a proxy's error page, for instance): the status line has to do.
    }
    const status = response.status;
    let title = STATUS_TITLES[status] || "The request failed (HTTP " + status + ").";
    const retry = response.headers.get("Retry-After");
    if ((status === 429 || status === 503) && retry) title += " Try again in " + retry + " s.";
    return new PageError(title, detail || response.statusText || "");
  }

  function formFor(file, params, extra) {
    const body = new FormData();
    body.append("image", file, file.name);
    body.append("min_confidence", String(params.minConfidence));
    body.append("classes", params.classes.join(","));
    for (const [key, value] of Object.entries(extra || {})) body.append(key, value);
    return body;
  }

  // A client for the gateway at `baseUrl` ("" = this page's origin). `onBusy(on, message)` is
  // called when the latest request starts and ends.
  function connect(baseUrl, onBusy) {
    const base = String(baseUrl || "").replace(/\/+$/, "");
    let controller = null;
    let seq = 0;
    let count = 0;

    function unreachable() {
      return new PageError(
        "Could not reach the gateway.",
        "Nothing answered at " + (base || window.location.origin) +
          ": it may be down or restarting. Try again in a moment."
      );
    }

    // POST the photo with the options; resolves to { body, ms } (JSON, or a Blob for images),
    // or to null when a newer request replaced this one. Throws PageError.
    async function post(path, file, params, extra, busyMessage) {
      if (controller) controller.abort();
      const mine = new AbortController();
      controller = mine;
      const id = ++seq;
      count += 1;
      const isCurrent = () => id === seq;
      onBusy(true, busyMessage);
      const timer = setTimeout(() => mine.abort(), CLIENT_TIMEOUT_MS);
      const started = performance.now();
      try {
        let response;
        try {
          response = await fetch(base + path, {
            method: "POST",
            body: formFor(file, params, extra),
            signal: mine.signal,
          });
        } catch (err) {
          if (!isCurrent()) return null;
          if (mine.signal.aborted) {
            throw new PageError("No answer in time.", "The gateway did not answer within 90 s.");
          }
          throw unreachable();
        }
        if (!response.ok) throw await failure(response);
        const type = response.headers.get("Content-Type") || "";
        const body = type.startsWith("image/") ? await response.blob() : await response.json();
        return isCurrent() ? { body, ms: performance.now() - started } : null;
      } catch (err) {
        if (!isCurrent()) return null;
        throw err instanceof PageError ? err : new PageError("Unexpected answer.", String(err));
      } finally {
        clearTimeout(timer);
        if (isCurrent()) {
          controller = null;
          onBusy(false);
        }
      }
    }

    async function labels() {
      let response;
      try {
        response = await fetch(base + "/v1/labels");
      } catch (_) {
        throw unreachable();
      }
      if (!response.ok) throw await failure(response);
      return (await response.json()).labels;
    }

    return { post, labels, requestCount: () => count };
  }

  window.GatewayClient = { connect, PageError };
})();
