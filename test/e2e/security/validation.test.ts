/**
 * Malformed input on every route with a body or a query: 400 `invalid_request` naming the field,
 * nothing written, never a 5xx. Boundary values just inside the rules are accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTarget, expectError, startStack, TARGET_ACCOUNT, TARGET_KEY, type Method, type Stack } from "./fixtures.js";

let stack: Stack;
let targetBefore: any;

beforeAll(async () => {
  stack = await startStack();
  await createTarget(stack.admin);
  targetBefore = (await stack.admin.get(`/v1/service-accounts/${TARGET_ACCOUNT}`)).body;
});

afterAll(async () => {
  await stack?.stop();
});

const ACCOUNTS = "/v1/service-accounts";
const ACCOUNT = `${ACCOUNTS}/${TARGET_ACCOUNT}`;
const KEYS = `${ACCOUNT}/api-keys`;
const KEY = `${KEYS}/${TARGET_KEY}`;
const ROTATE = `${KEY}/rotate`;
const VERIFY = "/v1/auth/verify";
const PAST = "2000-01-01T00:00:00Z";

interface Bad {
  readonly title: string;
  readonly method: Method;
  readonly path: string;
  /** An object is sent as JSON; a string is sent as the raw body, with content type application/json. */
  readonly body?: unknown;
  readonly field: RegExp;
}

const bad = (method: Method, path: string, title: string, body: unknown, field: RegExp): Bad => ({
  title,
  method,
  path,
  body,
  field,
});
const badQuery = (path: string, query: string, field: RegExp): Bad => ({
  title: `?${query}`,
  method: "GET",
  path: `${path}?${query}`,
  field,
});

const CREATE_ACCOUNT: readonly Bad[] = [
  bad("POST", ACCOUNTS, "name missing", { description: "no name" }, /name/),
  bad("POST", ACCOUNTS, 'name ""', { name: "" }, /name/),
  bad("POST", ACCOUNTS, "name with a space", { name: "has space" }, /name/),
  bad("POST", ACCOUNTS, "name of 65 characters", { name: "a".repeat(65) }, /name/),
  bad("POST", ACCOUNTS, 'name starting with "-"', { name: "-leading-dash" }, /name/),
  bad("POST", ACCOUNTS, 'name starting with "."', { name: ".hidden" }, /name/),
  bad("POST", ACCOUNTS, "name with non-ASCII letters", { name: "señor" }, /name/),
  bad("POST", ACCOUNTS, "name that is a number", { name: 42 }, /name/),
  bad("POST", ACCOUNTS, "name in the form of an account id", { name: "sa_01ARZ3NDEKTSV4RRFFQ69G5FAV" }, /name/),
  bad(
    "POST",
    ACCOUNTS,
    "description of 1001 characters",
    { name: "long-description", description: "d".repeat(1001) },
    /description/,
  ),
  bad("POST", ACCOUNTS, "description that is not a string", { name: "numeric-description", description: 5 }, /description/),
  bad("POST", ACCOUNTS, 'roles ["root"]', { name: "root-role", roles: ["root"] }, /roles/),
  bad("POST", ACCOUNTS, "roles duplicated", { name: "duplicate-roles", roles: ["auditor", "auditor"] }, /roles/),
  bad("POST", ACCOUNTS, "roles as a string", { name: "string-roles", roles: "admin" }, /roles/),
  bad("POST", ACCOUNTS, 'active "yes" (not coerced)', { name: "string-active", active: "yes" }, /active/),
  bad("POST", ACCOUNTS, 'active "true" (not coerced)', { name: "string-true-active", active: "true" }, /active/),
  bad("POST", ACCOUNTS, "active 1 (not coerced)", { name: "numeric-active", active: 1 }, /active/),
  bad(
    "POST",
    ACCOUNTS,
    'createApiKey "false" (not coerced)',
    { name: "string-create-key", createApiKey: "false" },
    /createApiKey/,
  ),
  bad("POST", ACCOUNTS, "an unknown field foo", { name: "unknown-field", foo: "bar" }, /foo/),
  bad("POST", ACCOUNTS, "a JSON array body", "[]", /body/),
  bad("POST", ACCOUNTS, "a JSON string body", '"unknown-field"', /body/),
  bad("POST", ACCOUNTS, "a JSON number body", "42", /body/),
  bad("POST", ACCOUNTS, "a JSON null body", "null", /body/),
  bad("POST", ACCOUNTS, "invalid JSON text", '{"name": "half', /body|JSON/),
  bad("POST", ACCOUNTS, "no body at all", undefined, /body/),
];

const LIST_ACCOUNTS: readonly Bad[] = [
  badQuery(ACCOUNTS, "limit=0", /limit/),
  badQuery(ACCOUNTS, "limit=501", /limit/),
  badQuery(ACCOUNTS, "limit=abc", /limit/),
  badQuery(ACCOUNTS, "limit=1.5", /limit/),
  badQuery(ACCOUNTS, "limit=-1", /limit/),
  badQuery(ACCOUNTS, "active=maybe", /active/),
  badQuery(ACCOUNTS, "cursor=garbage", /cursor/),
  badQuery(ACCOUNTS, "cursor=", /cursor/),
  badQuery(ACCOUNTS, `name=${"n".repeat(65)}`, /name/),
  badQuery(ACCOUNTS, "foo=1", /foo/),
];

const UPDATE_ACCOUNT: readonly Bad[] = [
  bad("PATCH", ACCOUNT, "name with a space", { name: "bad name" }, /name/),
  bad("PATCH", ACCOUNT, 'name ""', { name: "" }, /name/),
  bad("PATCH", ACCOUNT, "name null", { name: null }, /name/),
  bad("PATCH", ACCOUNT, "name in the form of a key id", { name: "key_01ARZ3NDEKTSV4RRFFQ69G5FAV" }, /name/),
  bad("PATCH", ACCOUNT, "description of 1001 characters", { description: "d".repeat(1001) }, /description/),
  bad("PATCH", ACCOUNT, 'roles ["root"]', { roles: ["root"] }, /roles/),
  bad("PATCH", ACCOUNT, "roles duplicated", { roles: ["verifier", "verifier"] }, /roles/),
  bad("PATCH", ACCOUNT, 'active "no" (not coerced)', { active: "no" }, /active/),
  bad("PATCH", ACCOUNT, "an unknown field foo", { description: "with foo", foo: 1 }, /foo/),
  bad("PATCH", ACCOUNT, "a read-only field id", { id: "sa_01ARZ3NDEKTSV4RRFFQ69G5FAV" }, /\bid\b/),
  bad("PATCH", ACCOUNT, "a JSON array body", "[]", /body/),
  bad("PATCH", ACCOUNT, "invalid JSON text", "{", /body|JSON/),
];

const CREATE_KEY: readonly Bad[] = [
  bad("POST", KEYS, "name missing", {}, /name/),
  bad("POST", KEYS, "name with a space", { name: "bad name" }, /name/),
  bad("POST", KEYS, "name of 65 characters", { name: "k".repeat(65) }, /name/),
  bad("POST", KEYS, "name in the form of a key id", { name: "key_01ARZ3NDEKTSV4RRFFQ69G5FAV" }, /name/),
  bad("POST", KEYS, "description of 1001 characters", { name: "long-description", description: "d".repeat(1001) }, /description/),
  bad("POST", KEYS, 'expiresAt "tomorrow"', { name: "tomorrow", expiresAt: "tomorrow" }, /expiresAt/),
  bad("POST", KEYS, "expiresAt without a time zone", { name: "no-zone", expiresAt: "2999-01-01T00:00:00" }, /expiresAt/),
  bad("POST", KEYS, "expiresAt as a number", { name: "numeric-expiry", expiresAt: 4_102_444_800 }, /expiresAt/),
  bad("POST", KEYS, "expiresAt in the past", { name: "already-expired", expiresAt: PAST }, /expiresAt/),
  bad("POST", KEYS, "an unknown field foo", { name: "unknown-field", foo: 1 }, /foo/),
  bad("POST", KEYS, "a secret chosen by the caller", { name: "own-secret", key: "kl_mine" }, /key/),
  bad("POST", KEYS, "a JSON array body", "[]", /body/),
  bad("POST", KEYS, "invalid JSON text", "nope", /body|JSON/),
];

const LIST_KEYS: readonly Bad[] = [badQuery(KEYS, "active=maybe", /active/), badQuery(KEYS, "foo=1", /foo/)];

const UPDATE_KEY: readonly Bad[] = [
  bad("PATCH", KEY, 'name ""', { name: "" }, /name/),
  bad("PATCH", KEY, "name with a space", { name: "bad name" }, /name/),
  bad("PATCH", KEY, 'active "false" (not coerced)', { active: "false" }, /active/),
  bad("PATCH", KEY, "description of 1001 characters", { description: "d".repeat(1001) }, /description/),
  bad("PATCH", KEY, 'expiresAt "tomorrow"', { expiresAt: "tomorrow" }, /expiresAt/),
  bad("PATCH", KEY, "expiresAt in the past", { expiresAt: PAST }, /expiresAt/),
  bad("PATCH", KEY, "an unknown field foo", { foo: 1 }, /foo/),
  bad("PATCH", KEY, "a JSON array body", "[]", /body/),
];

const ROTATE_KEY: readonly Bad[] = [
  bad("POST", ROTATE, "retainSeconds -1", { retainSeconds: -1 }, /retainSeconds/),
  bad("POST", ROTATE, "retainSeconds 2592001", { retainSeconds: 2_592_001 }, /retainSeconds/),
  bad("POST", ROTATE, "retainSeconds 1.5", { retainSeconds: 1.5 }, /retainSeconds/),
  bad("POST", ROTATE, 'retainSeconds "10" (not coerced)', { retainSeconds: "10" }, /retainSeconds/),
  bad("POST", ROTATE, "retainSeconds 1e400", '{"retainSeconds": 1e400}', /retainSeconds/),
  bad("POST", ROTATE, "an unknown field foo", { retainSeconds: 0, foo: 1 }, /foo/),
  bad("POST", ROTATE, "a JSON array body", "[]", /body/),
  bad("POST", ROTATE, "invalid JSON text", "{retainSeconds: 1}", /body|JSON/),
];

const VERIFY_KEY: readonly Bad[] = [
  bad("POST", VERIFY, 'key ""', { key: "" }, /key/),
  bad("POST", VERIFY, "key missing", {}, /key/),
  bad("POST", VERIFY, "key that is not a string", { key: 42 }, /key/),
  bad("POST", VERIFY, "key of 513 characters", { key: "k".repeat(513) }, /key/),
  bad("POST", VERIFY, "an unknown field foo", { key: "kl_x", foo: 1 }, /foo/),
  bad("POST", VERIFY, "a JSON array body", "[]", /body/),
  bad("POST", VERIFY, "no body at all", undefined, /body/),
];

const PATHS: readonly Bad[] = [
  { title: "an account segment of 65 characters", method: "GET", path: `${ACCOUNTS}/${"a".repeat(65)}`, field: /account/ },
  { title: "a key segment of 65 characters", method: "GET", path: `${KEYS}/${"k".repeat(65)}`, field: /key/ },
];

const SECTIONS: ReadonlyArray<[string, readonly Bad[]]> = [
  [`POST ${ACCOUNTS}`, CREATE_ACCOUNT],
  [`GET ${ACCOUNTS}`, LIST_ACCOUNTS],
  [`PATCH ${ACCOUNT}`, UPDATE_ACCOUNT],
  [`POST ${KEYS}`, CREATE_KEY],
  [`GET ${KEYS}`, LIST_KEYS],
  [`PATCH ${KEY}`, UPDATE_KEY],
  [`POST ${ROTATE}`, ROTATE_KEY],
  [`POST ${VERIFY}`, VERIFY_KEY],
  ["path parameters", PATHS],
];

describe.each(SECTIONS)("%s", (_section, cases) => {
  it.each(cases)("refuses $title: 400 naming the field", async ({ method, path, body, field }) => {
    const answer = await stack.admin.call(method, path, body);
    expect(answer.status).toBeLessThan(500);
    const error = expectError(answer, 400, "invalid_request");
    expect(error.message).toMatch(field);
  });
});

describe("refused input", () => {
  it("wrote nothing: no account, key or change came of it", async () => {
    const accounts = await stack.admin.get(`${ACCOUNTS}?limit=500`);
    expect(accounts.status).toBe(200);
    expect(accounts.body.items.map((item: { name: string }) => item.name).sort()).toEqual(["admin", TARGET_ACCOUNT]);
    const target = await stack.admin.get(ACCOUNT);
    expect(target.body).toEqual(targetBefore);
  });

  it("is refused, not trimmed: an unknown field is not silently dropped", async () => {
    const answer = await stack.admin.post(ACCOUNTS, { name: "dropped-foo", foo: "bar" });
    expect(expectError(answer, 400, "invalid_request").message).toMatch(/foo/);
    expect((await stack.admin.get(`${ACCOUNTS}/dropped-foo`)).status).toBe(404);
  });
});

describe("values just inside the rules", () => {
  it("are accepted", async () => {
    const longest = `a${"b".repeat(63)}`;
    const created = await stack.admin.post(ACCOUNTS, {
      name: longest,
      description: "d".repeat(1000),
      roles: ["verifier", "auditor", "admin"],
      active: false,
      createApiKey: false,
    });
    expect(created.status).toBe(201);
    expect(created.body.serviceAccount).toMatchObject({ name: longest, active: false, roles: ["admin", "auditor", "verifier"] });
    expect(created.body.apiKey).toBeUndefined();
    expect((await stack.admin.post(ACCOUNTS, { name: "0_starts.with-digit" })).status).toBe(201);

    for (const limit of [1, 500]) expect((await stack.admin.get(`${ACCOUNTS}?limit=${limit}&active=true`)).status).toBe(200);
    const first = await stack.admin.get(`${ACCOUNTS}?limit=1`);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect((await stack.admin.get(`${ACCOUNTS}?limit=1&cursor=${first.body.nextCursor}`)).status).toBe(200);

    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const key = await stack.admin.post(`/v1/service-accounts/${longest}/api-keys`, { name: "expiring", expiresAt: soon });
    expect(key.status).toBe(201);
    expect(Date.parse(key.body.expiresAt)).toBe(Date.parse(soon));
    const cleared = await stack.admin.patch(`/v1/service-accounts/${longest}/api-keys/expiring`, { expiresAt: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.expiresAt).toBeNull();

    for (const retainSeconds of [2_592_000, 0]) {
      const rotated = await stack.admin.post(`/v1/service-accounts/${longest}/api-keys/expiring/rotate`, { retainSeconds });
      expect(rotated.status).toBe(200);
    }
    const withoutBody = await stack.admin.post(`/v1/service-accounts/${longest}/api-keys/expiring/rotate`);
    expect(withoutBody.status).toBe(200);
    expect(withoutBody.body.retainedUntil).toBeNull();
  });
});

describe("odd requests", () => {
  const ODD: ReadonlyArray<{ title: string; method: Method; path: string; body?: unknown; headers?: Record<string, string> }> = [
    {
      title: "a __proto__ member",
      method: "POST",
      path: ACCOUNTS,
      body: '{"name":"proto-pollution","__proto__":{"roles":["admin"]}}',
    },
    {
      title: "a constructor.prototype member",
      method: "POST",
      path: ACCOUNTS,
      body: '{"name":"ctor-pollution","constructor":{"prototype":{"x":1}}}',
    },
    { title: "deeply nested JSON", method: "POST", path: ACCOUNTS, body: `${"[".repeat(5000)}${"]".repeat(5000)}` },
    {
      title: "a body over the size limit",
      method: "POST",
      path: ACCOUNTS,
      body: { name: "big", description: "x".repeat(100_000) },
    },
    {
      title: "a form-encoded body",
      method: "POST",
      path: ACCOUNTS,
      body: "name=form",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    },
    { title: "a text body", method: "POST", path: ACCOUNTS, body: '{"name":"text"}', headers: { "content-type": "text/plain" } },
    { title: "an empty JSON body", method: "POST", path: ROTATE, headers: { "content-type": "application/json" } },
    { title: "a huge limit", method: "GET", path: `${ACCOUNTS}?limit=1e309` },
    { title: "a repeated limit", method: "GET", path: `${ACCOUNTS}?limit=10&limit=20` },
  ];

  it.each(ODD)("$title → 400 invalid_request, never a 5xx", async ({ method, path, body, headers }) => {
    const answer = await stack.admin.call(method, path, body, headers);
    expect(answer.status).toBeLessThan(500);
    expectError(answer, 400, "invalid_request");
  });

  it("wrote nothing for them either", async () => {
    for (const name of ["proto-pollution", "ctor-pollution", "big", "form", "text"]) {
      expect((await stack.admin.get(`${ACCOUNTS}/${name}`)).status).toBe(404);
    }
  });
});
