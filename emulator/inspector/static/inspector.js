// The inspector's script: keeps the page's live parts fresh and sends actions to the control
// plane. The server renders everything; this file holds no logic of the emulator's own.
//
// - Live: the change feed (server-sent events from /_emulator/events, or polling
//   /_emulator/changes when events cannot be had) says when something changed; the page is
//   then fetched again and each element marked data-live is swapped for its new version
//   (open <details> stay open, what was typed stays typed).
// - Actions: buttons and forms with data-action call the control plane's endpoints.
// - Every request goes through request() below: the one place to add a header (a control
//   token) or credentials.
"use strict";

(() => {
  const body = document.body;
  const CONTROL = body.dataset.control || "/_emulator";
  const MIN_REFRESH_MS = 250;
  const POLL_MS = 2000;
  let version = Number(body.dataset.version || 0);

  // --- talking to the emulator ------------------------------------------------------------

  /** The one way the page talks to the emulator. */
  function request(method, url, { json, accept = "application/json" } = {}) {
    const options = { method, headers: { Accept: accept }, credentials: "same-origin" };
    if (json !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(json);
    }
    return fetch(url, options);
  }

  class ControlError extends Error {}

  function describe(data, status) {
    const detail = data && data.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => [(d.loc || []).slice(1).join("."), d.msg].filter(Boolean).join(": ")).join("; ");
    }
    return `HTTP ${status}`;
  }

  /** A control-plane call: its JSON answer, or a ControlError with the server's reason. */
  async function control(method, path, json) {
    const response = await request(method, CONTROL + path, { json });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 404 && data && data.detail === "Not Found") {
        throw new ControlError(`this emulator has no ${method} ${CONTROL}${path.split("?")[0]}`);
      }
      throw new ControlError(describe(data, response.status));
    }
    return data;
  }

  const sid = (value) => encodeURIComponent(value || "");

  // --- live regions -----------------------------------------------------------------------

  // region -> the HTML the server last sent for it (a region not in it yet is swapped at the
  // first refresh: reading every region's HTML at start-up would slow the page's load)
  const served = new WeakMap();

  let refreshing = false;
  let again = false;
  let lastRefresh = 0;
  let timer = null;

  function schedule() {
    if (timer !== null) return;
    const wait = Math.max(0, lastRefresh + MIN_REFRESH_MS - Date.now());
    timer = setTimeout(() => {
      timer = null;
      refresh();
    }, wait);
  }

  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    lastRefresh = Date.now();
    try {
      const response = await request("GET", location.pathname + location.search, { accept: "text/html" });
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      swap(doc);
    } catch (_) {
      setLive("offline");
    } finally {
      refreshing = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  function swap(doc) {
    for (const region of document.querySelectorAll("[data-live]")) {
      const fresh = doc.getElementById(region.id);
      if (!fresh || !fresh.hasAttribute("data-live")) continue;
      const html = fresh.innerHTML;
      if (served.get(region) === html) continue;
      const open = new Set(
        Array.from(region.querySelectorAll("details[open][data-key]"), (d) => d.dataset.key),
      );
      const adopted = document.adoptNode(fresh); // the whole subtree at once, then its children
      region.replaceChildren(...Array.from(adopted.childNodes));
      served.set(region, html);
      for (const details of region.querySelectorAll("details[data-key]")) {
        if (open.has(details.dataset.key)) details.open = true;
      }
    }
    if (doc.title) document.title = doc.title;
    settle();
    const fresh = Number(doc.body && doc.body.dataset.version);
    if (!Number.isNaN(fresh)) body.dataset.version = String(fresh);
    body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
  }

  // --- the keypad: open or closed, the countdown to the caller's Timeout -----------------------

  let ticking = null;

  /** After the page's live parts changed: the keypad follows the session, the countdown its
   * deadline. */
  function settle() {
    const flag = document.querySelector("#caller-state [data-keypad]");
    const keys = document.querySelector("form.keypad fieldset");
    if (flag && keys) keys.disabled = flag.dataset.keypad !== "open";
    countdown();
  }

  function countdown() {
    clearInterval(ticking);
    ticking = null;
    const line = document.querySelector("[data-deadline-ms]");
    const shown = line && line.querySelector(".countdown");
    if (!shown || !line.dataset.deadlineMs) return;
    const deadline = Number(line.dataset.deadlineMs);
    const now = Number(line.dataset.nowMs); // the emulator's clock when the page was made
    const frozen = line.dataset.frozen === "true";
    const since = Date.now();
    const tick = () => {
      const left = deadline - now - (frozen ? 0 : Date.now() - since);
      shown.textContent = left > 0 ? `${(left / 1000).toFixed(1)} s` : "0 s: the Timeout passes";
      if (left <= 0 || frozen) {
        clearInterval(ticking);
        ticking = null;
      }
    };
    tick();
    if (!frozen) ticking = setInterval(tick, 100);
  }

  // --- the change feed ----------------------------------------------------------------------

  const live = document.getElementById("live");
  function setLive(mode) {
    if (!live) return;
    live.dataset.mode = mode;
    live.textContent = { live: "live", polling: "live (polling)", reconnecting: "reconnecting…", offline: "offline", connecting: "connecting…" }[mode] || mode;
  }

  function changed(to) {
    if (to !== version) {
      version = to;
      schedule();
    }
  }

  let polling = null;
  function poll() {
    if (polling !== null) return;
    setLive("polling");
    polling = setInterval(async () => {
      try {
        const response = await request("GET", CONTROL + "/changes");
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        if (live && live.dataset.mode !== "polling") setLive("polling");
        changed(Number(data.version));
      } catch (_) {
        setLive("offline");
      }
    }, POLL_MS);
  }

  function listen() {
    if (!("EventSource" in window)) {
      poll();
      return;
    }
    const source = new EventSource(`${CONTROL}/events?since=${version}`);
    let lost = null;
    source.addEventListener("open", () => {
      clearTimeout(lost);
      setLive("live");
    });
    source.addEventListener("changed", (event) => changed(Number(event.data)));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        poll(); // refused (not 200, or not an event stream): poll instead
        return;
      }
      // A stream ends every few seconds by design and the browser reconnects at once: only
      // say so if it takes a while.
      clearTimeout(lost);
      lost = setTimeout(() => setLive("reconnecting"), 3000);
    });
  }

  // --- messages and confirmation ----------------------------------------------------------

  function toast(text, bad = false) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = bad ? "toast bad" : "toast";
    item.setAttribute("role", bad ? "alert" : "status");
    item.textContent = text;
    box.append(item);
    setTimeout(() => item.remove(), bad ? 8000 : 4000);
  }

  function confirmed(text, okLabel) {
    const dialog = document.getElementById("confirm");
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(window.confirm(text));
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-ok").textContent = okLabel || "OK";
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  // --- actions ----------------------------------------------------------------------------

  const actions = {
    async reset(el) {
      const account = el.dataset.account;
      if (!(await confirmed(el.dataset.confirm || "Reset?", account ? "Reset the account" : "Reset everything"))) return null;
      await control("POST", account ? `/reset?account_sid=${sid(account)}` : "/reset");
      return account ? `account ${account} reset` : "everything reset";
    },
    async "caller-mode"(el) {
      const data = await control("POST", `/calls/${sid(el.dataset.call)}/caller`, { mode: el.dataset.mode });
      return `caller of ${el.dataset.call} is ${(data && data.caller) || el.dataset.mode}`;
    },
    async hangup(el) {
      await control("POST", `/calls/${sid(el.dataset.call)}/hangup`);
      return `call ${el.dataset.call} hung up`;
    },
    async star(el) {
      await control("POST", `/payments/${sid(el.dataset.payment)}/input`, { digits: "*" });
      return "the caller pressed *";
    },
    async "clock-hold"() {
      const clock = await control("POST", "/clock", { hold: true });
      return `the emulator's clock is held at ${clock.now}`;
    },
    async "clock-release"() {
      const clock = await control("POST", "/clock", { hold: false });
      return `the emulator's clock runs on from ${clock.now}`;
    },
    async redeliver(el) {
      await control("POST", `/callbacks/${sid(el.dataset.callback)}/redeliver`);
      return `callback ${el.dataset.callback} queued again`;
    },
    async "fault-remove"(el) {
      await control("DELETE", `/faults/${sid(el.dataset.fault)}`);
      return `fault rule ${el.dataset.fault} removed`;
    },
    async "faults-clear"() {
      await control("DELETE", "/faults");
      return "every fault rule removed";
    },
    async copy(el) {
      const target = document.getElementById(el.dataset.target);
      const text = target ? target.textContent : "";
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
      return "copied";
    },
  };

  const forms = {
    async "key-send"(form, submitter) {
      const entry = form.querySelector("input[name=digits]");
      const digits = entry.value.trim();
      if (!digits) throw new ControlError("key some digits first");
      const partial = submitter && submitter.dataset.partial === "true";
      await control("POST", `/payments/${sid(form.dataset.payment)}/input`, { digits, partial });
      entry.value = "";
      counted(form);
      return partial ? `${digits.length} keys sent (partial)` : `${digits.length} keys sent`;
    },
    async "call-digits"(form) {
      const entry = form.querySelector("input[name=digits]");
      const digits = entry.value.trim();
      if (!digits) throw new ControlError("key some digits first");
      await control("POST", `/calls/${sid(form.dataset.call)}/digits`, { digits });
      entry.value = "";
      const into = form.dataset.into === "pay" ? "<Pay>" : "<Gather>";
      return `${digits.length} keys sent to the ${into}`;
    },
    async "fault-add"(form) {
      const rule = {};
      for (const [name, value] of new FormData(form)) {
        const text = String(value).trim();
        if (!text) continue;
        rule[name] = ["status", "code", "delay_ms", "times"].includes(name)
          ? Number.parseInt(text, 10)
          : name === "probability"
            ? Number.parseFloat(text)
            : text;
      }
      const added = await control("POST", "/faults", rule);
      return `fault rule ${added.id} added`;
    },
  };

  async function run(work) {
    try {
      const message = await work();
      if (message) toast(message);
    } catch (error) {
      toast(error instanceof ControlError ? error.message : `failed: ${error.message || error}`, true);
    }
    refresh();
  }

  function counted(form) {
    const entry = form.querySelector("input[name=digits]");
    const count = form.querySelector("#entry-count");
    if (entry && count) count.textContent = `${entry.value.length} key${entry.value.length === 1 ? "" : "s"}`;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || button.disabled) return;
    const key = button.dataset.key;
    const form = button.closest("form.keypad");
    if (key !== undefined && form) {
      const entry = form.querySelector("input[name=digits]");
      if (key === "back") entry.value = entry.value.slice(0, -1);
      else if (key === "clear") entry.value = "";
      else entry.value += key;
      counted(form);
      return;
    }
    const action = actions[button.dataset.action];
    if (action && button.type !== "submit") {
      event.preventDefault();
      run(() => action(button));
    }
  });

  document.addEventListener("input", (event) => {
    const form = event.target.closest && event.target.closest("form.keypad");
    if (form) counted(form);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const handler = forms[form.dataset.action];
    if (!handler) return;
    event.preventDefault();
    run(() => handler(form, event.submitter));
  });

  settle();

  // The event stream starts once the page has loaded: it never competes with the page's own
  // files, and the page's load event never waits for it.
  if (document.readyState === "complete") listen();
  else window.addEventListener("load", listen, { once: true });
})();
