// A resolver hook for Node programs, loaded with NODE_OPTIONS=--require (not a change to
// their code). EMULATOR_RESOLVE="api.twilio.com:443=127.0.0.1:8443" sends every TLS
// connection to api.twilio.com:443 to 127.0.0.1:8443, as a docker-compose network alias
// would; the certificate is still checked against api.twilio.com.
"use strict";
const tls = require("tls");

const rule = process.env.EMULATOR_RESOLVE;
if (rule) {
  const [source, target] = rule.split("=");
  const [sourceHost, sourcePort] = [source.slice(0, source.lastIndexOf(":")), source.slice(source.lastIndexOf(":") + 1)];
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(":")), target.slice(target.lastIndexOf(":") + 1)];
  const connect = tls.connect;
  tls.connect = function (...args) {
    const options = args[0];
    if (options && typeof options === "object" && options.host === sourceHost && String(options.port || 443) === sourcePort) {
      args[0] = { ...options, host: targetHost, port: Number(targetPort), servername: options.servername || sourceHost };
    }
    return connect.apply(this, args);
  };
}
