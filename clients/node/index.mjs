// The ES module entry point: the same client as index.js (CommonJS).
import client from "./index.js";

export const { ControlClient, ControlError, ENDED_STATES, pointAtEmulator } = client;
export default client;
