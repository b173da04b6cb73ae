// Tiles that never stay blank: every tile of the map is fetched through the "retry://"
// protocol, which asks again after the server's Retry-After (429 when the client spent its
// share of server time, 503 when the database is busy) and tells the viewer when a tile keeps
// failing, so that it can show a notice and offer to try again.

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const MAX_TRIES = 6;
const NOTICE_AFTER = 2;  // failed tries of one tile before the notice shows
const PREFIX = "retry://";

export function retryUrl(url) { return `${PREFIX}${url}`; }

function retryAfterMs(response, attempt) {
  const seconds = Number(response.headers.get("Retry-After"));
  const base = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 500 * 2 ** attempt;
  return Math.min(base, 15_000) + Math.random() * 250;  // spread the retries a little
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("aborted", "AbortError")); }, { once: true });
  });
}

// Register the protocol; `report(state)` hears "retrying", "failed" and "ok".
export function setupTileRetry(report) {
  const stats = { retried: 0, failed: 0 };
  maplibregl.addProtocol("retry", async (params, abortController) => {
    const url = params.url.slice(PREFIX.length);
    const signal = abortController.signal;
    for (let attempt = 1; ; attempt += 1) {
      let response = null;
      try {
        response = await fetch(url, { signal });
      } catch (error) {
        if (signal.aborted) throw error;  // MapLibre no longer needs the tile
      }
      if (response && response.ok) {
        if (attempt > 1) report("ok");
        return { data: await response.arrayBuffer() };
      }
      const retriable = !response || RETRY_STATUSES.has(response.status);
      if (!retriable) throw new Error(`tile ${url}: ${response.status}`);
      if (attempt >= MAX_TRIES) {
        stats.failed += 1;
        report("failed");
        throw new Error(`tile ${url}: still ${response ? response.status : "unreachable"}`);
      }
      stats.retried += 1;
      if (attempt >= NOTICE_AFTER) report("retrying");
      await pause(response ? retryAfterMs(response, attempt) : 500 * 2 ** attempt, signal);
    }
  });
  return stats;
}
