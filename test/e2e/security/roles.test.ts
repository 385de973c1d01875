/**
 * Roles: admin may do everything, auditor may only read accounts and keys, verifier may only
 * verify, and an account without roles may only ask who it is and mint a token. Forbidden calls
 * are 403 `forbidden` and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../helpers/http.js";
import {
  ACCOUNT_ROUTES,
  ADMIN_ROUTES,
  createAccount,
  createTarget,
  expectError,
  KEY_ROUTES,
  label,
  send,
  startStack,
  TARGET_ACCOUNT,
  TARGET_KEY,
  VERIFY_ROUTE,
  type Route,
  type Stack,
} from "./fixtures.js";

let stack: Stack;
let target: { accountId: string; keyId: string; key: string };
let targetBefore: any;
const keys: Record<"none" | "auditor" | "verifier" | "multi", string> = { none: "", auditor: "", verifier: "", multi: "" };

beforeAll(async () => {
  stack = await startStack();
  target = await createTarget(stack.admin);
  targetBefore = (await stack.admin.get(`/v1/service-accounts/${TARGET_ACCOUNT}`)).body;
  keys.none = (await createAccount(stack.admin, "no-roles", [])).key;
  keys.auditor = (await createAccount(stack.admin, "an-auditor", ["auditor"])).key;
  keys.verifier = (await createAccount(stack.admin, "a-verifier", ["verifier"])).key;
  keys.multi = (await createAccount(stack.admin, "auditor-and-verifier", ["auditor", "verifier"])).key;
});

afterAll(async () => {
  await stack?.stop();
});

/** An account as GET shows it, without the keys' lastUsedAt, which verification may move. */
function withoutUsage(account: { apiKeys: Record<string, unknown>[] }): unknown {
  return { ...account, apiKeys: account.apiKeys.map(({ lastUsedAt: _, ...key }) => key) };
}

const as = (credential: string): Client => stack.as(credential);
const titled = (routes: readonly Route[]) => routes.map((route) => ({ route, title: label(route) }));
const READS = [...ACCOUNT_ROUTES, ...KEY_ROUTES].filter((route) => route.method === "GET");
const WRITES = [...ACCOUNT_ROUTES, ...KEY_ROUTES].filter((route) => route.method !== "GET");

async function expectForbidden(credential: string, route: Route): Promise<void> {
  const error = expectError(await send(as(credential), route), 403, "forbidden");
  expect(error.message).not.toMatch(/admin|auditor|verifier/);
}

describe("an account without roles", () => {
  it.each(titled([...ADMIN_ROUTES, VERIFY_ROUTE]))("gets 403 on $title", async ({ route }) => {
    await expectForbidden(keys.none, route);
  });
});

describe("an auditor", () => {
  it.each(titled(READS))("may $title", async ({ route }) => {
    const answer = await send(as(keys.auditor), route);
    expect(answer.status).toBe(200);
  });

  it("reads the same accounts and keys the admin reads", async () => {
    const account = await as(keys.auditor).get(`/v1/service-accounts/${TARGET_ACCOUNT}`);
    expect(withoutUsage(account.body)).toEqual(withoutUsage(targetBefore));
    const list = await as(keys.auditor).get("/v1/service-accounts?limit=500");
    expect(list.body.items.map((item: { name: string }) => item.name)).toContain(TARGET_ACCOUNT);
    const key = await as(keys.auditor).get(`/v1/service-accounts/${TARGET_ACCOUNT}/api-keys/${TARGET_KEY}`);
    expect(key.body).toMatchObject({ id: target.keyId, name: TARGET_KEY });
    expect(key.body.key).toBeUndefined();
  });

  it.each(titled(WRITES))("gets 403 on $title", async ({ route }) => {
    await expectForbidden(keys.auditor, route);
  });

  it("gets 403 on POST /v1/auth/verify", async () => {
    await expectForbidden(keys.auditor, VERIFY_ROUTE);
  });
});

describe("a verifier", () => {
  it("may verify a key, valid or not", async () => {
    const valid = await as(keys.verifier).post("/v1/auth/verify", { key: target.key });
    expect(valid.status).toBe(200);
    expect(valid.body).toMatchObject({
      valid: true,
      serviceAccount: { name: TARGET_ACCOUNT },
      apiKey: { name: TARGET_KEY },
      credential: "current",
    });
    const invalid = await send(as(keys.verifier), VERIFY_ROUTE);
    expect(invalid.status).toBe(200);
    expect(invalid.body).toEqual({ valid: false, code: "not_found" });
  });

  it.each(titled(ADMIN_ROUTES))("gets 403 on $title", async ({ route }) => {
    await expectForbidden(keys.verifier, route);
  });
});

describe("an account that is both auditor and verifier", () => {
  it("may read and verify, but not write", async () => {
    expect((await as(keys.multi).get("/v1/service-accounts")).status).toBe(200);
    expect((await as(keys.multi).post("/v1/auth/verify", { key: target.key })).body.valid).toBe(true);
    await expectForbidden(keys.multi, WRITES[0]!);
  });
});

describe("any active credential", () => {
  const holders = [
    { holder: "no-roles", which: "none" as const, roles: [] },
    { holder: "an-auditor", which: "auditor" as const, roles: ["auditor"] },
    { holder: "a-verifier", which: "verifier" as const, roles: ["verifier"] },
  ];

  it.each(holders)("of $holder may GET /v1/auth/whoami", async ({ holder, which, roles }) => {
    const answer = await as(keys[which]).get("/v1/auth/whoami");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      serviceAccount: { name: holder, roles },
      apiKey: { name: "default" },
      credential: "current",
    });
  });

  it.each(holders)("of $holder may POST /v1/auth/token, and the token carries the same rights", async ({ holder, which }) => {
    const token = await as(keys[which]).post("/v1/auth/token");
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ tokenType: "Bearer", accessToken: expect.any(String) });
    const bearer = as(token.body.accessToken);
    const who = await bearer.get("/v1/auth/whoami");
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ serviceAccount: { name: holder }, credential: "token" });
    expect((await bearer.get("/v1/service-accounts")).status).toBe(which === "auditor" ? 200 : 403);
    expect((await bearer.post("/v1/auth/verify", { key: target.key })).status).toBe(which === "verifier" ? 200 : 403);
    expectError(await bearer.post("/v1/service-accounts", { name: "made-by-token" }), 403, "forbidden");
  });

  it("of the admin may mint a token that can do what the admin can", async () => {
    const token = await stack.admin.post("/v1/auth/token");
    expect(token.status).toBe(200);
    const bearer = as(token.body.accessToken);
    expect((await bearer.get(`/v1/service-accounts/${TARGET_ACCOUNT}`)).status).toBe(200);
    expect((await bearer.post("/v1/auth/verify", { key: target.key })).body.valid).toBe(true);
  });
});

describe("an access token", () => {
  it.each([
    { holder: "the admin", credential: () => stack.admin },
    { holder: "an account without roles", credential: () => as(keys.none) },
  ])("of $holder cannot mint another token (403)", async ({ credential }) => {
    const token = await credential().post("/v1/auth/token");
    expect(token.status).toBe(200);
    expectError(await as(token.body.accessToken).post("/v1/auth/token"), 403, "forbidden");
  });
});

describe("a change of roles", () => {
  it("takes effect on the very next request", async () => {
    const { key } = await createAccount(stack.admin, "demoted", ["auditor"]);
    expect((await as(key).get("/v1/service-accounts")).status).toBe(200);
    const token = (await as(key).post("/v1/auth/token")).body.accessToken as string;
    expect((await stack.admin.patch("/v1/service-accounts/demoted", { roles: [] })).status).toBe(200);
    expectError(await as(key).get("/v1/service-accounts"), 403, "forbidden");
    // A token names the roles it was issued with: a role taken away ends it (the account's epoch moved).
    expectError(await as(token).get("/v1/service-accounts"), 401, "unauthenticated");
    expect((await stack.admin.patch("/v1/service-accounts/demoted", { roles: ["admin"] })).status).toBe(200);
    expect((await as(key).post("/v1/service-accounts", { name: "made-by-promoted" })).status).toBe(201);
  });
});

describe("after all the forbidden calls", () => {
  it("the target account and key are unchanged and nothing was created", async () => {
    const now = (await stack.admin.get(`/v1/service-accounts/${TARGET_ACCOUNT}`)).body;
    expect(withoutUsage(now)).toEqual(withoutUsage(targetBefore));
    expect((await stack.admin.post("/v1/auth/verify", { key: target.key })).body.valid).toBe(true);
    expect((await stack.admin.get("/v1/service-accounts/would-be-created")).status).toBe(404);
    expect((await stack.admin.get("/v1/service-accounts/made-by-token")).status).toBe(404);
    const keysOfTarget = await stack.admin.get(`/v1/service-accounts/${TARGET_ACCOUNT}/api-keys`);
    expect(keysOfTarget.body.items.map((key: { name: string }) => key.name)).toEqual([TARGET_KEY]);
  });
});
