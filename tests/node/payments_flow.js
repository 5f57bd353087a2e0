// Drives the Payments flow with the official twilio-node SDK against the emulator.
// Usage: node payments_flow.js '{"baseUrl": ..., "username": ..., "password": ..., "accountSid": ..., "callSid": ...}'
// Prints one JSON object: each step's HTTP status, or the RestException the SDK raised.
"use strict";
const twilio = require("twilio");

const config = JSON.parse(process.argv[2]);
const client = twilio(config.username, config.password, { accountSid: config.accountSid });
client.api.baseUrl = config.baseUrl;
// Delivery is not checked here: a closed port of this machine, so nothing leaves 127.0.0.1.
const callback = "http://127.0.0.1:9/payments/status";
const steps = {};
let counter = 0;
const key = () => `node-${process.pid}-${counter++}`;

async function step(name, action) {
  try {
    const response = await action();
    steps[name] = { status: response.statusCode, body: response.body };
  } catch (error) {
    steps[name] = {
      error: error.constructor.name,
      status: error.status,
      code: error.code,
      message: error.message,
      moreInfo: error.moreInfo,
    };
  }
  return steps[name];
}

async function main() {
  const payments = client.calls(config.callSid).payments;
  const created = await step("create", () =>
    payments.createWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, chargeAmount: 10.5, currency: "USD" }));
  const sid = created.body.sid;
  const session = client.calls(config.callSid).payments(sid);
  for (const item of ["payment-card-number", "expiration-date", "security-code", "postal-code"]) {
    await step(`capture ${item}`, () => session.updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, capture: item }));
  }
  await step("complete before input", () => session.updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, status: "complete" }));
  await step("neither capture nor status", () => session.updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback }));
  await step("misspelled capture", () => session.updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, capture: "card-number" }));
  await step("second create while active", () => payments.createWithHttpInfo({ idempotencyKey: key(), statusCallback: callback }));
  await step("cancel", () => session.updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, status: "cancel" }));
  await step("update after cancel", () => session.updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, status: "cancel" }));
  await step("create after cancel", () => payments.createWithHttpInfo({ idempotencyKey: key(), statusCallback: callback }));
  await step("unknown session", () =>
    client.calls(config.callSid).payments("PK" + "0".repeat(32)).updateWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, status: "cancel" }));
  await step("bank account type on a card", () =>
    client.calls("CA" + "f".repeat(32)).payments.createWithHttpInfo({ idempotencyKey: key(), statusCallback: callback, bankAccountType: "consumer-checking" }));
  const stranger = twilio(config.accountSid, "wrong" + "0".repeat(27));
  stranger.api.baseUrl = config.baseUrl;
  await step("wrong credentials", () =>
    stranger.calls(config.callSid).payments.createWithHttpInfo({ idempotencyKey: key(), statusCallback: callback }));
  process.stdout.write(JSON.stringify({ sid, steps }));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
