// The console's only way to the server: the public API under /api/v1, as any client.
// The access token lives in this module's memory only. The refresh token is kept in
// sessionStorage (this tab only, gone when it closes) so a reload keeps the session; every
// refresh rotates it, and the server revokes the whole session if an old one is replayed.

const BASE = "/api/v1";
let access = null;
let refreshing = null;
let renewTimer = null;
let onLogout = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function onSessionEnd(fn) { onLogout = fn; }
export const loggedIn = () => access !== null;

function keep(pair) {
  access = pair.access_token;
  sessionStorage.setItem("comanda.refresh", pair.refresh_token);
  clearTimeout(renewTimer);
  // Renew a little before the access token expires, so polling never meets a 401.
  const ms = Math.max(5, (pair.expires_in || 60) - 30) * 1000;
  renewTimer = setTimeout(() => refresh().catch(() => {}), ms);
}

function forget() {
  access = null;
  clearTimeout(renewTimer);
  sessionStorage.removeItem("comanda.refresh");
}

async function send(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, cache: "no-store" };
  if (access) init.headers.Authorization = `Bearer ${access}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(BASE + path, init);
}

async function parse(resp) {
  if (resp.status === 204) return null;
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export async function login(email, password) {
  const resp = await send("POST", "/auth/login", { email, password });
  keep(await parse(resp));
  return me();
}

// One refresh at a time: parallel polls that all meet a 401 share it.
export function refresh() {
  if (!refreshing) {
    const token = sessionStorage.getItem("comanda.refresh");
    refreshing = (async () => {
      if (!token) throw new ApiError(401, { message: "no session" });
      const resp = await fetch(`${BASE}/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      keep(await parse(resp));
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function resume() {
  if (!sessionStorage.getItem("comanda.refresh")) return null;
  try {
    await refresh();
    return await me();
  } catch {
    forget();
    return null;
  }
}

export async function logout() {
  try { await send("POST", "/auth/logout"); } catch { /* the session ends here anyway */ }
  forget();
}

export async function call(method, path, body, headers) {
  let resp = await send(method, path, body, headers);
  if (resp.status === 401 && sessionStorage.getItem("comanda.refresh")) {
    try {
      await refresh();
    } catch {
      forget();
      onLogout();
      throw new ApiError(401, { message: "session ended" });
    }
    resp = await send(method, path, body, headers);
  }
  return parse(resp);
}

export const get = (path) => call("GET", path);
export const post = (path, body, headers) => call("POST", path, body, headers);
export const patch = (path, body) => call("PATCH", path, body);
export const me = () => get("/auth/me");
