// A client for the control plane of twilio-payments-emulator (`/_emulator/...`), for tests
// in Node (Jest, Vitest, node --test). No dependencies: Node 18+'s global fetch.
// The same methods as the Python `emulator.testing.ControlClient`, in camelCase.
"use strict";

const ENDED_STATES = Object.freeze(["completed", "cancelled", "ended"]);
const POLL_MS = 5000; // the longest a waitUntilEnded long-poll waits before looking again
const SLACK_MS = 10000; // HTTP time allowed beyond a long-poll's own
const MAX_WAIT_MS = 120000; // the longest one long-poll may wait (the emulator's limit)

/** The control plane refused a request (4xx) or failed (5xx). */
class ControlError extends Error {
  constructor(method, path, status, detail) {
    const shown = typeof detail === "string" ? detail : JSON.stringify(detail);
    super(`${method} ${path} answered ${status}: ${shown}`);
    this.name = "ControlError";
    this.method = method;
    this.path = path;
    this.status = status;
    this.detail = detail;
  }
}

/** `accountSid` -> `account_sid`, for the keys of what the emulator reads. */
function snake(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) return object;
  const result = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    result[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return result;
}

function account(body) {
  return {
    accountSid: body.account_sid,
    authToken: body.auth_token,
    apiKeySid: body.api_key_sid,
    apiKeySecret: body.api_key_secret,
    parentAccountSid: body.parent_account_sid ?? null,
  };
}

function attempted(callbacks) {
  return callbacks.filter((callback) => callback.attempts > 0).length;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class ControlClient {
  /**
   * @param {string} baseUrl the emulator's address, e.g. http://127.0.0.1:8080
   * @param {{token?: string, timeoutMs?: number}} [options] the control-plane token (for an
   *   emulator started with --control-token); how long an ordinary request may take.
   */
  constructor(baseUrl, options = {}) {
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30000;
  }

  async _request(method, path, { query, body, timeoutMs, text = false } = {}) {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(snake(query ?? {}))) {
      if (value !== null && value !== "") url.searchParams.set(key, String(value));
    }
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs ?? this.timeoutMs),
    });
    const content = await response.text();
    if (!response.ok) {
      let detail = content;
      try {
        detail = JSON.parse(content).detail ?? content;
      } catch {
        // not JSON: the text as it is
      }
      throw new ControlError(method, url.pathname, response.status, detail);
    }
    return text ? content : JSON.parse(content);
  }

  // --- the emulator --------------------------------------------------------------------------

  /** `{status: "ok", version}`. */
  health() {
    return this._request("GET", "/_emulator/health");
  }

  /** Wipe all state and reload the fixtures; with an account SID, that account's data only. */
  async reset(accountSid) {
    await this._request("POST", "/_emulator/reset", { query: { accountSid } });
  }

  /** The metrics, in Prometheus's text format. */
  metrics() {
    return this._request("GET", "/_emulator/metrics", { text: true });
  }

  // --- accounts, calls and callers -------------------------------------------------------------

  /** A fresh account: `{accountSid, authToken, apiKeySid, apiKeySecret, parentAccountSid}`. */
  async createAccount({ parentAccountSid } = {}) {
    const body = parentAccountSid ? { parent_account_sid: parentAccountSid } : {};
    return account(await this._request("POST", "/_emulator/accounts", { body }));
  }

  /**
   * A new call with a simulated caller (`auto` or `manual`); its CallSid. Without `voiceUrl`,
   * a call in progress that runs no TwiML (for the Payments API); with it, an inbound call
   * that rings and fetches its TwiML from `voiceUrl` (`method`, `from`, `to`, `fallbackUrl`,
   * `statusCallback`, `statusCallbackEvent`, `statusCallbackMethod` as on Twilio).
   */
  async createCall(accountSid, options = {}) {
    const { caller, script, url, voiceUrl, method, from, to, fallbackUrl } = options;
    const { statusCallback, statusCallbackEvent, statusCallbackMethod } = options;
    const body = snake({
      accountSid,
      caller,
      script: script ?? {},
      url,
      voiceUrl,
      method,
      to,
      fallbackUrl,
      statusCallback,
      statusCallbackEvent,
      statusCallbackMethod,
    });
    if (from !== undefined) body.from = from;
    return (await this._request("POST", "/_emulator/calls", { body })).call_sid;
  }

  /** The call view: status, `waiting` (`gather`, `pause` or null), `steps`, `status_callbacks`. */
  call(callSid) {
    return this._request("GET", `/_emulator/calls/${callSid}`);
  }

  /** The caller keys digits into the call's `<Gather>` (409 when it waits in none); the call view. */
  keyInCall(callSid, digits) {
    return this._request("POST", `/_emulator/calls/${callSid}/digits`, { body: { digits } });
  }

  /**
   * The call view once the call is in `status` (a status or a list of them) and/or waits in
   * `waiting` (`gather`, `pause`); the change feed waits between looks. Rejects with an Error
   * named `TimeoutError` after `timeoutMs` (default 10 s).
   */
  async waitForCall(callSid, { status, waiting, timeoutMs = 10000 } = {}) {
    const wanted = status === undefined ? [] : [].concat(status);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const version = await this.changes();
      const view = await this.call(callSid);
      const statusOk = wanted.length === 0 || wanted.includes(view.status);
      if (statusOk && (waiting === undefined || view.waiting === waiting)) return view;
      const left = deadline - Date.now();
      if (left <= 0) {
        const where = view.waiting ? `, waiting in ${view.waiting}` : "";
        throw timeout(`call ${callSid} is ${view.status}${where} after ${timeoutMs} ms`);
      }
      try {
        await this.waitForChange({ since: version, timeoutMs: Math.min(left, POLL_MS) });
      } catch (error) {
        if (error.name !== "TimeoutError") throw error;
      }
    }
  }

  /**
   * Wait until the call's `<Pay>` asks for `asking` (its `attempt`-th try, if given), or with no
   * `asking` until it has started its payment session; resolves with that session's view (key
   * into it with `keyIn(view.sid, ...)` or `keyInCall`).
   */
  async waitForPay(callSid, { asking, attempt, timeoutMs = 10000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let seen = "no <Pay> yet";
    for (;;) {
      const version = await this.changes();
      const started = (await this.call(callSid)).steps.filter(
        (step) => step.kind === "verb" && step.name === "Pay" && step.session,
      );
      if (started.length > 0) {
        const view = await this.payment(started[started.length - 1].session);
        const tries = view.pay || {};
        if (
          asking === undefined ||
          (view.capturing === asking && (attempt === undefined || tries.attempt === attempt))
        ) {
          return view;
        }
        seen = `its <Pay> asks for ${view.capturing} (try ${tries.attempt})`;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timeout(`call ${callSid}: ${seen} after ${timeoutMs} ms`);
      try {
        await this.waitForChange({ since: version, timeoutMs: Math.min(left, POLL_MS) });
      } catch (error) {
        if (error.name !== "TimeoutError") throw error;
      }
    }
  }

  /** Switch the call's simulated caller to `auto` or `manual` (and give it a new `script`): `{call_sid, caller}`. */
  setCaller(callSid, mode, { script } = {}) {
    const body = script === undefined ? { mode } : { mode, script };
    return this._request("POST", `/_emulator/calls/${callSid}/caller`, { body });
  }

  /** End the call; a session still active on it ends with `Result=caller-hung-up`. */
  async hangUp(callSid) {
    await this._request("POST", `/_emulator/calls/${callSid}/hangup`);
  }

  // --- phones: callers set up before their calls exist ---------------------------------------

  /**
   * Set up who answers at `number`: every call the account places to it with the Calls API
   * (`To`), and every control-plane call from it that names no caller or script, starts with
   * this caller (`mode`, `script`). For tests whose application places the call.
   * `{account_sid, number, caller, items}`.
   */
  setPhone(accountSid, number, mode = "auto", { script } = {}) {
    const body = { account_sid: accountSid, number, caller: mode, script: script ?? {} };
    return this._request("POST", "/_emulator/phones", { body });
  }

  /** The phones set up (of one account), oldest first: `[{account_sid, number, caller, items}]`. */
  async phones({ accountSid } = {}) {
    return (await this._request("GET", "/_emulator/phones", { query: { accountSid } })).phones;
  }

  /** Forget phones (of one account; only the one at `number`); how many were forgotten. */
  async removePhones({ accountSid, number } = {}) {
    const query = { accountSid, number };
    return (await this._request("DELETE", "/_emulator/phones", { query })).removed;
  }

  // --- payment sessions ----------------------------------------------------------------------

  /** The caller keys digits into the item being captured; the session view. */
  keyIn(paymentSid, digits, { partial = false } = {}) {
    return this._request("POST", `/_emulator/payments/${paymentSid}/input`, {
      body: { digits, partial },
    });
  }

  /** The session view (`state`, `capturing`, `required`, `captured`, `result`, `history`...). */
  payment(paymentSid) {
    return this._request("GET", `/_emulator/payments/${paymentSid}`);
  }

  /**
   * What the session's next `Status=complete` produces, whatever the card: `result`
   * (`success`, `payment-connector-error`, `validation-error`), `payErrorCode`,
   * `paymentError`, `connectorError`. The session view.
   */
  setOutcome(paymentSid, { result, payErrorCode, paymentError, connectorError }) {
    const body = snake({
      result,
      payErrorCode: payErrorCode === undefined ? undefined : String(payErrorCode),
      paymentError,
      connectorError,
    });
    return this._request("POST", `/_emulator/payments/${paymentSid}/outcome`, { body });
  }

  /**
   * The session view once the session has ended (`completed`, `cancelled`, `ended`) and its
   * last StatusCallback has been attempted: no callback count needed. Rejects with an Error
   * named `TimeoutError` after `timeoutMs` (default 10 s).
   */
  async waitUntilEnded(paymentSid, { timeoutMs = 10000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // callbacks first, then the view: an end in between is not waited for in vain
      const seen = attempted(await this.callbacks({ paymentSid }));
      const view = await this.payment(paymentSid);
      const left = deadline - Date.now();
      if (ENDED_STATES.includes(view.state)) {
        const made = view.history.length; // one entry per callback the session caused
        if (seen >= made) return view;
        if (left <= 0) {
          throw timeout(
            `payment session ${paymentSid} ended (${view.state}), but its last callback was ` +
              `not attempted within ${timeoutMs} ms`,
          );
        }
        await this.callbacks({ paymentSid, waitFor: made, timeoutMs: Math.min(left, MAX_WAIT_MS) });
        continue;
      }
      if (left <= 0) {
        const where = [view.state];
        if (view.capturing) where.push(`capturing ${view.capturing}`);
        if (view.required?.length) where.push(`required ${view.required.join(", ")}`);
        throw timeout(
          `payment session ${paymentSid} did not end within ${timeoutMs} ms: it is ${where.join(", ")}`,
        );
      }
      const started = Date.now();
      const found = await this.callbacks({
        paymentSid,
        waitFor: seen + 1,
        timeoutMs: Math.min(left, POLL_MS),
      });
      if (attempted(found) <= seen && Date.now() - started < 10) await sleep(10);
    }
  }

  // --- StatusCallbacks -------------------------------------------------------------------------

  /**
   * The StatusCallbacks in order, filtered by `paymentSid`, `callSid`, `accountSid`; with
   * `waitFor`, once that many were attempted (or when `timeoutMs`, default 10 s, runs out).
   */
  async callbacks({ paymentSid, callSid, accountSid, waitFor = 0, timeoutMs = 10000 } = {}) {
    const query = { paymentSid, callSid, accountSid };
    let httpTimeout;
    if (waitFor) {
      Object.assign(query, { waitFor, timeout: Math.max(timeoutMs, 1) / 1000 });
      httpTimeout = timeoutMs + SLACK_MS;
    }
    const answer = await this._request("GET", "/_emulator/callbacks", {
      query,
      timeoutMs: httpTimeout,
    });
    return answer.callbacks;
  }

  /** Send a callback again (after what is pending for its session); the callback. */
  redeliver(callbackId) {
    return this._request("POST", `/_emulator/callbacks/${callbackId}/redeliver`);
  }

  // --- Pay Connectors ------------------------------------------------------------------------

  /**
   * A Pay Connector on the account, with a fixture `connectors` entry's fields: `charge`,
   * `tokenize`, `currencies`, `paymentMethods`, `tokenTypes`, and `generic` (`{endpointUrl,
   * username, password, mode, timeoutS, retries, legacyPaths}`) for a Generic Pay Connector.
   * One of the same name is replaced. The connector (its password shown as `****`).
   */
  createConnector(accountSid, name, options = {}) {
    const { generic, ...rest } = options;
    const body = snake({ accountSid, name, ...rest });
    if (generic) body.generic = snake(generic);
    return this._request("POST", "/_emulator/connectors", { body });
  }

  // --- faults and the request journal ----------------------------------------------------------

  /**
   * A fault rule: `action` `error` (`status`, `code`, `message`), `delay` (`delayMs`) or
   * `drop`; matching `method`, `path` (a regular expression), `accountSid`; for `times`
   * requests or with a `probability`. The rule, with its `id`.
   */
  addFault(action, rule = {}) {
    return this._request("POST", "/_emulator/faults", { body: { action, ...snake(rule) } });
  }

  /** The fault rules in force, with how often each fired. */
  async faults() {
    return (await this._request("GET", "/_emulator/faults")).faults;
  }

  /** Remove one fault rule; the rules left. */
  async deleteFault(ruleId) {
    return (await this._request("DELETE", `/_emulator/faults/${ruleId}`)).faults;
  }

  /** Remove every fault rule. */
  async clearFaults() {
    await this._request("DELETE", "/_emulator/faults");
  }

  /** The request journal, newest last; filters `accountSid`, `callSid`, `paymentSid`, `status`. */
  async requests(filters = {}) {
    return (await this._request("GET", "/_emulator/requests", { query: filters })).requests;
  }

  // --- the clock and the change feed -----------------------------------------------------------

  /** The emulator's clock: `{now, frozen}`. */
  clock() {
    return this._request("GET", "/_emulator/clock");
  }

  /** Freeze the clock (`freezeAt`, ISO 8601 with a zone), move it on (`advanceSeconds`), or `reset` it. */
  setClock({ freezeAt, advanceSeconds, reset = false } = {}) {
    return this._request("POST", "/_emulator/clock", {
      body: snake({ freezeAt, advanceSeconds, reset }),
    });
  }

  /**
   * Stop the emulator's clock at the current instant: no session's `Timeout` passes while it
   * is held (the clock is the whole emulator's). The clock, `frozen` true.
   */
  holdClock() {
    return this._request("POST", "/_emulator/clock", { body: { hold: true } });
  }

  /**
   * Let a held (or frozen) clock run again from the instant it stood at: deadlines resume
   * where they were, none jumps ahead (unlike `setClock({ reset: true })`).
   */
  releaseClock() {
    return this._request("POST", "/_emulator/clock", { body: { hold: false } });
  }

  /** The change feed's version: it grows whenever the emulator's state moves on. */
  async changes() {
    return (await this._request("GET", "/_emulator/changes")).version;
  }

  /**
   * Wait for the state to move on past version `since` (default: the current one), through
   * the server-sent events of `GET /_emulator/events`; the new version. Rejects with an Error
   * named `TimeoutError` after `timeoutMs` (default 15 s).
   */
  async waitForChange({ since, timeoutMs = 15000 } = {}) {
    const seen = since ?? (await this.changes());
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const url = new URL(this.baseUrl + "/_emulator/events");
      url.searchParams.set("since", String(seen));
      const headers = this.token ? { authorization: `Bearer ${this.token}` } : {};
      let response;
      try {
        response = await fetch(url, {
          headers,
          signal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1)),
        });
        if (!response.ok) {
          throw new ControlError("GET", url.pathname, response.status, await response.text());
        }
        const decoder = new TextDecoder();
        let buffered = "";
        for await (const chunk of response.body) {
          buffered += decoder.decode(chunk, { stream: true });
          let end;
          while ((end = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, end).replace(/\r$/, "");
            buffered = buffered.slice(end + 1);
            if (line.startsWith("data: ") && Number(line.slice(6)) !== seen) {
              await response.body.cancel().catch(() => {});
              return Number(line.slice(6));
            }
          }
        }
      } catch (error) {
        if (error.name === "TimeoutError" || error.name === "AbortError") break;
        throw error;
      }
    }
    throw timeout(`the emulator's state did not change within ${timeoutMs} ms`);
  }
}

function timeout(message) {
  const error = new Error(message);
  error.name = "TimeoutError";
  return error;
}

/**
 * Point a twilio-node client at the emulator: its base URL, and no edge or region (which
 * `TWILIO_EDGE`/`TWILIO_REGION` in the environment would otherwise put into the host name).
 * Returns the client.
 */
function pointAtEmulator(client, baseUrl) {
  client.edge = undefined;
  client.region = undefined;
  client.api.baseUrl = String(baseUrl).replace(/\/+$/, "");
  return client;
}

module.exports = { ControlClient, ControlError, ENDED_STATES, pointAtEmulator };
