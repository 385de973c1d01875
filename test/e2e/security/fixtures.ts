/** Shared pieces of the security tests: one stack per file, the route table and error assertions. */
import { expect } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, type Answer, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

export interface Stack {
  readonly nats: TestNats;
  readonly daemon: TestDaemon;
  readonly admin: Client;
  as(credential?: string): Client;
  stop(): Promise<void>;
}

/** A real nats-server and a real daemon (with its own data dir) for one test file. */
export async function startStack(settings: Record<string, string> = {}, options: { clock?: () => Date } = {}): Promise<Stack> {
  const nats = await startTestNats();
  let daemon: TestDaemon | undefined;
  try {
    daemon = await startTestDaemon(nats.url, settings, options);
  } catch (error) {
    await nats.stop();
    throw error;
  }
  const started = daemon;
  return {
    nats,
    daemon: started,
    admin: client(started.url, await started.adminKey()),
    as: (credential) => client(started.url, credential),
    stop: async () => {
      await started.stop();
      await nats.stop();
    },
  };
}

export type Method = "GET" | "POST" | "PATCH" | "DELETE";

export interface Route {
  readonly method: Method;
  readonly path: string;
  /** A valid body, so that only the credential (or the role) can be at fault. */
  readonly body?: unknown;
  readonly area: "accounts" | "keys" | "auth";
}

/** The account and key that every route of the table addresses; each file creates them. */
export const TARGET_ACCOUNT = "target";
export const TARGET_KEY = "target-key";
const account = `/v1/service-accounts/${TARGET_ACCOUNT}`;
const key = `${account}/api-keys/${TARGET_KEY}`;

/** A syntactically valid API key that no daemon ever issued. */
export const UNKNOWN_KEY = `kl_${"0123456789ABCDEFGHJKMNPQRS"}_${"A".repeat(43)}`;

export const ACCOUNT_ROUTES: readonly Route[] = [
  { method: "POST", path: "/v1/service-accounts", body: { name: "would-be-created" }, area: "accounts" },
  { method: "GET", path: "/v1/service-accounts", area: "accounts" },
  { method: "GET", path: account, area: "accounts" },
  { method: "PATCH", path: account, body: { description: "changed" }, area: "accounts" },
  { method: "DELETE", path: account, area: "accounts" },
];

export const KEY_ROUTES: readonly Route[] = [
  { method: "POST", path: `${account}/api-keys`, body: { name: "would-be-created" }, area: "keys" },
  { method: "GET", path: `${account}/api-keys`, area: "keys" },
  { method: "GET", path: key, area: "keys" },
  { method: "PATCH", path: key, body: { description: "changed" }, area: "keys" },
  { method: "POST", path: `${key}/rotate`, body: { retainSeconds: 0 }, area: "keys" },
  { method: "DELETE", path: key, area: "keys" },
];

export const VERIFY_ROUTE: Route = { method: "POST", path: "/v1/auth/verify", body: { key: UNKNOWN_KEY }, area: "auth" };
export const TOKEN_ROUTE: Route = { method: "POST", path: "/v1/auth/token", area: "auth" };
export const WHOAMI_ROUTE: Route = { method: "GET", path: "/v1/auth/whoami", area: "auth" };

/** Every route of the sections Service accounts, API keys and Authentication, except the public JWKS. */
export const PROTECTED_ROUTES: readonly Route[] = [...ACCOUNT_ROUTES, ...KEY_ROUTES, VERIFY_ROUTE, TOKEN_ROUTE, WHOAMI_ROUTE];
export const ADMIN_ROUTES: readonly Route[] = [...ACCOUNT_ROUTES, ...KEY_ROUTES];

export function send(as: Client, route: Route, headers: Record<string, string> = {}): Promise<Answer> {
  return as.call(route.method, route.path, route.body, headers);
}

/** The contract's error body, with the request id also in the `x-request-id` header. */
export function expectError(answer: Answer, status: number, code: string): { code: string; message: string; requestId: string } {
  expect({ status: answer.status, body: answer.body }).toEqual({
    status,
    body: { error: { code, message: expect.any(String), requestId: expect.any(String) } },
  });
  const error = answer.body.error as { code: string; message: string; requestId: string };
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.requestId.length).toBeGreaterThan(0);
  expect(answer.headers.get("x-request-id")).toBe(error.requestId);
  return error;
}

/** Creates a service account and returns its default key. */
export async function createAccount(admin: Client, name: string, roles: readonly string[]): Promise<{ id: string; key: string }> {
  const created = await admin.post("/v1/service-accounts", { name, roles });
  expect(created.status).toBe(201);
  return { id: created.body.serviceAccount.id, key: created.body.apiKey.key };
}

/** The target account and key that the route table addresses. */
export async function createTarget(admin: Client): Promise<{ accountId: string; keyId: string; key: string }> {
  const account = await admin.post("/v1/service-accounts", { name: TARGET_ACCOUNT, roles: [], createApiKey: false });
  expect(account.status).toBe(201);
  const created = await admin.post(`/v1/service-accounts/${TARGET_ACCOUNT}/api-keys`, { name: TARGET_KEY });
  expect(created.status).toBe(201);
  return { accountId: account.body.serviceAccount.id, keyId: created.body.id, key: created.body.key };
}

export const label = (route: Route): string => `${route.method} ${route.path}`;
