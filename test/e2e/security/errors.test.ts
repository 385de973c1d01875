/**
 * Error answers: the contract's body and `x-request-id` on every one, 404 for what does not exist
 * (or no longer does), 409 for taken names and for an admin locking itself out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client } from "../../helpers/http.js";
import { createAccount, expectError, startStack, type Method, type Stack } from "./fixtures.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

const UNKNOWN_ACCOUNT_ID = "sa_01ARZ3NDEKTSV4RRFFQ69G5FAV";
const UNKNOWN_KEY_ID = "key_01ARZ3NDEKTSV4RRFFQ69G5FAV";

describe("an unknown route", () => {
  it.each([
    { method: "GET" as Method, path: "/v1/nope" },
    { method: "POST" as Method, path: "/v1/service-accounts/x/nope" },
    { method: "PUT" as Method, path: "/v1/service-accounts" },
    { method: "GET" as Method, path: "/v2/service-accounts" },
  ])("$method $path → 404 not_found with the error body, with or without a credential", async ({ method, path }) => {
    expectError(await stack.admin.call(method, path), 404, "not_found");
    expectError(await stack.as().call(method, path), 404, "not_found");
  });

  it("does not echo the query string", async () => {
    const error = expectError(await stack.as().get("/v1/nope?secret=kl_abc"), 404, "not_found");
    expect(error.message).not.toContain("kl_abc");
  });
});

describe("request ids", () => {
  it("are echoed when the client sends a well-formed one", async () => {
    const answer = await stack.as().call("GET", "/v1/auth/whoami", undefined, { "x-request-id": "trace-42.a:b_c" });
    expect(expectError(answer, 401, "unauthenticated").requestId).toBe("trace-42.a:b_c");
  });

  it.each([
    { title: "with spaces", id: "has spaces" },
    { title: "too long", id: "r".repeat(65) },
    { title: "with markup", id: "<script>" },
  ])("are replaced when the client sends one $title", async ({ id }) => {
    const answer = await stack.as().call("GET", "/v1/nope", undefined, { "x-request-id": id });
    const error = expectError(answer, 404, "not_found");
    expect(error.requestId).not.toBe(id);
    expect(error.requestId).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
  });

  it("differ from request to request", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add(expectError(await stack.as().get("/v1/nope"), 404, "not_found").requestId);
    expect(ids.size).toBe(5);
  });

  it("are sent on successful answers too", async () => {
    const answer = await stack.admin.get("/v1/auth/whoami");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
  });

  it.each([
    { status: 400, code: "invalid_request", call: () => stack.admin.post("/v1/service-accounts", { name: "" }) },
    { status: 401, code: "unauthenticated", call: () => stack.as("nope").get("/v1/service-accounts") },
    { status: 404, code: "not_found", call: () => stack.admin.get(`/v1/service-accounts/${UNKNOWN_ACCOUNT_ID}`) },
    { status: 409, code: "conflict", call: () => stack.admin.delete("/v1/service-accounts/admin") },
  ])("match the body's requestId on a $status answer", async ({ status, code, call }) => {
    const answer = await call();
    const error = expectError(answer, status, code);
    expect(answer.headers.get("x-request-id")).toBe(error.requestId);
  });
});

describe("a malformed URL", () => {
  // Contract: "Every error has this body, and no stack trace or internal detail ever leaves the process."
  it.each(["/v1/service-accounts/%", "/v1/service-accounts/%E0%A4%A"])(
    "%s → 400 with the contract's error body",
    async (path) => {
      expectError(await stack.admin.get(path), 400, "invalid_request");
      expectError(await stack.as().get(path), 400, "invalid_request");
    },
  );
});

describe("404 not_found", () => {
  let deletedAccountId: string;
  let deletedKeyId: string;

  beforeAll(async () => {
    const { admin } = stack;
    expect((await admin.post("/v1/service-accounts", { name: "holder", createApiKey: false })).status).toBe(201);
    expect((await admin.post("/v1/service-accounts/holder/api-keys", { name: "alive" })).status).toBe(201);
    const doomedKey = await admin.post("/v1/service-accounts/holder/api-keys", { name: "removed" });
    deletedKeyId = doomedKey.body.id;
    expect((await admin.delete("/v1/service-accounts/holder/api-keys/removed")).status).toBe(204);

    deletedAccountId = (await createAccount(admin, "gone", [])).id;
    expect((await admin.post("/v1/service-accounts/gone/api-keys", { name: "alive" })).status).toBe(201);
    expect((await admin.delete("/v1/service-accounts/gone")).status).toBe(204);
  });

  const accountRoutes = (account: string) => [
    { method: "GET" as Method, path: `/v1/service-accounts/${account}` },
    { method: "PATCH" as Method, path: `/v1/service-accounts/${account}`, body: { description: "x" } },
    { method: "DELETE" as Method, path: `/v1/service-accounts/${account}` },
    { method: "GET" as Method, path: `/v1/service-accounts/${account}/api-keys` },
    { method: "POST" as Method, path: `/v1/service-accounts/${account}/api-keys`, body: { name: "fresh" } },
    { method: "GET" as Method, path: `/v1/service-accounts/${account}/api-keys/alive` },
    { method: "PATCH" as Method, path: `/v1/service-accounts/${account}/api-keys/alive`, body: { description: "x" } },
    { method: "POST" as Method, path: `/v1/service-accounts/${account}/api-keys/alive/rotate`, body: { retainSeconds: 0 } },
    { method: "DELETE" as Method, path: `/v1/service-accounts/${account}/api-keys/alive` },
  ];
  const keyRoutes = (key: string) => [
    { method: "GET" as Method, path: `/v1/service-accounts/holder/api-keys/${key}` },
    { method: "PATCH" as Method, path: `/v1/service-accounts/holder/api-keys/${key}`, body: { description: "x" } },
    { method: "POST" as Method, path: `/v1/service-accounts/holder/api-keys/${key}/rotate`, body: { retainSeconds: 0 } },
    { method: "DELETE" as Method, path: `/v1/service-accounts/holder/api-keys/${key}` },
  ];

  it.each([...accountRoutes("no-such-account"), ...accountRoutes(UNKNOWN_ACCOUNT_ID)])(
    "for an unknown account: $method $path",
    async ({ method, path, body }) => {
      const error = expectError(await stack.admin.call(method, path, body), 404, "not_found");
      expect(error.message).toMatch(/service account/);
    },
  );

  it.each(accountRoutes("gone"))("for a deleted account, by name: $method $path", async ({ method, path, body }) => {
    expectError(await stack.admin.call(method, path, body), 404, "not_found");
  });

  it("for a deleted account, by id", async () => {
    expectError(await stack.admin.get(`/v1/service-accounts/${deletedAccountId}`), 404, "not_found");
    expectError(await stack.admin.get(`/v1/service-accounts/${deletedAccountId}/api-keys`), 404, "not_found");
    expectError(await stack.admin.delete(`/v1/service-accounts/${deletedAccountId}`), 404, "not_found");
  });

  it.each([...keyRoutes("no-such-key"), ...keyRoutes(UNKNOWN_KEY_ID)])(
    "for an unknown key: $method $path",
    async ({ method, path, body }) => {
      const error = expectError(await stack.admin.call(method, path, body), 404, "not_found");
      expect(error.message).toMatch(/API key/);
    },
  );

  it("for a deleted key, by name and by id", async () => {
    for (const key of ["removed", () => deletedKeyId]) {
      const name = typeof key === "string" ? key : key();
      expectError(await stack.admin.get(`/v1/service-accounts/holder/api-keys/${name}`), 404, "not_found");
      expectError(
        await stack.admin.post(`/v1/service-accounts/holder/api-keys/${name}/rotate`, { retainSeconds: 0 }),
        404,
        "not_found",
      );
      expectError(await stack.admin.delete(`/v1/service-accounts/holder/api-keys/${name}`), 404, "not_found");
    }
  });

  it("for a key addressed through another account", async () => {
    const holderKey = (await stack.admin.get("/v1/service-accounts/holder/api-keys/alive")).body.id as string;
    expectError(await stack.admin.get(`/v1/service-accounts/admin/api-keys/${holderKey}`), 404, "not_found");
  });

  it("and the deleted ones stay out of the lists", async () => {
    const accounts = await stack.admin.get("/v1/service-accounts?limit=500");
    expect(accounts.body.items.map((item: { name: string }) => item.name)).not.toContain("gone");
    const keys = await stack.admin.get("/v1/service-accounts/holder/api-keys");
    expect(keys.body.items.map((item: { name: string }) => item.name)).toEqual(["alive"]);
  });
});

describe("409 conflict", () => {
  beforeAll(async () => {
    await createAccount(stack.admin, "taken", []);
    await createAccount(stack.admin, "other", []);
    expect((await stack.admin.post("/v1/service-accounts/taken/api-keys", { name: "ci" })).status).toBe(201);
  });

  it("for creating an account whose name exists", async () => {
    expectError(await stack.admin.post("/v1/service-accounts", { name: "taken" }), 409, "conflict");
    expectError(await stack.admin.post("/v1/service-accounts", { name: "admin", roles: ["admin"] }), 409, "conflict");
    const list = await stack.admin.get("/v1/service-accounts?name=taken");
    expect(list.body.items).toHaveLength(1);
  });

  it("for renaming an account to a name that exists", async () => {
    expectError(await stack.admin.patch("/v1/service-accounts/other", { name: "taken" }), 409, "conflict");
    expect((await stack.admin.get("/v1/service-accounts/other")).status).toBe(200);
  });

  it("for creating a key whose name exists in that account", async () => {
    expectError(await stack.admin.post("/v1/service-accounts/taken/api-keys", { name: "ci" }), 409, "conflict");
    expectError(await stack.admin.post("/v1/service-accounts/taken/api-keys", { name: "default" }), 409, "conflict");
    const keys = await stack.admin.get("/v1/service-accounts/taken/api-keys");
    expect(keys.body.items.map((item: { name: string }) => item.name)).toEqual(["default", "ci"]);
  });

  it("but not for the same key name in another account", async () => {
    expect((await stack.admin.post("/v1/service-accounts/other/api-keys", { name: "ci" })).status).toBe(201);
  });

  it("for renaming a key to a name that exists in that account", async () => {
    expectError(await stack.admin.patch("/v1/service-accounts/taken/api-keys/ci", { name: "default" }), 409, "conflict");
  });
});

describe("the admin cannot lock itself out", () => {
  const attempts = [
    { title: "delete its own account", call: (path: string) => stack.admin.delete(path) },
    { title: "deactivate its own account", call: (path: string) => stack.admin.patch(path, { active: false }) },
    {
      title: "remove the admin role from its own account",
      call: (path: string) => stack.admin.patch(path, { roles: ["auditor"] }),
    },
  ];

  it.each(attempts)("may not $title (409), by name or by id", async ({ call }) => {
    const self = (await stack.admin.get("/v1/auth/whoami")).body.serviceAccount.id as string;
    expectError(await call("/v1/service-accounts/admin"), 409, "conflict");
    expectError(await call(`/v1/service-accounts/${self}`), 409, "conflict");
  });

  it("not even through an access token", async () => {
    const token = (await stack.admin.post("/v1/auth/token")).body.accessToken as string;
    expectError(await client(stack.daemon.url, token).delete("/v1/service-accounts/admin"), 409, "conflict");
    expectError(await client(stack.daemon.url, token).patch("/v1/service-accounts/admin", { active: false }), 409, "conflict");
  });

  it("and is still an active admin afterwards", async () => {
    const admin = await stack.admin.get("/v1/service-accounts/admin");
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ active: true, roles: ["admin"] });
    expect((await stack.admin.post("/v1/service-accounts", { name: "still-admin" })).status).toBe(201);
  });
});
