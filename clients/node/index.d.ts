// Types of twilio-payments-emulator's control-plane client.

/** The states of a payment session that has ended. */
export declare const ENDED_STATES: readonly ["completed", "cancelled", "ended"];

export interface Account {
  accountSid: string;
  authToken: string;
  apiKeySid: string;
  apiKeySecret: string;
  parentAccountSid: string | null;
}

export type SessionState = "active" | "processing" | "completed" | "cancelled" | "ended";

/** A phone set up with `setPhone`: who answers at `number` (the script's keys, not values). */
export interface Phone {
  account_sid: string;
  number: string;
  caller: "auto" | "manual";
  items: string[];
}

/** The session view of `GET /_emulator/payments/{Sid}` (the emulator's own field names). */
export interface SessionView {
  sid: string;
  account_sid: string;
  call_sid: string;
  state: SessionState;
  capturing: string | null;
  required: string[];
  captured: Record<string, string>;
  card_type: string | null;
  result: string | null;
  caller: string;
  status_callback: string;
  connector: string;
  timeout: number;
  input_deadline: string | null;
  forced_outcome: {
    result: string;
    pay_error_code: number | null;
    payment_error: string;
    connector_error: string;
  } | null;
  history: Array<{ event: string; at: string; [field: string]: unknown }>;
  connector_requests: Array<Record<string, unknown>>;
  /** `rest`: the Payments API's; `twiml`: a `<Pay>` verb's. */
  origin: "rest" | "twiml";
  /** A `<Pay>` verb's session: where its action goes, the tries an item, this try. */
  pay: {
    action: string;
    status_callback: string | null;
    status_callback_method: "GET" | "POST";
    tries: number;
    attempt: number;
    language: string;
  } | null;
}

export type CallStatus =
  | "queued"
  | "ringing"
  | "in-progress"
  | "completed"
  | "busy"
  | "failed"
  | "no-answer"
  | "canceled";

/** What `createCall` gives a call (all optional). */
export interface CallOptions {
  caller?: "auto" | "manual";
  /** What the caller keys: per item, and `gather` / `gather-N` at `<Gather>`s. */
  script?: Record<string, string>;
  url?: string;
  /** Makes it an inbound call that fetches its TwiML from here. */
  voiceUrl?: string;
  method?: "GET" | "POST";
  from?: string;
  to?: string;
  fallbackUrl?: string;
  statusCallback?: string;
  statusCallbackEvent?: Array<"initiated" | "ringing" | "answered" | "completed">;
  statusCallbackMethod?: "GET" | "POST";
}

/** One step of a call's timeline (`GET /_emulator/calls/{CallSid}`). */
export interface CallStep {
  at: string;
  kind: "request" | "verb" | "prompt" | "pay" | "input" | "status" | "notice" | "note";
  name: string;
  url?: string;
  status_code?: number;
  code?: number;
  body?: string;
  [detail: string]: unknown;
}

/** The call view of `GET /_emulator/calls/{CallSid}`. */
export interface CallView {
  call_sid: string;
  account_sid: string;
  status: CallStatus;
  direction: "inbound" | "outbound-api";
  from: string | null;
  to: string | null;
  caller: string | null;
  url: string | null;
  runs_twiml: boolean;
  voice_url: string | null;
  waiting: "gather" | "pause" | "pay" | null;
  created_at: string;
  start_time: string | null;
  end_time: string | null;
  duration: number | null;
  steps: CallStep[];
  status_callbacks: Callback[];
  /** What its `<Pay>`s sent: statusCallbacks (`pay-status`), an action once the call ended (`pay-action`). */
  pay_callbacks: Callback[];
}

/** A StatusCallback and its last delivery attempt. */
export interface Callback {
  id: number;
  /** null for a call's own status callback. */
  payment_sid: string | null;
  account_sid: string;
  call_sid: string;
  event: string;
  method: "GET" | "POST";
  url: string;
  params: Record<string, string>;
  headers: Record<string, string>;
  response: string;
  idempotency_token: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  status_code: number | null;
  error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface JournalEntry {
  request_id: string;
  time: string;
  method: string;
  path: string;
  params: Record<string, string>;
  authenticated_as: string | null;
  auth_failure: string | null;
  account_sid: string | null;
  call_sid: string | null;
  payment_sid: string | null;
  status: number;
  response: string;
  duration_ms: number;
}

export interface GenericConnector {
  endpointUrl: string;
  username?: string;
  password?: string;
  mode?: "test" | "live";
  timeoutS?: number;
  retries?: number;
  legacyPaths?: boolean;
}

export interface ConnectorOptions {
  charge?: boolean;
  tokenize?: boolean;
  currencies?: string[];
  paymentMethods?: Array<"credit-card" | "ach-debit">;
  tokenTypes?: Array<"one-time" | "reusable" | "payment-method">;
  generic?: GenericConnector;
}

export interface FaultRule {
  method?: string;
  path?: string;
  accountSid?: string;
  status?: number;
  code?: number;
  message?: string;
  delayMs?: number;
  times?: number;
  probability?: number;
}

/** The control plane refused a request (4xx) or failed (5xx). */
export declare class ControlError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** What the emulator said (FastAPI's `detail`). */
  readonly detail: unknown;
}

export declare class ControlClient {
  constructor(baseUrl: string, options?: { token?: string; timeoutMs?: number });
  readonly baseUrl: string;

  health(): Promise<{ status: string; version: string }>;
  reset(accountSid?: string): Promise<void>;
  metrics(): Promise<string>;

  createAccount(options?: { parentAccountSid?: string }): Promise<Account>;
  createCall(accountSid: string, options?: CallOptions): Promise<string>;
  call(callSid: string): Promise<CallView>;
  keyInCall(callSid: string, digits: string): Promise<CallView>;
  waitForCall(
    callSid: string,
    options?: { status?: CallStatus | CallStatus[]; waiting?: "gather" | "pause" | "pay"; timeoutMs?: number },
  ): Promise<CallView>;
  waitForPay(
    callSid: string,
    options?: { asking?: string; attempt?: number; timeoutMs?: number },
  ): Promise<SessionView>;
  setCaller(
    callSid: string,
    mode: "auto" | "manual",
    options?: { script?: Record<string, string> },
  ): Promise<{ call_sid: string; caller: string }>;
  hangUp(callSid: string): Promise<void>;

  setPhone(
    accountSid: string,
    number: string,
    mode?: "auto" | "manual",
    options?: { script?: Record<string, string> },
  ): Promise<Phone>;
  phones(options?: { accountSid?: string }): Promise<Phone[]>;
  removePhones(options?: { accountSid?: string; number?: string }): Promise<number>;

  keyIn(paymentSid: string, digits: string, options?: { partial?: boolean }): Promise<SessionView>;
  payment(paymentSid: string): Promise<SessionView>;
  setOutcome(
    paymentSid: string,
    outcome: {
      result: "success" | "payment-connector-error" | "validation-error";
      payErrorCode?: string | number;
      paymentError?: string;
      connectorError?: string;
    },
  ): Promise<SessionView>;
  /** Rejects with an Error named `TimeoutError` after `timeoutMs` (default 10000). */
  waitUntilEnded(paymentSid: string, options?: { timeoutMs?: number }): Promise<SessionView>;

  callbacks(filters?: {
    paymentSid?: string;
    callSid?: string;
    accountSid?: string;
    waitFor?: number;
    timeoutMs?: number;
  }): Promise<Callback[]>;
  redeliver(callbackId: number): Promise<Callback>;

  createConnector(
    accountSid: string,
    name: string,
    options?: ConnectorOptions,
  ): Promise<Record<string, unknown>>;

  addFault(action: "error" | "delay" | "drop", rule?: FaultRule): Promise<Record<string, unknown>>;
  faults(): Promise<Array<Record<string, unknown>>>;
  deleteFault(ruleId: number): Promise<Array<Record<string, unknown>>>;
  clearFaults(): Promise<void>;
  requests(filters?: {
    accountSid?: string;
    callSid?: string;
    paymentSid?: string;
    status?: number;
  }): Promise<JournalEntry[]>;

  clock(): Promise<{ now: string; frozen: boolean }>;
  setClock(options?: {
    freezeAt?: string;
    advanceSeconds?: number;
    reset?: boolean;
  }): Promise<{ now: string; frozen: boolean }>;
  /** Stop the clock at the current instant (no Timeout passes while it is held). */
  holdClock(): Promise<{ now: string; frozen: boolean }>;
  /** Let a held clock run again from the instant it stood at (no deadline jumps ahead). */
  releaseClock(): Promise<{ now: string; frozen: boolean }>;
  changes(): Promise<number>;
  /** Rejects with an Error named `TimeoutError` after `timeoutMs` (default 15000). */
  waitForChange(options?: { since?: number; timeoutMs?: number }): Promise<number>;
}

/**
 * Point a twilio-node client at the emulator: its base URL, and no edge or region (which
 * `TWILIO_EDGE`/`TWILIO_REGION` would otherwise put into the host name). Returns the client.
 */
export declare function pointAtEmulator<T extends { api: { baseUrl: string } }>(
  client: T,
  baseUrl: string,
): T;
