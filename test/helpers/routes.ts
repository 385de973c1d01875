/**
 * Every route of the HTTP contract (docs/http-api.md) with the roles it admits and one valid
 * request, so that the authentication matrix and the hostile-input fuzzer cover the same list. It
 * extends the route table of the e2e security tests (accounts, keys, auth) with the audit,
 * time-travel and public routes, and sends requests over plain `node:http`, so that a test controls
 * every byte (methods, duplicate headers, raw paths) and can leave a Server-Sent Events answer early.
 */
import { readFile } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { join } from "node:path";
import {
  ACCOUNT_ROUTES,
  KEY_ROUTES,
  TARGET_ACCOUNT,
  TARGET_KEY,
  TOKEN_ROUTE,
  UNKNOWN_KEY,
  VERIFY_ROUTE,
  WHOAMI_ROUTE,
  type Method,
  type Route,
} from "../e2e/security/fixtures.js";
import { CLI } from "./cli.js";
import { spawnDaemon, type DaemonProcess } from "./daemon-process.js";
import { startTestNats, tempDir, type TestNats } from "./nats.js";
import { freePort } from "./ports.js";

export { TARGET_ACCOUNT, TARGET_KEY, UNKNOWN_KEY };

/** Who may call a route: anyone, any valid credential, or the roles of the contract's tables. */
export type Access = "public" | "any" | "read" | "write" | "verify";
export type Role = "admin" | "auditor" | "verifier";

const ADMITTED: Record<Exclude<Access, "public" | "any">, readonly Role[]> = {
  read: ["admin", "auditor"],
  write: ["admin"],
  verify: ["admin", "verifier"],
};

export interface ContractRoute {
  readonly method: Method;
  /** The path, with `:account` and `:key` where the contract has them. */
  readonly path: string;
  /** The query of the valid request, with `:asOf` (a point in history) and `:account` filled in by `urlOf`. */
  readonly query?: string;
  /** A valid body, so that only the credential (or the role) can be at fault. */
  readonly body?: unknown;
  readonly access: Access;
  /** The status a caller the route admits gets for the valid request. */
  readonly ok: number;
  /** Only an API key may call it: an access token is refused (403). */
  readonly apiKeyOnly?: boolean;
  /** The answer is Server-Sent Events, which never end. */
  readonly stream?: boolean;
  /** The query parameters the route knows. */
  readonly params: readonly string[];
}

/** The fixtures' paths name the target account and key; here they are placeholders. */
function templateOf(path: string): string {
  return path
    .replace(new RegExp(`/service-accounts/${TARGET_ACCOUNT}(?=/|$)`), "/service-accounts/:account")
    .replace(new RegExp(`/api-keys/${TARGET_KEY}(?=/|$)`), "/api-keys/:key");
}

function extend(route: Route, access: Access, ok: number, extra: Partial<ContractRoute> = {}): ContractRoute {
  return { method: route.method, path: templateOf(route.path), body: route.body, access, ok, params: [], ...extra };
}

function fixture(routes: readonly Route[], method: Method, path: string): Route {
  const found = routes.find((route) => route.method === method && templateOf(route.path) === path);
  if (found === undefined) throw new Error(`the security fixtures have no route ${method} ${path}`);
  return found;
}

const ACCOUNTS = "/v1/service-accounts";
const ACCOUNT = `${ACCOUNTS}/:account`;
const KEYS = `${ACCOUNT}/api-keys`;
const KEY = `${KEYS}/:key`;
const get = (path: string, access: Access, params: readonly string[], extra: Partial<ContractRoute> = {}): ContractRoute => ({
  method: "GET",
  path,
  access,
  ok: 200,
  params,
  ...extra,
});

/** Service accounts and API keys: the e2e security fixtures' routes, with the roles they admit. */
export const RESOURCE_ROUTES: readonly ContractRoute[] = [
  extend(fixture(ACCOUNT_ROUTES, "POST", ACCOUNTS), "write", 201),
  extend(fixture(ACCOUNT_ROUTES, "GET", ACCOUNTS), "read", 200, { params: ["active", "name", "limit", "cursor", "asOf"] }),
  extend(fixture(ACCOUNT_ROUTES, "GET", ACCOUNT), "read", 200, { params: ["asOf"] }),
  extend(fixture(ACCOUNT_ROUTES, "PATCH", ACCOUNT), "write", 200),
  extend(fixture(ACCOUNT_ROUTES, "DELETE", ACCOUNT), "write", 204),
  extend(fixture(KEY_ROUTES, "POST", KEYS), "write", 201),
  extend(fixture(KEY_ROUTES, "GET", KEYS), "read", 200, { params: ["active", "asOf"] }),
  extend(fixture(KEY_ROUTES, "GET", KEY), "read", 200, { params: ["asOf"] }),
  extend(fixture(KEY_ROUTES, "PATCH", KEY), "write", 200),
  extend(fixture(KEY_ROUTES, "POST", `${KEY}/rotate`), "write", 200),
  extend(fixture(KEY_ROUTES, "DELETE", KEY), "write", 204),
];

/** Authentication: verify (verifier or admin), token and whoami (any credential), JWKS (anyone). */
export const AUTH_ROUTES: readonly ContractRoute[] = [
  extend(VERIFY_ROUTE, "verify", 200),
  extend(TOKEN_ROUTE, "any", 200, { apiKeyOnly: true }),
  extend(WHOAMI_ROUTE, "any", 200),
  get("/.well-known/jwks.json", "public", []),
];

/** Audit: history, its live tail, time travel (`asOf` on the reads, the state, the diff) and integrity. */
export const AUDIT_ROUTES: readonly ContractRoute[] = [
  get("/v1/events", "read", ["after", "limit", "account", "type"]),
  get("/v1/events", "read", ["after", "limit", "account", "type"], {
    query: "account=:account&type=ServiceAccountCreated&limit=5",
  }),
  get("/v1/events/stream", "read", ["after", "account", "type"], { stream: true }),
  get("/v1/events/stream", "read", ["after", "account", "type"], { stream: true, query: "after=0&account=:account" }),
  get(ACCOUNTS, "read", ["active", "name", "limit", "cursor", "asOf"], { query: "asOf=:asOf" }),
  get(ACCOUNT, "read", ["asOf"], { query: "asOf=:asOf" }),
  get(KEYS, "read", ["active", "asOf"], { query: "asOf=:asOf" }),
  get(KEY, "read", ["asOf"], { query: "asOf=:asOf" }),
  get("/v1/audit/state", "read", ["asOf", "limit", "cursor"], { query: "asOf=:asOf" }),
  get("/v1/audit/diff", "read", ["from", "to", "limit", "cursor"], { query: "from=0&to=:asOf" }),
  get("/v1/audit/verify", "read", ["maxProblems"]),
  get("/v1/audit/export", "read", []),
];

/** Operations: open to anyone. */
export const OPERATION_ROUTES: readonly ContractRoute[] = [
  get("/healthz", "public", []),
  get("/readyz", "public", []),
  get("/metrics", "public", []),
  get("/openapi.json", "public", []),
  get("/docs", "public", []),
];

/** The routes that describe the API rather than belong to it: not listed in the OpenAPI document. */
export const DOCUMENTATION_PATHS: ReadonlySet<string> = new Set(["/openapi.json", "/docs"]);

export const CONTRACT_ROUTES: readonly ContractRoute[] = [
  ...RESOURCE_ROUTES,
  ...AUTH_ROUTES,
  ...AUDIT_ROUTES,
  ...OPERATION_ROUTES,
];

export const routeTitle = (route: ContractRoute): string =>
  `${route.method} ${route.path}${route.query ? `?${route.query}` : ""}`;

/** Whether an account with these roles may call the route (given a valid credential). */
export function admits(route: ContractRoute, roles: readonly Role[]): boolean {
  if (route.access === "public" || route.access === "any") return true;
  return roles.some((role) => ADMITTED[route.access as keyof typeof ADMITTED].includes(role));
}

/** The route's valid request, addressed to an account and a key, at a point in history. */
export function urlOf(route: ContractRoute, at: { account: string; key: string; asOf: string }): string {
  const fill = (text: string) =>
    text
      .replaceAll(":account", encodeURIComponent(at.account))
      .replaceAll(":key", encodeURIComponent(at.key))
      .replaceAll(":asOf", encodeURIComponent(at.asOf));
  return route.query === undefined ? fill(route.path) : `${fill(route.path)}?${fill(route.query)}`;
}

/** The contract's error codes and their statuses: a closed set. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as text ("" for HEAD and for an event stream, which is left after its headers). */
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
  readonly ms: number;
}

export type RequestHeaders = Readonly<Record<string, string | readonly string[]>>;

export interface Outgoing {
  readonly method: string;
  /** Path and query, sent as they are. */
  readonly url: string;
  /** A header given as an array is sent as several lines. */
  readonly headers?: RequestHeaders;
  /** A string or bytes is sent as it is; anything else as JSON (with its content type unless one is given). */
  readonly body?: unknown;
}

/**
 * Sends one request and reads the whole answer, except an event stream, whose connection is closed
 * once its headers arrived (it never ends on its own, also not after a HEAD).
 */
export function send(
  base: string,
  request: Outgoing,
  /** `localAddress` binds the client's end, such as 127.0.0.2: the daemon sees another client address. */
  options: { agent?: http.Agent | false; timeoutMs?: number; localAddress?: string } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  const raw = request.body;
  const body =
    raw === undefined
      ? undefined
      : typeof raw === "string" || Buffer.isBuffer(raw)
        ? raw
        : Buffer.from(JSON.stringify(raw), "utf8");
  // A body always goes with its length: Node sends a GET or DELETE body without one (nor chunking).
  const headers = {
    ...(raw !== undefined && typeof raw !== "string" && !Buffer.isBuffer(raw) ? { "content-type": "application/json" } : {}),
    ...request.headers,
    ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
  } as OutgoingHttpHeaders;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: hostname,
        port,
        method: request.method,
        path: request.url,
        headers,
        agent: options.agent ?? false,
        localAddress: options.localAddress,
      },
      (response) => {
        const finish = (text: string) => {
          let json: unknown;
          try {
            json = text === "" ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json, ms: performance.now() - started });
        };
        if (String(response.headers["content-type"] ?? "").startsWith("text/event-stream")) {
          outgoing.destroy();
          finish("");
          return;
        }
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => finish(Buffer.concat(chunks).toString("utf8")));
        response.on("error", reject);
      },
    );
    outgoing.setTimeout(options.timeoutMs ?? 20_000, () =>
      outgoing.destroy(new Error(`no answer within ${options.timeoutMs ?? 20_000} ms`)),
    );
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

export interface ServedDaemon {
  readonly url: string;
  readonly adminKey: string;
  readonly process: DaemonProcess;
  /** Stops the daemon with SIGTERM, then its nats-server; resolves with the daemon's exit code. */
  stop(): Promise<number | null>;
}

/**
 * The real `keyledger serve` as a child process, on its own nats-server and data directory.
 * `KEYLEDGER_TEST_CLI` points at another build of the CLI (a deliberately broken copy, say).
 */
export async function serveChild(flags: Record<string, string>): Promise<ServedDaemon> {
  const nats: TestNats = await startTestNats();
  const port = await freePort();
  const dataDir = await tempDir("keyledger-data-");
  const args = [
    process.env.KEYLEDGER_TEST_CLI ?? CLI,
    "serve",
    "--port",
    String(port),
    "--data-dir",
    dataDir,
    "--nats-url",
    nats.url,
  ];
  for (const [flag, value] of Object.entries(flags)) args.push(`--${flag}`, value);
  const child = spawnDaemon(process.execPath, args, port, { env: { PATH: process.env.PATH, HOME: dataDir } });
  try {
    await Promise.race([
      child.ready,
      child.exited.then((code) => {
        throw new Error(`keyledger serve exited with ${code} before it was ready:\n${child.output()}`);
      }),
    ]);
  } catch (error) {
    child.child.kill("SIGKILL");
    await nats.stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    adminKey: (await readFile(join(dataDir, "admin.key"), "utf8")).trim(),
    process: child,
    stop: async () => {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGTERM");
      const code = await child.exited;
      await nats.stop();
      return code;
    },
  };
}
