/**
 * The authentication matrix, against the real `keyledger serve` in a child process: every route of
 * the contract × every state a credential can be in. A refused credential (missing, malformed,
 * unknown, wrong, inactive, deleted, expired, retention-expired, a token whose key or account was
 * revoked, a forged token) is 401 `unauthenticated` with one message that never says which; a valid
 * credential whose roles do not admit the route is 403 `forbidden`; one they admit gets the route's
 * answer; the public routes answer anyone. A second daemon with a low limit shows that every refused
 * credential counts as a failed authentication and that past the limit every route that needs a
 * credential answers a failing request 429 with `Retry-After`, while it still serves every valid
 * credential from the same address exactly as the matrix says.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../helpers/http.js";
import {
  admits,
  CONTRACT_ROUTES,
  ERROR_STATUS,
  routeTitle,
  send,
  serveChild,
  TARGET_ACCOUNT,
  TARGET_KEY,
  UNKNOWN_KEY,
  urlOf,
  type Answer,
  type ContractRoute,
  type Outgoing,
  type RequestHeaders,
  type Role,
  type ServedDaemon,
} from "../helpers/routes.js";

/** One state a credential can be in, and the Authorization header that presents it. */
interface CredentialState {
  readonly name: string;
  /** undefined: no header; an array: several header lines. */
  readonly authorization?: string | readonly string[];
  /** Refused as a credential: 401 on every route but the public ones. */
  readonly refused: boolean;
  /** The roles of a valid credential's account. */
  readonly roles: readonly Role[];
  /** An access token rather than an API key. */
  readonly token: boolean;
}

const REFUSED = [
  "no credential",
  "malformed: the Bearer scheme alone",
  "malformed: a bearer that is no key",
  "malformed: a valid admin key under the Basic scheme",
  "malformed: a valid admin key followed by junk",
  "malformed: an oversized credential",
  "malformed: a JWT-shaped string",
  "malformed: two Authorization headers, the first one bad",
  "unknown key id",
  "wrong secret for an existing key id",
  "inactive key",
  "key of an inactive account",
  "deleted key",
  "key of a deleted account",
  "expired key",
  "retention-expired secret",
  "secret rotated out with retainSeconds 0",
  "access token of a revoked (deactivated) key",
  "access token of a deleted key",
  "access token of an inactive account",
  "access token of a key rotated since",
  "access token minted from a retained secret, after the retention",
  "access token with a tampered signature",
  "access token signed by a foreign key",
  "access token with alg none",
] as const;

/** Valid credentials: the admin, and the roles that the contract restricts. */
const VALID: ReadonlyArray<{ name: string; roles: readonly Role[]; token: boolean }> = [
  { name: "admin key", roles: ["admin"], token: false },
  { name: "admin access token", roles: ["admin"], token: true },
  { name: "auditor key", roles: ["auditor"], token: false },
  { name: "auditor access token", roles: ["auditor"], token: true },
  { name: "verifier key", roles: ["verifier"], token: false },
  { name: "verifier access token", roles: ["verifier"], token: true },
  { name: "key of an account without roles", roles: [], token: false },
  { name: "access token of an account without roles", roles: [], token: true },
];

/** A keep-alive client of one daemon. */
function caller(daemon: ServedDaemon) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const call = (request: Outgoing) => send(daemon.url, request, { agent });
  const as = (credential: string): RequestHeaders => ({ authorization: `Bearer ${credential}` });
  const admin = as(daemon.adminKey);
  return {
    agent,
    call,
    as,
    get: (url: string, headers = admin) => call({ method: "GET", url, headers }),
    post: (url: string, body?: unknown, headers = admin) => call({ method: "POST", url, body, headers }),
    patch: (url: string, body: unknown, headers = admin) => call({ method: "PATCH", url, body, headers }),
    delete: (url: string, headers = admin) => call({ method: "DELETE", url, headers }),
  };
}
type Caller = ReturnType<typeof caller>;

function expectStatus(answer: Answer, status: number, what: string): Answer {
  expect({ what, status: answer.status, body: answer.status === status ? undefined : answer.text }).toEqual({
    what,
    status,
    body: undefined,
  });
  return answer;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
const ACCOUNTS = "/v1/service-accounts";

/**
 * Brings a fresh daemon's credentials into every state of the matrix. Only successful requests are
 * made (none counts as a failed authentication). Resolves once the time-bound states have expired.
 */
async function prepareCredentials(client: Caller, adminKey: string): Promise<CredentialState[]> {
  const account = async (name: string, roles: readonly Role[]): Promise<string> => {
    const created = expectStatus(await client.post(ACCOUNTS, { name, roles }), 201, `create ${name}`);
    return created.json.apiKey.key as string;
  };
  const works = async (credential: string, name: string) =>
    expectStatus(await client.get("/v1/auth/whoami", client.as(credential)), 200, `${name} works before`);
  const token = async (credential: string, name: string): Promise<string> => {
    const minted = expectStatus(await client.post("/v1/auth/token", undefined, client.as(credential)), 200, `token of ${name}`);
    await works(minted.json.accessToken, `token of ${name}`);
    return minted.json.accessToken as string;
  };

  expectStatus(await client.post(ACCOUNTS, { name: TARGET_ACCOUNT, roles: [], createApiKey: false }), 201, "target");
  expectStatus(await client.post(`${ACCOUNTS}/${TARGET_ACCOUNT}/api-keys`, { name: TARGET_KEY }), 201, "target key");

  const valid = new Map<string, string>();
  valid.set("admin key", adminKey);
  for (const [which, roles] of [
    ["auditor", ["auditor"]],
    ["verifier", ["verifier"]],
  ] as const) {
    const key = await account(`an-${which}`, roles);
    valid.set(`${which} key`, key);
    valid.set(`${which} access token`, await token(key, which));
  }
  const noRoles = await account("no-roles", []);
  valid.set("key of an account without roles", noRoles);
  valid.set("access token of an account without roles", await token(noRoles, "no-roles"));
  valid.set("admin access token", await token(adminKey, "admin"));

  // Every refused credential below belongs to an admin account: accepted, it would succeed.
  const refused = new Map<string, string | readonly string[] | undefined>();
  const bearer = (credential: string) => `Bearer ${credential}`;
  refused.set("no credential", undefined);
  refused.set("malformed: the Bearer scheme alone", "Bearer");
  refused.set("malformed: a bearer that is no key", bearer("not-a-key"));
  refused.set(
    "malformed: a valid admin key under the Basic scheme",
    `Basic ${Buffer.from(`admin:${adminKey}`).toString("base64")}`,
  );
  refused.set("malformed: a valid admin key followed by junk", `${bearer(adminKey)} junk`);
  refused.set("malformed: an oversized credential", bearer(`${adminKey}${"A".repeat(4096)}`));
  refused.set("malformed: a JWT-shaped string", bearer("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"));
  refused.set("malformed: two Authorization headers, the first one bad", [bearer("not-a-key"), bearer(adminKey)]);
  refused.set("unknown key id", bearer(UNKNOWN_KEY));
  refused.set("wrong secret for an existing key id", bearer(`${adminKey.slice(0, 30)}${"B".repeat(43)}`));

  const inactiveKey = await account("inactive-key-holder", ["admin"]);
  await works(inactiveKey, "inactive key");
  expectStatus(await client.patch(`${ACCOUNTS}/inactive-key-holder/api-keys/default`, { active: false }), 200, "deactivate key");
  refused.set("inactive key", bearer(inactiveKey));

  const ofInactiveAccount = await account("inactive-account", ["admin"]);
  await works(ofInactiveAccount, "key of an inactive account");
  expectStatus(await client.patch(`${ACCOUNTS}/inactive-account`, { active: false }), 200, "deactivate account");
  refused.set("key of an inactive account", bearer(ofInactiveAccount));

  await account("deleted-key-holder", ["admin"]);
  const doomed = expectStatus(await client.post(`${ACCOUNTS}/deleted-key-holder/api-keys`, { name: "doomed" }), 201, "doomed");
  await works(doomed.json.key, "deleted key");
  expectStatus(await client.delete(`${ACCOUNTS}/deleted-key-holder/api-keys/doomed`), 204, "delete key");
  refused.set("deleted key", bearer(doomed.json.key));

  const ofDeletedAccount = await account("deleted-account", ["admin"]);
  await works(ofDeletedAccount, "key of a deleted account");
  expectStatus(await client.delete(`${ACCOUNTS}/deleted-account`), 204, "delete account");
  refused.set("key of a deleted account", bearer(ofDeletedAccount));

  await account("expiring-holder", ["admin"]);
  const expiresAt = new Date(Date.now() + 2000).toISOString();
  const expiring = expectStatus(
    await client.post(`${ACCOUNTS}/expiring-holder/api-keys`, { name: "short-lived", expiresAt }),
    201,
    "expiring key",
  );
  await works(expiring.json.key, "expired key");
  refused.set("expired key", bearer(expiring.json.key));

  // Rotated with a retention of 2 s: the previous secret, and a token minted from it meanwhile, end with it.
  const retained = await account("retained-holder", ["admin"]);
  const rotation = expectStatus(
    await client.post(`${ACCOUNTS}/retained-holder/api-keys/default/rotate`, { retainSeconds: 2 }),
    200,
    "rotate with retention",
  );
  const tokenOfRetained = await token(retained, "a retained secret");
  await works(retained, "retained secret");
  refused.set("retention-expired secret", bearer(retained));
  refused.set("access token minted from a retained secret, after the retention", bearer(tokenOfRetained));

  const rotatedOut = await account("rotated-holder", ["admin"]);
  expectStatus(await client.post(`${ACCOUNTS}/rotated-holder/api-keys/default/rotate`, { retainSeconds: 0 }), 200, "rotate");
  refused.set("secret rotated out with retainSeconds 0", bearer(rotatedOut));

  const revoked = await token(await account("revoked-token-holder", ["admin"]), "revoked-token-holder");
  expectStatus(await client.patch(`${ACCOUNTS}/revoked-token-holder/api-keys/default`, { active: false }), 200, "revoke key");
  refused.set("access token of a revoked (deactivated) key", bearer(revoked));

  await account("deleted-token-holder", ["admin"]);
  const doomedKey = expectStatus(await client.post(`${ACCOUNTS}/deleted-token-holder/api-keys`, { name: "doomed" }), 201, "key");
  const ofDeletedKey = await token(doomedKey.json.key, "deleted-token-holder");
  expectStatus(await client.delete(`${ACCOUNTS}/deleted-token-holder/api-keys/doomed`), 204, "delete key of token");
  refused.set("access token of a deleted key", bearer(ofDeletedKey));

  const ofInactive = await token(await account("inactive-token-holder", ["admin"]), "inactive-token-holder");
  expectStatus(await client.patch(`${ACCOUNTS}/inactive-token-holder`, { active: false }), 200, "deactivate account of token");
  refused.set("access token of an inactive account", bearer(ofInactive));

  const ofRotated = await token(await account("rotated-token-holder", ["admin"]), "rotated-token-holder");
  expectStatus(await client.post(`${ACCOUNTS}/rotated-token-holder/api-keys/default/rotate`, {}), 200, "rotate key of token");
  refused.set("access token of a key rotated since", bearer(ofRotated));

  const adminToken = valid.get("admin access token")!;
  const [header, payload, signature] = adminToken.split(".") as [string, string, string];
  const flipped = `${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
  refused.set("access token with a tampered signature", bearer(`${header}.${payload}.${flipped}`));
  const { privateKey } = generateKeyPairSync("ed25519");
  const foreign = sign(null, Buffer.from(`${header}.${payload}`, "ascii"), privateKey);
  refused.set("access token signed by a foreign key", bearer(`${header}.${payload}.${foreign.toString("base64url")}`));
  refused.set("access token with alg none", bearer(`${b64({ alg: "none", typ: "JWT" })}.${payload}.`));

  expect([...refused.keys()].sort()).toEqual([...REFUSED].sort());
  expect([...valid.keys()].sort()).toEqual(VALID.map((state) => state.name).sort());

  const until = Math.max(Date.parse(expiresAt), Date.parse(rotation.json.retainedUntil)) + 300;
  await sleep(Math.max(0, until - Date.now()));

  return [
    ...REFUSED.map((name) => ({ name, authorization: refused.get(name), refused: true, roles: [], token: false })),
    ...VALID.map(({ name, roles, token }) => ({ name, authorization: bearer(valid.get(name)!), refused: false, roles, token })),
  ];
}

/** The Authorization header(s) that present a credential in this state. */
function headersOf(state: CredentialState): RequestHeaders {
  return state.authorization === undefined ? {} : { authorization: state.authorization };
}

/** What the contract says a credential in this state gets on this route. */
function expected(route: ContractRoute, state: CredentialState): string {
  if (route.access === "public") return String(route.ok);
  if (state.refused) return "401 unauthenticated";
  if (route.apiKeyOnly === true && state.token) return "403 forbidden";
  return admits(route, state.roles) ? String(route.ok) : "403 forbidden";
}

/** The status, with the error code for an error; a problem with the error body is reported apart. */
function outcome(answer: Answer, problems: string[], where: string): string {
  if (answer.status < 400) return String(answer.status);
  const error = answer.json?.error;
  const keys = answer.json === undefined ? [] : Object.keys(answer.json);
  const shaped =
    keys.length === 1 &&
    error !== null &&
    typeof error === "object" &&
    Object.keys(error).sort().join() === "code,message,requestId" &&
    typeof error.message === "string" &&
    error.message.length > 0 &&
    typeof error.requestId === "string" &&
    error.requestId === answer.headers["x-request-id"] &&
    ERROR_STATUS[error.code] === answer.status;
  if (!shaped) problems.push(`${where}: ${answer.status} without the contract's error body: ${answer.text.slice(0, 200)}`);
  return `${answer.status} ${error?.code ?? "?"}`;
}

const PROTECTED = CONTRACT_ROUTES.filter((route) => route.access !== "public");

/**
 * Builds a route's valid request as a credential in `state` presents it. A write that the
 * credential's roles admit gets an account and key of its own, so that it changes nothing else.
 */
function requester(client: Caller, asOf: string) {
  let fresh = 0;
  return async function requestOf(route: ContractRoute, state: CredentialState): Promise<Outgoing> {
    let at = { account: TARGET_ACCOUNT, key: TARGET_KEY, asOf };
    let body = route.body;
    const succeeds = expected(route, state) === String(route.ok);
    if (route.access === "write" && succeeds) {
      fresh += 1;
      at = { account: `fresh-${fresh}`, key: TARGET_KEY, asOf };
      expectStatus(await client.post(ACCOUNTS, { name: at.account, createApiKey: false }), 201, at.account);
      expectStatus(await client.post(`${ACCOUNTS}/${at.account}/api-keys`, { name: at.key }), 201, `${at.account} key`);
      if (route.method === "POST" && route.path === ACCOUNTS) body = { ...(route.body as object), name: `created-${fresh}` };
    }
    return { method: route.method, url: urlOf(route, at), body, headers: headersOf(state) };
  };
}

/** The sequence number of the newest event: a point in history for the `asOf` routes. */
async function newestSeq(client: Caller): Promise<string> {
  const history = expectStatus(await client.get("/v1/events?limit=1000"), 200, "history");
  return String(history.json.items.at(-1).seq);
}

describe("every route × every credential state, on a child-process daemon", () => {
  let daemon: ServedDaemon;
  let client: Caller;
  let states: CredentialState[];
  let requestOf: ReturnType<typeof requester>;
  let targetBefore: unknown;
  /** The one message of every 401 and of every 403. */
  const messages = { unauthenticated: new Set<string>(), forbidden: new Set<string>() };

  beforeAll(async () => {
    // A limit far above the failures of this matrix, so that none of its answers is a 429.
    daemon = await serveChild({ "auth-failures-per-minute": "1000000" });
    client = caller(daemon);
    states = await prepareCredentials(client, daemon.adminKey);
    requestOf = requester(client, await newestSeq(client));
    targetBefore = withoutUsage(expectStatus(await client.get(`${ACCOUNTS}/${TARGET_ACCOUNT}`), 200, "target").json);
  }, 90_000);

  afterAll(async () => {
    client?.agent.destroy();
    if (daemon !== undefined) expect(await daemon.stop()).toBe(0);
  });

  for (const route of CONTRACT_ROUTES)
    it(`${routeTitle(route)} (${route.access})`, async () => {
      const want: Record<string, string> = {};
      const got: Record<string, string> = {};
      const problems: string[] = [];
      for (const state of states) {
        want[state.name] = expected(route, state);
        const answer = await client.call(await requestOf(route, state));
        got[state.name] = outcome(answer, problems, state.name);
        const code = answer.json?.error?.code;
        if (code === "unauthenticated" || code === "forbidden")
          messages[code as keyof typeof messages].add(answer.json.error.message);
        if (route.stream === true && answer.status === 200)
          expect(answer.headers["content-type"], state.name).toMatch(/^text\/event-stream/);
      }
      expect(got).toEqual(want);
      expect(problems).toEqual([]);
    });

  it("covers every route with every state", () => {
    expect(states).toHaveLength(REFUSED.length + VALID.length);
    console.log(
      `auth matrix: ${CONTRACT_ROUTES.length} routes (${PROTECTED.length} needing a credential) × ${states.length} credential states` +
        ` (${REFUSED.length} refused, ${VALID.length} valid) = ${CONTRACT_ROUTES.length * states.length} requests`,
    );
  });

  it("answers every 401 with one message, and every 403 with one message, that never say why", () => {
    expect(messages.unauthenticated.size).toBe(1);
    expect(messages.forbidden.size).toBe(1);
    for (const message of [...messages.unauthenticated, ...messages.forbidden]) {
      expect(message).not.toMatch(
        /unknown|deactivat|inactive|deleted|expired|secret|rotat|malformed|signature|not found|scheme|missing|token|admin|auditor|verifier/i,
      );
    }
  });

  it("changed nothing through a refused or forbidden request", async () => {
    const target = expectStatus(await client.get(`${ACCOUNTS}/${TARGET_ACCOUNT}`), 200, "target after");
    expect(withoutUsage(target.json)).toEqual(targetBefore);
    expectStatus(await client.get(`${ACCOUNTS}/would-be-created`), 404, "would-be-created");
    const keys = expectStatus(await client.get(`${ACCOUNTS}/${TARGET_ACCOUNT}/api-keys`), 200, "target keys");
    expect(keys.json.items.map((key: { name: string }) => key.name)).toEqual([TARGET_KEY]);
  });
});

/** An account as GET shows it, without the keys' lastUsedAt, which authentication may move. */
function withoutUsage(account: { apiKeys: Record<string, unknown>[] }): unknown {
  return { ...account, apiKeys: account.apiKeys.map(({ lastUsedAt: _, ...key }) => key) };
}

describe("failed authentications past the limit, on a second child-process daemon", () => {
  /** One failure allowed per refused state: the last of them reaches the limit. */
  const LIMIT = REFUSED.length;
  let daemon: ServedDaemon;
  let client: Caller;
  let states: CredentialState[];
  let requestOf: ReturnType<typeof requester>;
  const state = (name: string) => states.find((candidate) => candidate.name === name)!;

  beforeAll(async () => {
    daemon = await serveChild({ "auth-failures-per-minute": String(LIMIT) });
    client = caller(daemon);
    states = await prepareCredentials(client, daemon.adminKey);
    requestOf = requester(client, await newestSeq(client));
  }, 90_000);

  afterAll(async () => {
    client?.agent.destroy();
    if (daemon !== undefined) expect(await daemon.stop()).toBe(0);
  });

  it("does not count successes, forbidden requests, verification of bad keys, or public routes", async () => {
    const auditor = headersOf(state("auditor key"));
    const refused = states.filter((s) => s.refused);
    for (let i = 0; i < LIMIT + 5; i++) {
      expectStatus(await client.get("/v1/auth/whoami"), 200, "whoami");
      expectStatus(await client.post(ACCOUNTS, { name: "forbidden" }, auditor), 403, "auditor creates");
      const verified = expectStatus(await client.post("/v1/auth/verify", { key: UNKNOWN_KEY }), 200, "verify");
      expect(verified.json).toEqual({ valid: false, code: "not_found" });
      expectStatus(
        await client.call({ method: "GET", url: "/healthz", headers: headersOf(refused[i % refused.length]!) }),
        200,
        "health",
      );
    }
    expectStatus(await client.get("/v1/auth/whoami"), 200, "still let in");
  });

  it(`counts every refused credential: after one of each (${REFUSED.length}), a further failure gets 429 with Retry-After, the admin key still 200`, async () => {
    for (const refused of states.filter((s) => s.refused)) {
      const answer = await client.call({ method: "GET", url: "/v1/auth/whoami", headers: headersOf(refused) });
      expect({ state: refused.name, status: answer.status, code: answer.json?.error?.code }).toEqual({
        state: refused.name,
        status: 401,
        code: "unauthenticated",
      });
    }
    // Without a credential only the address's bucket counts: had any refused state gone uncounted,
    // it would stand one short of the limit and this failure would be a 401.
    const locked = await client.call({ method: "GET", url: "/v1/auth/whoami", headers: headersOf(state("no credential")) });
    expect({ status: locked.status, code: locked.json?.error?.code }).toEqual({ status: 429, code: "rate_limited" });
    expect(Number(locked.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(Number(locked.headers["retry-after"])).toBeLessThanOrEqual(60);
    const admin = expectStatus(await client.get("/v1/auth/whoami"), 200, "the admin while the address is over the limit");
    expect(admin.json.serviceAccount.name).toBe("admin");
  });

  it("then answers every failing request 429 with Retry-After on every route that needs a credential, serves every valid credential as the matrix says; public routes still answer", async () => {
    const callers = ["admin key", "admin access token", "auditor key", "verifier key", "no credential", "unknown key id"].map(
      state,
    );
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    const problems: string[] = [];
    for (const route of CONTRACT_ROUTES) {
      for (const who of callers) {
        const where = `${routeTitle(route)} as ${who.name}`;
        const answer = await client.call(await requestOf(route, who));
        const retryAfter = answer.headers["retry-after"];
        const withRetryAfter = /^[1-9]\d*$/.test(String(retryAfter)) && Number(retryAfter) <= 60 ? " with Retry-After" : "";
        if (route.access === "public") {
          got[where] = answer.status === 429 || answer.status === 401 ? String(answer.status) : "answered";
          want[where] = "answered";
        } else if (who.refused) {
          got[where] = `${outcome(answer, problems, where)}${withRetryAfter}`;
          want[where] = "429 rate_limited with Retry-After";
        } else {
          got[where] = `${outcome(answer, problems, where)}${retryAfter === undefined ? "" : " with Retry-After"}`;
          want[where] = expected(route, who);
        }
      }
    }
    expect(got).toEqual(want);
    expect(problems).toEqual([]);
    expectStatus(await client.get(`${ACCOUNTS}/forbidden`, {}), 429, "still limited");
    expectStatus(await client.get(`${ACCOUNTS}/${TARGET_ACCOUNT}`), 200, "the admin still served");
  });
});
