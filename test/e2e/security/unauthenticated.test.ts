/**
 * Every protected route × every way a credential can be missing, malformed, unknown, wrong or
 * inactive: always 401 `unauthenticated`, with one message that never says which case it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../helpers/http.js";
import {
  createAccount,
  createTarget,
  expectError,
  label,
  PROTECTED_ROUTES,
  send,
  startStack,
  TARGET_ACCOUNT,
  TARGET_KEY,
  UNKNOWN_KEY,
  WHOAMI_ROUTE,
  type Stack,
} from "./fixtures.js";

let stack: Stack;
/** The Authorization header of each case, filled in beforeAll; undefined: no header at all. */
const authorization = new Map<string, string | undefined>();
let referenceMessage: string;
let targetBefore: any;

interface Case {
  readonly name: string;
}
const CASES: readonly Case[] = [
  { name: "no Authorization header" },
  { name: "the Bearer scheme without a credential" },
  { name: "a bearer that is not a key" },
  { name: "a valid admin key under another scheme" },
  { name: "a valid admin key followed by junk" },
  { name: "an oversized credential" },
  { name: "a well-formed but unknown key" },
  { name: "a wrong secret for an existing key id" },
  { name: "a deactivated key" },
  { name: "a key of a deactivated account" },
  { name: "a deleted key" },
  { name: "a key of a deleted account" },
  { name: "an expired key" },
  { name: "a secret rotated out with retainSeconds 0" },
  { name: "an access token with a tampered signature" },
  { name: "an access token whose key was deactivated" },
];

/** Every credential below belongs to an admin account: were it accepted, the request would succeed. */
async function adminCredential(name: string): Promise<string> {
  const { key } = await createAccount(stack.admin, name, ["admin"]);
  expect((await stack.as(key).get("/v1/auth/whoami")).status).toBe(200);
  return key;
}

beforeAll(async () => {
  // Well over the number of failures this file causes, so that no request is answered 429.
  stack = await startStack({ "auth-failures-per-minute": "1000000" });
  const { admin } = stack;
  const adminKey = await stack.daemon.adminKey();
  expect(adminKey).toMatch(/^kl_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
  await createTarget(admin);
  targetBefore = (await admin.get(`/v1/service-accounts/${TARGET_ACCOUNT}`)).body;
  expect(targetBefore.apiKeys).toHaveLength(1);

  await adminCredential("expiring-holder");
  const expiresAt = new Date(Date.now() + 1500).toISOString();
  const shortLived = await admin.post("/v1/service-accounts/expiring-holder/api-keys", { name: "short-lived", expiresAt });
  expect(shortLived.status).toBe(201);
  expect((await stack.as(shortLived.body.key).get("/v1/auth/whoami")).status).toBe(200);

  const deactivatedKey = await adminCredential("deactivated-key-holder");
  expect((await admin.patch("/v1/service-accounts/deactivated-key-holder/api-keys/default", { active: false })).status).toBe(200);

  const ofDeactivatedAccount = await adminCredential("deactivated-account");
  expect((await admin.patch("/v1/service-accounts/deactivated-account", { active: false })).status).toBe(200);

  await adminCredential("deleted-key-holder");
  const doomed = await admin.post("/v1/service-accounts/deleted-key-holder/api-keys", { name: "doomed" });
  expect(doomed.status).toBe(201);
  expect((await stack.as(doomed.body.key).get("/v1/auth/whoami")).status).toBe(200);
  expect((await admin.delete("/v1/service-accounts/deleted-key-holder/api-keys/doomed")).status).toBe(204);

  const ofDeletedAccount = await adminCredential("deleted-account");
  expect((await admin.delete("/v1/service-accounts/deleted-account")).status).toBe(204);

  const rotatedOut = await adminCredential("rotated-holder");
  const rotated = await admin.post("/v1/service-accounts/rotated-holder/api-keys/default/rotate", { retainSeconds: 0 });
  expect(rotated.status).toBe(200);
  expect((await stack.as(rotated.body.key).get("/v1/auth/whoami")).status).toBe(200);

  const adminToken = await admin.post("/v1/auth/token");
  expect(adminToken.status).toBe(200);
  const [head, payload, signature] = (adminToken.body.accessToken as string).split(".");
  const flipped = signature!.startsWith("A") ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
  const tampered = `${head}.${payload}.${flipped}`;

  const tokenHolderKey = await adminCredential("token-holder");
  const token = await stack.as(tokenHolderKey).post("/v1/auth/token");
  expect(token.status).toBe(200);
  expect((await stack.as(token.body.accessToken).get("/v1/auth/whoami")).status).toBe(200);
  expect((await admin.patch("/v1/service-accounts/token-holder/api-keys/default", { active: false })).status).toBe(200);

  const bearer = (credential: string) => `Bearer ${credential}`;
  authorization.set("no Authorization header", undefined);
  authorization.set("the Bearer scheme without a credential", "Bearer");
  authorization.set("a bearer that is not a key", bearer("not-a-key"));
  authorization.set("a valid admin key under another scheme", `Token ${adminKey}`);
  authorization.set("a valid admin key followed by junk", `${bearer(adminKey)} junk`);
  authorization.set("an oversized credential", bearer(`${adminKey}${"A".repeat(4096)}`));
  authorization.set("a well-formed but unknown key", bearer(UNKNOWN_KEY));
  authorization.set("a wrong secret for an existing key id", bearer(`${adminKey.slice(0, 30)}${"B".repeat(43)}`));
  authorization.set("a deactivated key", bearer(deactivatedKey));
  authorization.set("a key of a deactivated account", bearer(ofDeactivatedAccount));
  authorization.set("a deleted key", bearer(doomed.body.key));
  authorization.set("a key of a deleted account", bearer(ofDeletedAccount));
  authorization.set("an expired key", bearer(shortLived.body.key));
  authorization.set("a secret rotated out with retainSeconds 0", bearer(rotatedOut));
  authorization.set("an access token with a tampered signature", bearer(tampered));
  authorization.set("an access token whose key was deactivated", bearer(token.body.accessToken));
  expect([...authorization.keys()].sort()).toEqual(CASES.map((c) => c.name).sort());

  const reference = await send(stack.as(), WHOAMI_ROUTE);
  referenceMessage = expectError(reference, 401, "unauthenticated").message;

  await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 100);
});

afterAll(async () => {
  await stack?.stop();
});

function headersOf(name: string): Record<string, string> {
  const header = authorization.get(name);
  return header === undefined ? {} : { authorization: header };
}

describe.each(CASES)("with $name", ({ name }) => {
  it.each(PROTECTED_ROUTES.map((route) => ({ route, title: label(route) })))(
    "$title → 401 unauthenticated",
    async ({ route }) => {
      const answer = await send(stack.as(), route, headersOf(name));
      const error = expectError(answer, 401, "unauthenticated");
      expect(error.message).toBe(referenceMessage);
    },
  );
});

describe("the 401 answer", () => {
  it("does not say why the credential was refused", () => {
    expect(referenceMessage).not.toMatch(
      /unknown|deactivat|inactive|deleted|expired|secret|rotat|malformed|signature|not found|scheme|missing|token/i,
    );
  });

  it("is byte-for-byte the same for every case, apart from the request id", async () => {
    const bodies = new Set<string>();
    for (const { name } of CASES) {
      const answer = await send(stack.as(), WHOAMI_ROUTE, { ...headersOf(name), "x-request-id": "same-request-id" });
      expect(answer.status).toBe(401);
      bodies.add(JSON.stringify(answer.body));
    }
    expect([...bodies]).toEqual([
      JSON.stringify({ error: { code: "unauthenticated", message: referenceMessage, requestId: "same-request-id" } }),
    ]);
  });

  it("changed nothing: the target account and key are as they were", async () => {
    const account = await stack.admin.get(`/v1/service-accounts/${TARGET_ACCOUNT}`);
    expect(account.status).toBe(200);
    expect(account.body).toEqual(targetBefore);
    expect(account.body.apiKeys[0]).toMatchObject({ name: TARGET_KEY, active: true, lastRotatedAt: null });
    expect((await stack.admin.get("/v1/service-accounts/would-be-created")).status).toBe(404);
  });
});
