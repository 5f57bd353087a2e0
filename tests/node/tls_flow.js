// An agent-assisted payment with the unmodified twilio-node SDK: no base URL, no custom
// client. Run with NODE_EXTRA_CA_CERTS (trust the emulator's CA) and the resolver hook, it
// talks to the emulator as if it were api.twilio.com. It follows the StatusCallbacks on a
// webhook of its own, checking each signature with twilio.validateRequest.
// Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN. Prints a JSON summary.
"use strict";
const crypto = require("crypto");
const http = require("http");
const twilio = require("twilio");

const accountSid = process.env.TWILIO_ACCOUNT_SID;
const authToken = process.env.TWILIO_AUTH_TOKEN;
const items = ["payment-card-number", "expiration-date", "security-code", "postal-code"];
const arrived = [];
const signatures = [];
let notify = () => {};

const server = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    const params = Object.fromEntries(new URLSearchParams(body));
    const url = `http://127.0.0.1:${server.address().port}${request.url}`;
    signatures.push(twilio.validateRequest(authToken, request.headers["x-twilio-signature"], url, params));
    response.writeHead(204).end();
    arrived.push(params);
    notify();
  });
});

function waitFor(done) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no callback in time")), 30000);
    const check = () => {
      const found = arrived.find(done);
      if (found) { clearTimeout(timer); notify = () => {}; resolve(found); } else { notify = check; }
    };
    check();
  });
}

async function main() {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const statusCallback = `http://127.0.0.1:${server.address().port}/payments/status`;
  const client = twilio(accountSid, authToken);
  const callSid = "CA" + crypto.randomBytes(16).toString("hex");
  const payment = await client.calls(callSid).payments.create({
    idempotencyKey: crypto.randomUUID(), statusCallback, chargeAmount: 7.5, currency: "USD",
  });
  for (const item of items) {
    await client.calls(callSid).payments(payment.sid).update({ idempotencyKey: crypto.randomUUID(), statusCallback, capture: item });
    await waitFor((p) => p.Capture === item && p.PartialResult === "false" && !p.Required.split(",").includes(item));
  }
  await client.calls(callSid).payments(payment.sid).update({ idempotencyKey: crypto.randomUUID(), statusCallback, status: "complete" });
  const result = await waitFor((p) => p.Result !== undefined);
  server.close();
  process.stdout.write(JSON.stringify({
    payment_sid: payment.sid, result: result.Result, callbacks: signatures.length,
    signatures_valid: signatures.every(Boolean), confirmation_code: result.PaymentConfirmationCode,
  }));
}

main().catch((error) => { process.stderr.write(String((error && error.stack) || error)); process.exit(1); });
