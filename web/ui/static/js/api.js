// The appliance's JSON API (docs/api.md), in one place.

const base = "/api/v1";

export class APIError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// request sends a JSON request and decodes a JSON reply. Errors carry the
// server's message ({"message": "..."} from Echo) and its status.
// The CSRF token of the session: login and auth/me return it, and the
// linesight_csrf cookie holds it too.
let csrf = "";
export function setCSRF(token) { csrf = token || ""; }
function csrfToken() {
  if (csrf) return csrf;
  const m = document.cookie.match(/(?:^|;\s*)linesight_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function request(method, path, body, opts = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    if (typeof Blob !== "undefined" && body instanceof Blob) {
      // A file upload: the bytes as they are, typed as the file is.
      init.body = body;
      init.headers["Content-Type"] = opts.contentType || body.type || "application/octet-stream";
    } else if (typeof body === "string") {
      init.body = body;
      init.headers["Content-Type"] = opts.contentType || "text/plain";
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  const resp = await fetch(base + path, init);
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    let msg = resp.statusText;
    if (data && typeof data === "object") msg = data.message || data.error || msg;
    else if (typeof data === "string" && data.trim()) msg = data.trim();
    if (resp.status === 401 && opts.onUnauthorized !== false) {
      window.dispatchEvent(new CustomEvent("linesight:unauthorized"));
    }
    throw new APIError(resp.status, msg, data);
  }
  return data;
}

export const get = (path, opts) => request("GET", path, undefined, opts);
export const post = (path, body, opts) => request("POST", path, body, opts);
export const put = (path, body, opts) => request("PUT", path, body, opts);
export const del = (path, opts) => request("DELETE", path, undefined, opts);

// query turns an object into a query string, skipping empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

export const url = (path) => base + path;
