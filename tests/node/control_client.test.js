// The emulator's Node client (clients/node, installed as the package a user installs), with
// twilio-node making the payments: a test file as a Jest, Vitest or node --test user writes it.
// Run by tests/test_node_client.py: `node --test control_client.test.js`, with
// PAYMENTS_EMULATOR_URL set to a running emulator (and TWILIO_REGION/TWILIO_EDGE set, which
// pointAtEmulator must neutralise).
"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const twilio = require("twilio");
const {
  ControlClient,
  ControlError,
  ENDED_STATES,
  pointAtEmulator,
} = require("twilio-payments-emulator");

const baseUrl = process.env.PAYMENTS_EMULATOR_URL;
const control = new ControlClient(baseUrl);
const CALLBACK = process.env.STATUS_CALLBACK_URL || "http://127.0.0.1:9/payments/status";
const CARD = {
  "payment-card-number": "4111111111111111",
  "expiration-date": "1230",
  "security-code": "123",
  "postal-code": "94105",
};

function clientOf(account) {
  const client = twilio(account.apiKeySid, account.apiKeySecret, {
    accountSid: account.accountSid,
  });
  return pointAtEmulator(client, baseUrl);
}

async function pay(account, create = {}) {
  const client = clientOf(account);
  const callSid = await control.createCall(account.accountSid, { caller: "manual" });
  const session = await client.calls(callSid).payments.create({
    idempotencyKey: "create",
    statusCallback: CALLBACK,
    chargeAmount: 10,
    ...create,
  });
  const payment = client.calls(callSid).payments(session.sid);
  for (const [item, digits] of Object.entries(CARD)) {
    await payment.update({ idempotencyKey: item, statusCallback: CALLBACK, capture: item });
    await control.keyIn(session.sid, digits);
  }
  return { callSid, sid: session.sid, payment };
}

test("a declined card, forced, and the end waited for", async () => {
  const account = await control.createAccount();
  const { sid, payment } = await pay(account);
  const view = await control.setOutcome(sid, {
    result: "payment-connector-error",
    payErrorCode: 64012,
    paymentError: "card is declined",
    connectorError: "card_declined",
  });
  assert.equal(view.forced_outcome.pay_error_code, 64012);
  await payment.update({ idempotencyKey: "complete", statusCallback: CALLBACK, status: "complete" });
  const ended = await control.waitUntilEnded(sid);
  assert.ok(ENDED_STATES.includes(ended.state));
  assert.equal(ended.result, "payment-connector-error");
  const callbacks = await control.callbacks({ paymentSid: sid });
  assert.equal(callbacks.length, ended.history.length);
  assert.ok(callbacks.every((callback) => callback.attempts > 0));
  const last = callbacks.at(-1).params;
  assert.equal(last.PayErrorCode, "64012");
  assert.equal(last.ConnectorError, "card_declined");
});

test("a Generic Pay Connector that does not answer: a connector error", async () => {
  const account = await control.createAccount();
  const connector = await control.createConnector(account.accountSid, "gateway", {
    generic: { endpointUrl: "http://127.0.0.1:9/pay", password: "secret", mode: "live", retries: 0 },
  });
  assert.equal(connector.generic.password, "****");
  const { sid, payment } = await pay(account, { paymentConnector: "gateway" });
  await payment.update({ idempotencyKey: "complete", statusCallback: CALLBACK, status: "complete" });
  const ended = await control.waitUntilEnded(sid, { timeoutMs: 20000 });
  assert.equal(ended.result, "payment-connector-error");
  const last = (await control.callbacks({ paymentSid: sid })).at(-1).params;
  assert.equal(last.PayErrorCode, "64008");
  assert.match(last.PaymentError, /No response from Payment Provider\.$/);
});

test("the end of a session that comes later; a hang-up", async () => {
  const account = await control.createAccount();
  const client = clientOf(account);
  const callSid = await control.createCall(account.accountSid, { caller: "manual" });
  const session = await client.calls(callSid).payments.create({
    idempotencyKey: "create",
    statusCallback: CALLBACK,
  });
  setTimeout(() => control.hangUp(callSid), 300);
  const ended = await control.waitUntilEnded(session.sid);
  assert.equal(ended.state, "ended");
  assert.equal(ended.result, "caller-hung-up");
});

test("waitUntilEnded gives up, saying where the session is", async () => {
  const account = await control.createAccount();
  const client = clientOf(account);
  const callSid = await control.createCall(account.accountSid, { caller: "manual" });
  const session = await client.calls(callSid).payments.create({
    idempotencyKey: "create",
    statusCallback: CALLBACK,
  });
  await assert.rejects(control.waitUntilEnded(session.sid, { timeoutMs: 300 }), {
    name: "TimeoutError",
    message: /did not end within 300 ms: it is active/,
  });
});

test("errors carry the emulator's explanation", async () => {
  const unknown = "PK" + "0".repeat(32);
  await assert.rejects(control.payment(unknown), (error) => {
    assert.ok(error instanceof ControlError);
    assert.equal(error.status, 404);
    assert.equal(error.detail, `payment session ${unknown} does not exist`);
    return true;
  });
  await assert.rejects(control.setOutcome(unknown, { result: "maybe" }), { status: 400 });
});

test("the other endpoints", async () => {
  assert.equal((await control.health()).status, "ok");
  const account = await control.createAccount();
  const sub = await control.createAccount({ parentAccountSid: account.accountSid });
  assert.equal(sub.parentAccountSid, account.accountSid);
  // callers
  const callSid = await control.createCall(account.accountSid, {
    caller: "manual",
    script: { "payment-card-number": "4242424242424242" },
  });
  assert.deepEqual(await control.setCaller(callSid, "auto"), { call_sid: callSid, caller: "auto" });
  // faults
  const one = await control.addFault("error", { status: 503, code: 20503, accountSid: account.accountSid });
  const two = await control.addFault("delay", { delayMs: 1, accountSid: account.accountSid });
  const left = await control.deleteFault(one.id);
  assert.ok(left.some((rule) => rule.id === two.id));
  assert.ok(!left.some((rule) => rule.id === one.id));
  assert.ok((await control.faults()).some((rule) => rule.id === two.id));
  await control.deleteFault(two.id);
  // the journal: a refused request says which check failed
  const client = twilio(account.accountSid, "wrong", { accountSid: account.accountSid });
  pointAtEmulator(client, baseUrl);
  await assert.rejects(
    client.calls(callSid).payments.create({ idempotencyKey: "k", statusCallback: CALLBACK }),
    { status: 401, code: 20003 },
  );
  const journal = await control.requests({ accountSid: account.accountSid, status: 401 });
  assert.equal(journal.at(-1).auth_failure, `wrong auth token for account ${account.accountSid}`);
  // callbacks: one redelivered
  const paid = await pay(account);
  const [first] = await control.callbacks({ paymentSid: paid.sid, waitFor: 1 });
  assert.equal((await control.redeliver(first.id)).id, first.id);
  // the clock and the change feed
  assert.equal(typeof (await control.clock()).frozen, "boolean");
  const held = await control.holdClock();
  assert.equal(held.frozen, true);
  assert.equal((await control.clock()).now, held.now);
  const released = await control.releaseClock();
  assert.equal(released.frozen, false);
  assert.ok(released.now >= held.now);
  const version = await control.changes();
  setTimeout(() => control.createCall(account.accountSid), 200);
  assert.ok((await control.waitForChange({ since: version, timeoutMs: 10000 })) > version);
  // metrics
  assert.match(await control.metrics(), /^payments_emulator_requests_total\{/m);
  // an account's reset
  await control.reset(account.accountSid);
  assert.deepEqual(await control.requests({ accountSid: account.accountSid }), []);
});

test("the ES module entry point exports the same client", async () => {
  const esm = await import("twilio-payments-emulator");
  assert.equal(esm.ControlClient, ControlClient);
  assert.equal(esm.default.ControlClient, ControlClient);
});

test("an inbound call runs the app's TwiML: keys by hand, then by script", async () => {
  const http = require("node:http");
  const pages = {
    "/in": '<Response><Gather action="/next" numDigits="3"/></Response>',
    "/next": '<Response><Gather action="/done" finishOnKey="#"/></Response>',
    "/done": "<Response><Hangup/></Response>",
  };
  const seen = [];
  const app = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const path = new URL(request.url, "http://x").pathname;
      seen.push({ path, params: Object.fromEntries(new URLSearchParams(body)) });
      response.writeHead(200, { "content-type": "text/xml" });
      response.end(pages[path] || "<Response/>");
    });
  });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  try {
    const base = `http://127.0.0.1:${app.address().port}`;
    const account = await control.createAccount();
    const callSid = await control.createCall(account.accountSid, {
      caller: "manual",
      voiceUrl: `${base}/in`,
      from: "+14155550100",
      to: "+14155550123",
      statusCallback: "http://127.0.0.1:9/status",
      statusCallbackEvent: ["answered", "completed"],
    });
    const waiting = await control.waitForCall(callSid, { waiting: "gather" });
    assert.equal(waiting.direction, "inbound");
    assert.equal(waiting.from, "+14155550100");
    await control.setCaller(callSid, "auto", { script: { gather: "9#" } });
    await control.keyInCall(callSid, "123");
    const view = await control.waitForCall(callSid, { status: "completed" });
    assert.deepEqual(
      seen.map(({ path, params }) => [path, params.Digits]),
      [["/in", undefined], ["/next", "123"], ["/done", "9"]],
    );
    assert.deepEqual(view.status_callbacks.map((c) => c.event), ["answered", "completed"]);
    assert.equal((await control.call(callSid)).steps.at(-1).name, "completed");
    await assert.rejects(control.keyInCall(callSid, "1"), { status: 409 });
  } finally {
    app.close();
  }
});

test("a phone set up ahead answers the call the application places", async () => {
  const http = require("node:http");
  const actions = [];
  const app = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const path = new URL(request.url, "http://x").pathname;
      if (path === "/paid") actions.push(Object.fromEntries(new URLSearchParams(body)));
      response.writeHead(200, { "content-type": "text/xml" });
      response.end(
        path === "/pay"
          ? '<Response><Pay chargeAmount="10.00" action="/paid"/></Response>'
          : "<Response><Hangup/></Response>",
      );
    });
  });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  try {
    const base = `http://127.0.0.1:${app.address().port}`;
    const account = await control.createAccount();
    const to = "+14155550123";
    const script = { "payment-card-number": "4000000000000002" }; // declined
    const phone = await control.setPhone(account.accountSid, to, "auto", { script });
    assert.deepEqual(phone.items, ["payment-card-number"]);
    assert.deepEqual(
      (await control.phones({ accountSid: account.accountSid })).map((p) => p.number),
      [to],
    );
    // what the application under test does: it places the call, the test never sees its sid
    const call = await clientOf(account).calls.create({ to, from: "+14155550100", url: `${base}/pay` });
    const view = await control.waitForCall(call.sid, { status: "completed" });
    assert.equal(view.caller, "auto");
    assert.equal(actions.length, 1);
    assert.equal(actions[0].Result, "payment-connector-error");
    assert.equal(actions[0].PaymentError, "card is declined");
    assert.equal(await control.removePhones({ accountSid: account.accountSid, number: to }), 1);
    assert.deepEqual(await control.phones({ accountSid: account.accountSid }), []);
  } finally {
    app.close();
  }
});
