// An agent-assisted payment with the official twilio-node SDK, the emulator's caller in auto mode.
// Usage: node auto_flow.js '{"baseUrl", "username", "password", "accountSid", "callSid", "statusCallback",
//                            "create": {...create options...}, "items": [...capture items...]}'
// Between captures it waits (control plane, wait_for) for the caller's entry, as an agent's UI
// waits for the StatusCallback. Prints {"sid", "callbacks"}: the session's callbacks, in order.
"use strict";
const twilio = require("twilio");

const config = JSON.parse(process.argv[2]);
const client = twilio(config.username, config.password, { accountSid: config.accountSid });
client.api.baseUrl = config.baseUrl;
let keys = 0;
const key = () => `node-auto-${process.pid}-${keys++}`;

async function callbacks(sid, waitFor) {
  const url = `${config.baseUrl}/_emulator/callbacks?payment_sid=${sid}&wait_for=${waitFor}&timeout=20`;
  const response = await fetch(url);
  return (await response.json()).callbacks;
}

async function main() {
  const statusCallback = config.statusCallback;
  const payment = await client.calls(config.callSid).payments.create({ idempotencyKey: key(), statusCallback, ...config.create });
  let expected = 1;
  for (const capture of config.items) {
    await client.calls(config.callSid).payments(payment.sid).update({ idempotencyKey: key(), statusCallback, capture });
    expected += 2; // the Capture's callback, then the caller's entry
    await callbacks(payment.sid, expected);
  }
  await client.calls(config.callSid).payments(payment.sid).update({ idempotencyKey: key(), statusCallback, status: "complete" });
  expected += 1;
  process.stdout.write(JSON.stringify({ sid: payment.sid, callbacks: await callbacks(payment.sid, expected) }));
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
