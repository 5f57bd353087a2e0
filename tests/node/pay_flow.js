// <Pay> on a call placed with the official twilio-node SDK: an application of this script's
// own (a node:http server on 127.0.0.1) answers with TwiML built by twilio-node's
// VoiceResponse, and receives the signed action and statusCallback requests (checked with
// twilio.validateRequest). Once with the auto caller (a charge to the action), once with a
// manual caller who keys a card number through the call's keypad, then presses *.
// Usage: node pay_flow.js '{"baseUrl": ..., "accountSid": ..., "authToken": ...}'
// Prints one JSON object with what the application received.
"use strict";
const http = require("node:http");
const twilio = require("twilio");
const { ControlClient, pointAtEmulator } = require("twilio-payments-emulator");

const config = JSON.parse(process.argv[2]);
const client = pointAtEmulator(twilio(config.accountSid, config.authToken), config.baseUrl);
const control = new ControlClient(config.baseUrl);
const received = [];
let arrived = () => {};

function payTwiml() {
  const response = new twilio.twiml.VoiceResponse();
  response.say("Calling Twilio Pay");
  const pay = response.pay({ chargeAmount: "10.00", action: "/paid", statusCallback: "/status" });
  pay.prompt({ for: "payment-card-number" }).say("Please enter your card number");
  return response.toString();
}

function thanks(params) {
  const response = new twilio.twiml.VoiceResponse();
  response.say(params.Result === "success" ? "Thank you for your payment" : "No payment");
  response.hangup();
  return response.toString();
}

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
    arrived();
    const twiml = { "/pay": payTwiml, "/paid": () => thanks(params) }[url.pathname];
    response.writeHead(twiml ? 200 : 204, twiml ? { "content-type": "text/xml" } : {});
    response.end(twiml ? twiml() : "");
  });
});

async function requestTo(path, count = 1) {
  for (;;) {
    const seen = received.filter((r) => r.path === path);
    if (seen.length >= count) return seen;
    await new Promise((resolve) => {
      arrived = resolve;
      setTimeout(resolve, 200);
    });
  }
}

async function main() {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const to = "+14155550123";
  const from = "+14155550100";
  const result = {};

  const paying = await client.calls.create({ to, from, url: `${base}/pay` });
  await control.setCaller(paying.sid, "auto");
  const [paid] = await requestTo("/paid");
  result.paid = { signed: paid.signed, ...paid.params };
  await control.waitForCall(paying.sid, { status: "completed" });
  result.statuses = (await requestTo("/status", 5)).map(({ signed, params }) => ({
    signed,
    For: params.For,
    Attempt: params.Attempt,
    ErrorType: params.ErrorType,
  }));

  const manual = await client.calls.create({ to, from, url: `${base}/pay` });
  await control.setCaller(manual.sid, "manual");
  const session = await control.waitForPay(manual.sid, { asking: "payment-card-number" });
  await control.keyInCall(manual.sid, "4242424242424242#");
  await control.waitForPay(manual.sid, { asking: "expiration-date" });
  await control.keyInCall(manual.sid, "*");
  const [, interrupted] = await requestTo("/paid", 2);
  result.interrupted = { session: session.origin, Result: interrupted.params.Result };
  server.close();
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  server.close();
  process.exit(1);
});
