// Checks X-Twilio-Signature values with twilio-node's own validateRequest, as a webhook would.
// stdin: {"token": "...", "requests": [{"url": "...", "params": {...}, "signature": "..."}]}
// stdout: a JSON array of booleans, one per request.
"use strict";
const twilio = require("twilio");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { token, requests } = JSON.parse(input);
  const results = requests.map((r) => twilio.validateRequest(token, r.signature, r.url, r.params));
  process.stdout.write(JSON.stringify(results));
});
