// client/backoff.ts
function backoffDelay(attempt, policy, random, retryAfterMs) {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.floor(random() * cap);
  return retryAfterMs === void 0 ? jittered : Math.max(retryAfterMs, jittered);
}
function parseRetryAfter(header, nowMs) {
  if (header === null) return void 0;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1e3;
  const date = /[A-Za-z]/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(date) ? void 0 : Math.max(0, date - nowMs);
}

// client/errors.ts
var SyncApiError = class extends Error {
  status;
  code;
  details;
  retryAfterMs;
  name;
  constructor(status, code, message, details = {}, retryAfterMs) {
    super(message), this.status = status, this.code = code, this.details = details, this.retryAfterMs = retryAfterMs, this.name = "SyncApiError";
  }
  /** The contract's error object, as a rejected change carries it. */
  toWire() {
    return {
      code: this.code,
      message: this.message,
      details: this.details
    };
  }
};
var NetworkError = class extends Error {
  name = "NetworkError";
};
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

// client/runtime.ts
var REAL_RUNTIME = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id)
};

// client/http.ts
async function requestJson(options, method, path, { token, body, signal }) {
  const runtime = options.runtime ?? REAL_RUNTIME;
  const timeout = new AbortController();
  const timer = runtime.setTimeout(() => timeout.abort(), options.timeoutMs ?? 3e4);
  const signals = signal ? [
    signal,
    timeout.signal
  ] : [
    timeout.signal
  ];
  let res;
  let text;
  try {
    res = await (options.fetch ?? fetch)(new URL(path, options.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...body !== void 0 && {
          "content-type": "application/json"
        }
      },
      body: body === void 0 ? void 0 : JSON.stringify(body),
      signal: AbortSignal.any(signals)
    });
    text = await res.text();
  } catch (error2) {
    if (signal?.aborted) throw new DOMException("The request was aborted", "AbortError");
    if (timeout.signal.aborted) throw new NetworkError(`${method} ${path} timed out`);
    throw new NetworkError(`${method} ${path} failed: ${describe(error2)}`);
  } finally {
    runtime.clearTimeout(timer);
  }
  if (res.ok) return text ? JSON.parse(text) : void 0;
  const error = parseError(text);
  throw new SyncApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? `${method} ${path} answered ${res.status}`, error?.details ?? {}, parseRetryAfter(res.headers.get("retry-after"), runtime.now()));
}
function parseError(text) {
  try {
    const error = JSON.parse(text)?.error;
    return typeof error?.code === "string" && typeof error?.message === "string" ? error : null;
  } catch {
    return null;
  }
}

// client/register_device.ts
function registerDevice(options) {
  return requestJson(options, "POST", "/api/devices/register", {
    token: options.accountToken,
    body: {
      name: options.name,
      platform: options.platform,
      ...options.installId !== void 0 && {
        install_id: options.installId
      },
      ...options.appVersion !== void 0 && {
        app_version: options.appVersion
      }
    }
  });
}

// client/sync_api.ts
var SyncApi = class {
  options;
  constructor(options) {
    this.options = options;
  }
  push(changes, signal) {
    return this.#call("POST", "/api/sync/data", {
      changes
    }, signal);
  }
  pull(query, signal) {
    const params = new URLSearchParams();
    if (query.since) params.set("since", query.since);
    if (query.limit) params.set("limit", String(query.limit));
    if (query.collections) params.set("collections", query.collections.join(","));
    return this.#call("GET", `/api/sync/data?${params}`, void 0, signal);
  }
  async conflicts(status = "open") {
    const body = await this.#call("GET", `/api/sync/conflicts?status=${status}`);
    return body.conflicts;
  }
  /** Resolves a manual conflict; answers the item as it now is. */
  resolve(conflictId, choice) {
    return this.#call("POST", `/api/sync/conflicts/${encodeURIComponent(conflictId)}/resolve`, choice);
  }
  async devices() {
    return (await this.#call("GET", "/api/devices")).devices;
  }
  deleteDevice(deviceId) {
    return this.#call("DELETE", `/api/devices/${encodeURIComponent(deviceId)}`);
  }
  stats() {
    return this.#call("GET", "/api/sync/stats");
  }
  #call(method, path, body, signal) {
    return requestJson(this.options, method, path, {
      token: this.options.token,
      body,
      signal
    });
  }
};

// client/wire.ts
var WS_PROTOCOL = "devpocket.sync.v1";
var WS_BEARER_PREFIX = "bearer.";
var WS_CLOSE = {
  unauthorized: 4401,
  rateLimited: 4429,
  internal: 1011,
  restarting: 1012,
  slowConsumer: 1013
};

// client/sync_socket.ts
var RATE_LIMITED_FLOOR_MS = 1e4;
var DEAD_LINK = 4e3;
var SyncSocket = class {
  #o;
  #runtime;
  #socket = null;
  #running = false;
  #attempt = 0;
  #retryTimer = null;
  #pingTimer = null;
  #awaitingAnswer = false;
  constructor(options) {
    this.#o = options;
    this.#runtime = options.runtime ?? REAL_RUNTIME;
  }
  /** True while a socket is open. */
  get open() {
    return this.#socket?.readyState === 1;
  }
  start() {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }
  /** Closes the socket (1000) and stops reconnecting. */
  stop() {
    this.#running = false;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    if (socket?.readyState === 0) {
      socket.onmessage = null;
      socket.onopen = () => socket.close(1e3, "Client stopped");
    } else if (socket?.readyState === 1) socket.close(1e3, "Client stopped");
  }
  /** Reconnects now if it is waiting out a backoff (the network is back). */
  retryNow() {
    if (this.#retryTimer === null) return;
    this.#runtime.clearTimeout(this.#retryTimer);
    this.#connect();
  }
  /** Sends a message if a socket is open; false when it could not. */
  send(message) {
    if (!this.open) return false;
    try {
      this.#socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }
  #connect() {
    this.#retryTimer = null;
    if (!this.#running) return;
    const url = new URL("/api/sync/ws", this.#o.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = (this.#o.webSocket ?? ((u, p) => new WebSocket(u, p)))(url.toString(), [
        WS_PROTOCOL,
        WS_BEARER_PREFIX + this.#o.token
      ]);
    } catch {
      return this.#closed(1006);
    }
    this.#socket = socket;
    socket.onopen = () => {
      const cursor = this.#o.cursor();
      this.send({
        type: "hello",
        ...cursor && {
          cursor
        }
      });
      this.#ping();
      this.#o.onOpen?.();
    };
    socket.onmessage = (event) => {
      this.#awaitingAnswer = false;
      let message;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.type === "pong") this.#attempt = 0;
      this.#o.onMessage(message);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#closed(event.code);
    };
  }
  #ping() {
    if (this.#awaitingAnswer) {
      const socket = this.#socket;
      this.#socket = null;
      try {
        socket.close(DEAD_LINK, "No answer to ping");
      } catch {
      }
      return this.#closed(DEAD_LINK);
    }
    this.#awaitingAnswer = this.send({
      type: "ping"
    });
    this.#pingTimer = this.#runtime.setTimeout(() => this.#ping(), this.#o.pingEveryMs ?? 25e3);
  }
  #closed(code) {
    this.#clearTimers();
    this.#socket = null;
    this.#awaitingAnswer = false;
    if (!this.#running) return;
    if (code === WS_CLOSE.unauthorized) {
      this.#running = false;
      this.#o.onClose?.(code);
      this.#o.onUnauthorized?.();
      return;
    }
    const policy = this.#o.backoff ?? {
      baseMs: 500,
      maxMs: 3e4
    };
    const floor = code === WS_CLOSE.rateLimited ? RATE_LIMITED_FLOOR_MS : void 0;
    const delay = backoffDelay(this.#attempt++, policy, this.#runtime.random, floor);
    this.#o.onClose?.(code, delay);
    this.#retryTimer = this.#runtime.setTimeout(() => this.#connect(), delay);
  }
  #clearTimers() {
    if (this.#retryTimer !== null) this.#runtime.clearTimeout(this.#retryTimer);
    if (this.#pingTimer !== null) this.#runtime.clearTimeout(this.#pingTimer);
    this.#retryTimer = this.#pingTimer = null;
  }
};

// console/dom.ts
var globals = globalThis;
var session = () => globals.sessionStorage;
var local = () => globals.localStorage;
function byId(id) {
  const el = globals.document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el;
}
function h(tag, attrs = {}, ...children) {
  const el = globals.document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "disabled" || name === "checked") el[name] = value === true;
    else if (value !== void 0 && value !== false) el.setAttribute(name, String(value));
  }
  el.append(...children);
  return el;
}

// console/views.ts
function devicesView(devices, me, actions2, now) {
  if (devices.length === 0) return h("p", {}, "No devices.");
  const rows = devices.map((d) => {
    const remove = h("button", {
      type: "button",
      class: "danger",
      "data-device": d.id
    }, "Delete");
    let armed = false;
    remove.addEventListener("click", () => {
      if (!armed) {
        armed = true;
        remove.textContent = "Confirm delete";
        return;
      }
      remove.disabled = true;
      actions2.deleteDevice(d.id);
    });
    return h("tr", {
      "data-device-row": d.id
    }, h("td", {}, d.name, d.id === me ? " (this console)" : ""), h("td", {}, d.platform), h("td", {
      class: d.online ? "online" : "offline"
    }, d.online ? "online" : "offline"), h("td", {}, d.behind === void 0 ? "\u2014" : String(d.behind)), h("td", {}, ago(d.last_seen_at, now)), h("td", {}, remove));
  });
  return h("table", {}, h("thead", {}, h("tr", {}, ...[
    "Device",
    "Platform",
    "Status",
    "Behind",
    "Last seen",
    ""
  ].map((t) => h("th", {}, t)))), h("tbody", {}, ...rows));
}
function statsView(stats) {
  const counts = Object.entries(stats.collections).map(([name, c]) => h("tr", {}, h("td", {}, name), h("td", {}, String(c.items)), h("td", {}, String(c.deleted))));
  const conflicts = stats.conflicts;
  return h("div", {}, h("dl", {}, h("dt", {}, "Cursor"), h("dd", {}, stats.cursor), h("dt", {}, "Open conflicts"), h("dd", {
    id: "open-conflicts"
  }, String(conflicts.open ?? 0)), h("dt", {}, "Resolved conflicts"), h("dd", {}, String(conflicts.resolved ?? 0)), h("dt", {}, "Filtered commands"), h("dd", {}, String(stats.filtered_commands))), h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Collection"), h("th", {}, "Items"), h("th", {}, "Deleted"))), h("tbody", {}, ...counts)));
}
function conflictsView(conflicts, actions2) {
  if (conflicts.length === 0) return h("p", {
    id: "no-conflicts"
  }, "No open conflicts.");
  return h("div", {}, ...conflicts.map((c) => conflictCard(c, actions2)));
}
function conflictCard(conflict, actions2) {
  const remember = h("input", {
    type: "checkbox"
  });
  const buttons = h("div", {
    class: "buttons"
  });
  const choose = (resolution) => () => {
    for (const b of [
      keepLocal,
      keepRemote,
      merge
    ]) b.disabled = true;
    actions2.resolve(conflict, resolution, remember.checked);
  };
  const keepLocal = h("button", {
    type: "button",
    "data-resolve": "local",
    onclick: choose("local")
  }, "Keep incoming");
  const keepRemote = h("button", {
    type: "button",
    "data-resolve": "remote",
    onclick: choose("remote")
  }, "Keep stored");
  const merge = h("button", {
    type: "button",
    "data-resolve": "merged",
    disabled: conflict.local.data === null || conflict.remote.data === null,
    onclick: choose("merged")
  }, "Merge both");
  buttons.append(keepLocal, keepRemote, merge, h("label", {}, remember, " remember for this collection"));
  const side = (title, v) => h("div", {
    class: "side"
  }, h("h4", {}, title), h("pre", {}, v.deleted ? "(deleted)" : JSON.stringify(v.data, null, 2)), h("small", {}, `device ${v.device_id}, ${new Date(v.modified_at).toISOString()}`));
  return h("article", {
    class: "conflict",
    "data-conflict": conflict.id
  }, h("h3", {}, `${conflict.collection} / ${conflict.item_id}`), h("div", {
    class: "sides"
  }, side("Incoming change", conflict.local), side("Stored", conflict.remote)), buttons);
}
function ago(at, now) {
  if (at === null) return "never";
  const seconds = Math.max(0, Math.round((now - at) / 1e3));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

// console/app.ts
var TOKEN_KEY = "devpocket.console.token";
var INSTALL_KEY = "devpocket.console.install_id";
var baseUrl = globalThis.location.origin;
var current = null;
var pending = /* @__PURE__ */ new Map();
byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  void open(byId("token").value.trim());
});
byId("sign-out").addEventListener("click", () => close("Signed out."));
var saved = session().getItem(TOKEN_KEY);
if (saved) void open(saved);
setInterval(() => current && later("devices"), 3e4);
async function open(token) {
  if (!token) return;
  showError("");
  try {
    let deviceToken = token;
    let me = null;
    if (!token.startsWith("dpd_")) {
      const registered = await registerDevice({
        baseUrl,
        accountToken: token,
        name: "Web console",
        platform: "web",
        installId: installId()
      });
      deviceToken = registered.token;
      me = registered.device.id;
    }
    const device = new SyncApi({
      baseUrl,
      token: deviceToken
    });
    const stats = await device.stats();
    const socket = new SyncSocket({
      baseUrl,
      token: deviceToken,
      cursor: () => stats.cursor,
      onMessage,
      onOpen: () => live(true),
      onClose: () => live(false),
      onUnauthorized: () => close("The token is no longer valid (or this device was removed).")
    });
    close("");
    current = {
      device,
      manage: new SyncApi({
        baseUrl,
        token
      }),
      socket,
      me
    };
    session().setItem(TOKEN_KEY, token);
    byId("token").value = "";
    byId("login").hidden = true;
    byId("main").hidden = false;
    byId("sign-out").hidden = false;
    socket.start();
    for (const panel of [
      "devices",
      "stats",
      "conflicts"
    ]) later(panel, 0);
  } catch (error) {
    showError(`Could not open the console: ${describe2(error)}`);
  }
}
function close(message) {
  current?.socket.stop();
  current = null;
  session().removeItem(TOKEN_KEY);
  byId("login").hidden = false;
  byId("main").hidden = true;
  byId("sign-out").hidden = true;
  live(false);
  showError(message);
}
function onMessage(message) {
  if (message.type !== "pong") log(message);
  switch (message.type) {
    case "sync_data_available":
      later("stats");
      later("devices");
      if (current?.me) current.socket.send({
        type: "ack",
        cursor: message.cursor
      });
      break;
    case "sync_conflict":
      later("conflicts");
      later("stats");
      break;
    case "device_status":
    case "sync_completed":
      later("devices");
      break;
  }
}
function later(panel, ms = 150) {
  if (pending.has(panel)) return;
  pending.set(panel, setTimeout(() => {
    pending.delete(panel);
    void refresh(panel);
  }, ms));
}
async function refresh(panel) {
  const s = current;
  if (!s) return;
  try {
    if (panel === "devices") {
      byId("devices").replaceChildren(devicesView(await s.manage.devices(), s.me, actions, Date.now()));
    } else if (panel === "stats") {
      byId("stats").replaceChildren(statsView(await s.device.stats()));
    } else {
      byId("conflicts").replaceChildren(conflictsView(await s.device.conflicts("open"), actions));
    }
  } catch (error) {
    showError(`Refreshing ${panel} failed: ${describe2(error)}`);
  }
}
var actions = {
  deleteDevice(id) {
    const s = current;
    if (!s) return;
    s.manage.deleteDevice(id).then(() => later("devices", 0), (error) => showError(`Removing the device failed: ${describe2(error)}`));
  },
  resolve(conflict, resolution, remember) {
    const s = current;
    if (!s) return;
    const data = resolution === "merged" ? {
      ...conflict.remote.data,
      ...conflict.local.data
    } : void 0;
    s.device.resolve(conflict.id, {
      resolution,
      ...data && {
        data
      },
      ...remember && {
        remember
      }
    }).then(() => {
      later("conflicts", 0);
      later("stats", 0);
    }, (error) => {
      showError(`Resolving failed: ${describe2(error)}`);
      later("conflicts", 0);
    });
  }
};
function installId() {
  let id = local().getItem(INSTALL_KEY);
  if (!id) local().setItem(INSTALL_KEY, id = `console-${crypto.randomUUID()}`);
  return id;
}
function live(open2) {
  const badge = byId("live");
  badge.textContent = open2 ? "live" : "not connected";
  badge.className = open2 ? "badge live" : "badge";
}
function log(message) {
  const events = byId("events");
  const { type, ...rest } = message;
  const line = h("li", {}, h("time", {}, (/* @__PURE__ */ new Date()).toLocaleTimeString()), ` ${type} `, h("code", {}, JSON.stringify(rest)));
  events.append(line);
  const items = events.children;
  while (items.length > 20) items.item(0).remove();
}
function showError(message) {
  byId("error").textContent = message;
}
function describe2(error) {
  return error instanceof Error ? error.message : String(error);
}
