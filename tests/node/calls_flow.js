// Calls placed with the official twilio-node SDK, against the emulator, running the TwiML of an
// application of this script's own (a node:http server on 127.0.0.1): signed voice webhooks
// (checked with twilio.validateRequest), <Say>, <Pause>, <Gather> with an action, <Redirect>,
// <Hangup>; fetch until completed; update(twiml) redirecting a parked call; a Payments session
// on a placed call; invalid TwiML ending the call.
// Usage: node calls_flow.js '{"baseUrl": ..., "accountSid": ..., "authToken": ...}'
// Prints one JSON object with what each step saw.
"use strict";
const http = require("node:http");
const twilio = require("twilio");
const { ControlClient, pointAtEmulator } = require("twilio-payments-emulator");

const config = JSON.parse(process.argv[2]);
const client = pointAtEmulator(twilio(config.accountSid, config.authToken), config.baseUrl);
const control = new ControlClient(config.baseUrl);

const pages = {
  "/ivr": '<Response><Say>Welcome</Say><Pause length="20"/>' +
    '<Gather numDigits="2" action="/ivr/menu"><Say>Two digits</Say></Gather></Response>',
  "/ivr/menu": "<Response><Redirect>bye</Redirect></Response>",
  "/ivr/bye": "<Response><Say>Goodbye</Say><Hangup/></Response>",
  "/park": '<Response><Pause length="600"/></Response>',
  "/broken": "<Response><Say>never closed</Response>",
};
const received = [];

const server = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    const url = new URL(request.url, `http://${request.headers.host}`);
    const params = Object.fromEntries(new URLSearchParams(body));
    const signed = twilio.validateRequest(
      config.authToken,
      request.headers["x-twilio-signature"] || "",
      `http://${request.headers.host}${request.url}`,
      params,
    );
    received.push({ path: url.pathname, signed, params });
    const page = pages[url.pathname];
    response.writeHead(page ? 200 : 404, { "content-type": "text/xml" });
    response.end(page || "");
  });
});

async function fetchUntil(sid, status) {
  for (let i = 0; i < 200; i += 1) {
    const call = await client.calls(sid).fetch();
    if (call.status === status) return call;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`call ${sid} never reached ${status}`);
}

async function main() {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const result = {};
  const to = "+14155550123";
  const from = "+14155550100";

  const ivr = await client.calls.create({ to, from, url: `${base}/ivr` });
  result.created = { status: ivr.status, direction: ivr.direction };
  await control.waitForCall(ivr.sid, { waiting: "pause" });
  await control.setClock({ advanceSeconds: 20 });
  await control.waitForCall(ivr.sid, { waiting: "gather" });
  await control.keyInCall(ivr.sid, "42");
  const done = await fetchUntil(ivr.sid, "completed");
  result.ivr = {
    status: done.status,
    duration: done.duration,
    verbs: (await control.call(ivr.sid)).steps.filter((s) => s.kind === "verb").map((s) => s.name),
  };

  const parked = await client.calls.create({ to, from, url: `${base}/park` });
  await control.waitForCall(parked.sid, { waiting: "pause" });
  const payment = await client.calls(parked.sid).payments.create({
    idempotencyKey: "node-pay",
    statusCallback: "http://127.0.0.1:9/pay",
  });
  result.payment = { callSid: payment.callSid, sid: payment.sid };
  const updated = await client.calls(parked.sid).update({
    twiml: "<Response><Say>Redirected</Say></Response>",
  });
  result.redirected = { status: updated.status };
  const redirected = await fetchUntil(parked.sid, "completed");
  result.redirected.final = redirected.status;
  result.redirected.said = (await control.call(parked.sid)).steps
    .filter((s) => s.kind === "verb")
    .map((s) => s.text);
  result.session = (await control.payment(payment.sid)).result;

  const broken = await client.calls.create({ to, from, url: `${base}/broken` });
  const ended = await fetchUntil(broken.sid, "completed");
  result.broken = {
    status: ended.status,
    notices: (await control.call(broken.sid)).steps.filter((s) => s.kind === "notice").map((s) => s.code),
  };
  result.health = (await control.health()).status;

  result.received = received.map(({ path, signed, params }) => ({
    path,
    signed,
    callStatus: params.CallStatus,
    digits: params.Digits,
  }));
  server.close();
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  server.close();
  process.exit(1);
});
