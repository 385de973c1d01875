/**
 * Hostile input against the real `keyledger serve` in a child process. A fast-check fuzzer sends at
 * least 10,000 generated requests across every route of the contract: half of them near-valid (the
 * fuzzer's admin credential, real accounts and keys, known parameters, a valid body, then one field,
 * parameter or segment made hostile, so that they reach the handlers), half wild (random methods,
 * paths with unicode, `..`, %-encoding, bad ids and very long segments, random query strings, bad or
 * duplicate credentials, content types, huge headers, bodies of wrong types, deep or huge or invalid
 * JSON, `__proto__`), and a few malformed at the HTTP level. Each answer must be no 5xx, and every
 * error must carry the contract's body, `{error: {code, message, requestId}}`, with a code of the
 * closed set, the status of that code, and no stack trace or internal detail. Two properties found
 * on the way are pinned down on their own (HEAD on every GET route; time travel before the stream
 * began), and afterwards the daemon must still answer, audit clean, have logged no uncaught error
 * and stop cleanly.
 *
 * `FUZZ_SEED` replays a run's requests (the seed is printed); `FUZZ_RUNS` changes their number.
 */
import { connect } from "node:net";
import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../src/domain/index.js";
import {
  CONTRACT_ROUTES,
  ERROR_STATUS,
  send,
  serveChild,
  TARGET_ACCOUNT,
  TARGET_KEY,
  UNKNOWN_KEY,
  type Answer,
  type ContractRoute,
  type RequestHeaders,
  routeTitle,
  type ServedDaemon,
  urlOf,
} from "../helpers/routes.js";

/** The accounts most requests address; each has the keys `default` and `target-key`. */
const CORE = [TARGET_ACCOUNT, "other"];
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 16;
/** Node's default limit on the request head is 16 KiB; the body limit is 64 KiB. */
const BODY_LIMIT = 64 * 1024;

/** One generated request: over HTTP, or as raw bytes on a socket (for what an HTTP client cannot send). */
type Fuzzed =
  | {
      readonly kind: "http";
      /** The contract route it was made from. */
      readonly route: string;
      readonly method: string;
      readonly url: string;
      readonly headers: RequestHeaders;
      readonly body?: string | Buffer;
    }
  | { readonly kind: "raw"; readonly title: string; readonly bytes: Buffer };

type HttpFuzzed = Extract<Fuzzed, { kind: "http" }>;

/** What the generators need to know of the daemon: real names, ids and credentials. */
interface Context {
  readonly names: readonly string[];
  readonly ids: readonly string[];
  /** The accounts and keys near-valid requests address (by name or id). */
  readonly accounts: readonly string[];
  readonly keys: readonly string[];
  readonly key: string;
  readonly token: string;
}

// ---------------------------------------------------------------------------------------------
// Generators

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Percent-encodes everything but unreserved characters (and, in a path, sub-delimiters), as UTF-8. */
function encode(text: string, keep: RegExp): string {
  let out = "";
  for (const char of text) {
    if (keep.test(char)) out += char;
    else for (const byte of Buffer.from(char, "utf8")) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
const PATH_SAFE = /^[A-Za-z0-9\-._~!$'()*+,;=:@]$/;
const QUERY_SAFE = /^[A-Za-z0-9\-._~]$/;

/** Text of every kind: unicode graphemes, any code point (lone surrogates too), controls, long runs. */
const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "..",
    ".",
    "\u0000",
    "\u202e",
    "\ufeff",
    "\u200b",
    "𝕬𝖉𝖒𝖎𝖓",
    "e\u0301",
    "ä",
    "\ud800",
    "null",
    "undefined",
  ),
  fc.tuple(fc.constantFrom("a", "é", "😀", "%", "/"), fc.integer({ min: 60, max: 3000 })).map(([c, n]) => c.repeat(n)),
);

const ulid = fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 26, maxLength: 26 });

function idLike(ctx: Context): fc.Arbitrary<string> {
  return fc.oneof(
    ulid.map((u) => `sa_${u}`),
    ulid.map((u) => `key_${u}`),
    ulid.map((u) => `evt_${u}`),
    fc.constantFrom(...ctx.ids),
    fc.string({ unit: fc.constantFrom(..."0123456789abcdefILOU_-"), minLength: 20, maxLength: 30 }).map((s) => `sa_${s}`),
    fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 25, maxLength: 27 }).map((s) => `key_${s}`),
  );
}

/** A path segment, already encoded as it goes on the wire. */
function segment(ctx: Context): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ctx.names) },
    { weight: 2, arbitrary: idLike(ctx) },
    { weight: 3, arbitrary: text.map((t) => encode(t, PATH_SAFE)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "..",
        "%2e%2e",
        "%2F",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "%",
        "%zz",
        "%E0%A4%A",
        "%C0%AE",
        "%ED%A0%80",
        "%FF%FE",
        "%F0%9F%98%80",
        "%25",
        "%20",
        "~",
        "*",
        "a;b=c",
        ":",
        "@",
        "a".repeat(101),
      ),
    },
  );
}

function pathOf(ctx: Context, route: ContractRoute): fc.Arbitrary<string> {
  const filled = fc
    .tuple(segment(ctx), segment(ctx))
    .map(([account, key]) => route.path.replace(":account", account).replace(":key", key));
  return fc.oneof(
    { weight: 12, arbitrary: filled },
    { weight: 1, arbitrary: filled.map((p) => `${p}/`) },
    { weight: 1, arbitrary: fc.tuple(filled, segment(ctx)).map(([p, extra]) => `${p}/${extra}`) },
    { weight: 1, arbitrary: filled.map((p) => p.replace("/v1/", "//v1//")) },
    { weight: 1, arbitrary: filled.map((p) => p.toUpperCase()) },
    { weight: 1, arbitrary: filled.map((p) => p.replace("/v1/", "/v1/./").replace("/api-keys", "/../api-keys")) },
    { weight: 1, arbitrary: fc.array(segment(ctx), { maxLength: 6 }).map((parts) => `/${parts.join("/")}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "/",
        "//",
        "/v1",
        "/v1/",
        "/v2/service-accounts",
        "/*",
        "/.well-known/",
        "/v1/events/stream/",
        "/%2e%2e/",
      ),
    },
  );
}

function queryValue(ctx: Context): fc.Arbitrary<string> {
  const raw = fc.oneof(
    fc.constantFrom(
      "0",
      "1",
      "-1",
      "1.5",
      "1e309",
      "9007199254740993",
      "NaN",
      "Infinity",
      "0x10",
      " 1",
      "",
      "true",
      "FALSE",
      "yes",
    ),
    fc.constantFrom(
      "null",
      "[]",
      "{}",
      "500",
      "501",
      "1000",
      "1001",
      "100000",
      "100001",
      ...EVENT_TYPES,
      "ServiceAccountCreated ",
    ),
    fc.constantFrom(
      "2026-01-31T12:00:00Z",
      "2024-02-30T00:00Z",
      "2026-01-31T12:00:00",
      "2026-01-31",
      "+275760-09-13T00:00:00Z",
      "1970-01-01T00:00:00.000000001Z",
      "1000-01-01T00:00:00Z",
      "9999-12-31T23:59:59Z",
      "2026-01-31T12:00:00+25:00",
    ),
    fc
      .date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
      .map((d) => d.toISOString()),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
    fc.nat({ max: 5000 }).map(String),
    idLike(ctx),
    fc.constantFrom(...ctx.names),
    idLike(ctx).map((id) => Buffer.from(id).toString("base64url")),
    text,
  );
  return fc.oneof(
    { weight: 8, arbitrary: raw.map((v) => encode(v, QUERY_SAFE)) },
    { weight: 1, arbitrary: fc.constantFrom("%", "%zz", "%00", "a&b", "=", "%ED%A0%80", "a+b") },
  );
}

function queryOf(ctx: Context, route: ContractRoute): fc.Arbitrary<string> {
  const known = route.params.length > 0 ? fc.constantFrom(...route.params) : fc.constantFrom("asOf", "limit");
  const key = fc.oneof(
    { weight: 6, arbitrary: known },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "__proto__",
        "constructor",
        "prototype",
        "a[b]",
        "__proto__[admin]",
        "",
        "ASOF",
        "limit[]",
        "toString",
      ),
    },
    { weight: 1, arbitrary: text.map((t) => encode(t, QUERY_SAFE)) },
  );
  const pair = fc
    .tuple(key, queryValue(ctx), fc.nat({ max: 9 }))
    .map(([k, v, form]) => (form === 0 ? k : form === 1 ? `${k}=` : `${k}=${v}`));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    { weight: 6, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((pairs) => `?${pairs.join("&")}`) },
    { weight: 1, arbitrary: fc.constantFrom("?", "?&&", "?=", "?#frag", `?${"a=1&".repeat(500)}`) },
  );
}

/** A value for a body field: right and wrong types, boundaries, hostile strings. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/),
  text,
  fc.constantFrom("a".repeat(64), "a".repeat(65), "d".repeat(1000), "d".repeat(1001), "admin", "auditor", "verifier", "root", ""),
  fc.constantFrom(
    new Date(Date.now() + 86_400_000).toISOString(),
    "2000-01-01T00:00:00Z",
    "tomorrow",
    "2999-01-01T00:00:00",
    "1000-01-01T00:00:00Z",
    UNKNOWN_KEY,
  ),
  fc.constantFrom(0, -1, 1, 1.5, 2_592_000, 2_592_001, Number.MAX_SAFE_INTEGER, -0, 1e308),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.constantFrom("admin", "auditor", "verifier", "root", 1, null), { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** The fields of each route's body in the contract. */
function fieldsOf(route: ContractRoute): readonly string[] {
  if (route.method === "GET" || route.method === "DELETE") return [];
  if (route.path.endsWith("/rotate")) return ["retainSeconds"];
  if (route.path === "/v1/auth/verify") return ["key"];
  if (route.path.endsWith("/api-keys") || route.path.endsWith("/:key")) return ["name", "description", "active", "expiresAt"];
  if (route.path.startsWith("/v1/service-accounts")) return ["name", "description", "roles", "active", "createApiKey"];
  return [];
}

/** Nesting far beyond what any schema has: arrays or objects, thousands deep, near and above the body limit. */
const deep = fc
  .tuple(fc.constantFrom(100, 1000, 10_000, 30_000, 40_000), fc.constantFrom("array", "object", "member"))
  .map(([depth, shape]) => {
    if (shape === "array") return `${"[".repeat(depth)}${"]".repeat(depth)}`;
    if (shape === "object") return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    return `{"name":"deep","description":${"[".repeat(depth)}${"]".repeat(depth)}}`;
  });

const huge = fc
  .tuple(
    fc.constantFrom("name", "description", "key", "roles", "retainSeconds"),
    fc.constantFrom(1000, 60_000, BODY_LIMIT - 20, BODY_LIMIT, BODY_LIMIT + 1, 200_000),
  )
  .map(([field, size]) => {
    const filler = "x".repeat(Math.max(0, size - field.length - 8));
    return `{"${field}":"${filler}"}`;
  });

const INVALID_JSON = [
  "{",
  '{"name":',
  '{"name":"a",}',
  "{'name':'a'}",
  "NaN",
  '{"a":1}{"b":2}',
  '\ufeff{"name":"bom"}',
  "[1,2",
  '"',
  "nul",
  '{"name":"\\x41"}',
  '{"name":"a"} trailing',
  "{name: 1}",
  '{"retainSeconds": 1e400}',
  '{"retainSeconds": -0}',
  '{"key":"\\ud800"}',
  '{"name":"dup","name":"dup2"}',
  "true",
  "0",
  '""',
  " ",
  "/* comment */ {}",
];

const PROTO = [
  '{"__proto__":{"roles":["admin"]},"name":"proto-a"}',
  '{"name":"proto-b","__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}},"name":"proto-c"}',
  '{"name":"proto-d","roles":{"__proto__":["admin"]}}',
  '{"__proto__":null}',
  '{"hasOwnProperty":1,"name":"proto-e"}',
];

function bodyOf(route: ContractRoute): fc.Arbitrary<string | Buffer | undefined> {
  const fields = fieldsOf(route);
  const record =
    fields.length === 0
      ? fc.jsonValue({ maxDepth: 3 })
      : fc.dictionary(
          fc.oneof(
            { weight: 8, arbitrary: fc.constantFrom(...fields) },
            { weight: 1, arbitrary: fc.constantFrom("foo", "id", "key", "__proto__") },
          ),
          fieldValue,
          { maxKeys: fields.length + 1 },
        );
  return fc.oneof(
    { weight: 8, arbitrary: record.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.constantFrom(...INVALID_JSON, ...PROTO) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: huge },
    { weight: 3, arbitrary: fc.constant(undefined) },
  );
}

/** A value in about one of `oneIn` samples, else undefined. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

const latin1 = fc.string({
  unit: fc
    .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }))
    .map((code) => String.fromCharCode(code)),
  maxLength: 60,
});

function authorizationOf(ctx: Context): fc.Arbitrary<string | readonly string[] | undefined> {
  const key = ctx.key;
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant(`Bearer ${key}`) },
    { weight: 3, arbitrary: fc.constant(`Bearer ${ctx.token}`) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: fc.constantFrom<string | readonly string[]>(
        "Bearer",
        "Bearer ",
        `bearer ${key}`,
        `BEARER ${key}`,
        `Bearer  ${key}`,
        `Bearer\t${key}`,
        `Basic ${Buffer.from(`admin:${key}`).toString("base64")}`,
        key,
        `Bearer ${key} x`,
        `Bearer ${key},Bearer ${key}`,
        "Bearer kl_",
        "Bearer kl___",
        `Bearer ${UNKNOWN_KEY}`,
        `Bearer kl_${"A".repeat(3000)}`,
        "Bearer a.b.c",
        `Bearer ${ctx.token.slice(0, -2)}`,
        `Bearer ${ctx.token}.x`,
        `Bearer ${key}\u00ff`,
        ["Bearer not-a-key", `Bearer ${key}`],
        [`Bearer ${key}`, "Bearer not-a-key"],
      ),
    },
    { weight: 1, arbitrary: latin1.map((value) => `Bearer ${value}`) },
    { weight: 1, arbitrary: latin1 },
  );
}

const CONTENT_TYPES = [
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "application/json; charset=latin1",
  "application/json;",
  "APPLICATION/JSON",
  "application/jsonx",
  "application/json-patch+json",
  "application/merge-patch+json",
  "text/plain",
  "text/json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "",
  "a/b/c",
  "application/json; boundary=\u00ff",
];

/** Headers; a content type of `null` stands for "application/json when there is a body". */
function headersOf(ctx: Context): fc.Arbitrary<Record<string, string | readonly string[] | null>> {
  const name = fc
    .stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
    .filter((n) => !["content-length", "transfer-encoding", "host", "connection", "expect", "upgrade"].includes(n));
  return fc
    .record({
      authorization: authorizationOf(ctx),
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant(null) },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      requestId: sometimes(fc.oneof(latin1, fc.constantFrom("trace-1", "r".repeat(65), "<script>", "a b")), 4),
      accept: sometimes(
        fc.constantFrom("application/x-ndjson", "text/event-stream", "*/*", "text/html", "application/json;q=0"),
        4,
      ),
      lastEventId: sometimes(
        fc.oneof(fc.constantFrom("0", "-1", "1e3", "99999999999999999", " 5 ", ""), fc.nat().map(String), latin1),
        6,
      ),
      extra: sometimes(fc.dictionary(name, latin1, { minKeys: 1, maxKeys: 3 }), 4),
      big: sometimes(fc.constantFrom(1_000, 8_000, 15_000, 17_000, 40_000), 40),
    })
    .map(({ authorization, contentType, requestId, accept, lastEventId, extra, big }) => {
      const headers: Record<string, string | readonly string[] | null> = { ...extra };
      if (authorization !== undefined) headers.authorization = authorization;
      if (contentType !== undefined) headers["content-type"] = contentType;
      if (requestId !== undefined) headers["x-request-id"] = requestId;
      if (accept !== undefined) headers.accept = accept;
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      if (big !== undefined) headers["x-padding"] = "p".repeat(big);
      return headers;
    });
}

/** Requests an HTTP client refuses to send: malformed request lines, headers and framing. */
function raw(ctx: Context): fc.Arbitrary<Fuzzed> {
  const auth = `Authorization: Bearer ${ctx.key}\r\n`;
  const cases: ReadonlyArray<[string, string]> = [
    ["unknown method", `FOO /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}\r\n`],
    ["invalid method token", `G(T /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}\r\n`],
    ["space in the path", `GET /v1/service accounts HTTP/1.1\r\nHost: x\r\n${auth}\r\n`],
    ["raw UTF-8 in the path", `GET /v1/service-accounts/\u00e9t\u00e9 HTTP/1.1\r\nHost: x\r\n${auth}\r\n`],
    ["NUL in the path", `GET /v1/service-accounts/\u0000 HTTP/1.1\r\nHost: x\r\n${auth}\r\n`],
    ["unknown HTTP version", `GET /v1/service-accounts HTTP/9.9\r\nHost: x\r\n${auth}\r\n`],
    ["header line without a colon", `GET /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}Broken\r\n\r\n`],
    ["header name with a space", `GET /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}Bad Name: 1\r\n\r\n`],
    ["bare LF line ends", `GET /v1/service-accounts HTTP/1.1\nHost: x\n${auth.replace("\r", "")}\n`],
    [
      "Content-Length and Transfer-Encoding",
      `POST /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    [
      "two different Content-Lengths",
      `POST /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    ],
    [
      "a chunk size that is no number",
      `POST /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    ],
    [
      "a request head over 16 KiB",
      `GET /v1/service-accounts HTTP/1.1\r\nHost: x\r\n${auth}X-Padding: ${"p".repeat(20_000)}\r\n\r\n`,
    ],
    ["an absolute URL", `GET http://evil.example/v1/auth/whoami HTTP/1.1\r\nHost: x\r\n${auth}\r\n`],
    ["HTTP/1.0 without Host", `GET /v1/auth/whoami HTTP/1.0\r\n${auth}\r\n`],
  ];
  return fc
    .constantFrom(...cases)
    .map(([title, bytes]) => ({ kind: "raw" as const, title, bytes: Buffer.from(bytes, "latin1") }));
}

/** Names that near-valid requests create, rename to and delete (the core accounts are not deleted on purpose). */
const DOOMED = Array.from({ length: 8 }, (_, i) => `doomed-${i}`);
const validName = fc.oneof(fc.constantFrom(...DOOMED), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/));

/** A value for a known query parameter: mostly of its kind, sometimes anything. */
function paramValue(ctx: Context, param: string): fc.Arbitrary<string> {
  const some = text.filter((t) => t.length > 0 && t.length <= 64);
  const kinds: Record<string, fc.Arbitrary<string>> = {
    active: fc.constantFrom("true", "false"),
    name: fc.oneof(fc.constantFrom(...ctx.names), some),
    limit: fc.oneof(fc.integer({ min: 1, max: 500 }).map(String), fc.constantFrom("0", "501", "1000", "1001")),
    cursor: fc
      .oneof(
        fc.constantFrom(...ctx.ids),
        ulid.map((u) => `sa_${u}`),
        some,
      )
      .map((v) => Buffer.from(v).toString("base64url")),
    asOf: fc.oneof(
      { weight: 10, arbitrary: fc.nat({ max: 40 }).map(String) },
      {
        weight: 10,
        arbitrary: fc
          .date({ min: new Date(Date.now() - 3_600_000), max: new Date(Date.now() + 3_600_000), noInvalidDate: true })
          .map((d) => d.toISOString()),
      },
      { weight: 1, arbitrary: fc.constantFrom("1000-01-01T00:00:00Z", "99999999999999999999", "2026-02-30T00:00:00Z") },
    ),
    after: fc.oneof(fc.nat({ max: 3000 }).map(String), fc.constant(String(Number.MAX_SAFE_INTEGER))),
    from: fc.nat({ max: 40 }).map(String),
    to: fc.nat({ max: 40 }).map(String),
    account: fc.oneof(fc.constantFrom(...ctx.names, ...ctx.ids), some),
    type: fc.constantFrom(...EVENT_TYPES),
    maxProblems: fc.integer({ min: 1, max: 100_000 }).map(String),
  };
  const kind = kinds[param] ?? some;
  return fc.oneof({ weight: 4, arbitrary: kind.map((v) => encode(v, QUERY_SAFE)) }, { weight: 1, arbitrary: queryValue(ctx) });
}

/** A valid body of the route (null: the route takes none). */
function validBody(ctx: Context, route: ContractRoute): fc.Arbitrary<unknown> {
  const description = fc.oneof(
    text.filter((t) => t.length <= 1000),
    fc.constant("d".repeat(1000)),
  );
  const roles = fc.subarray(["admin", "auditor", "verifier"]);
  const expiresAt = fc.oneof(
    fc.integer({ min: 60_000, max: 3_650 * 86_400_000 }).map((ms) => new Date(Date.now() + ms).toISOString()),
    fc.constant(null),
  );
  const fields = fieldsOf(route);
  if (route.path.endsWith("/rotate"))
    return fc.oneof(
      fc.record({ retainSeconds: fc.integer({ min: 0, max: 2_592_000 }) }, { requiredKeys: [] }),
      fc.constant(null),
    );
  if (route.path === "/v1/auth/verify") {
    const made = fc
      .tuple(
        ulid,
        fc.string({
          unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
          minLength: 43,
          maxLength: 43,
        }),
      )
      .map(([id, secret]) => `kl_${id}_${secret}`);
    return fc.record({
      key: fc.oneof(
        fc.constant(ctx.key),
        fc.constant(UNKNOWN_KEY),
        made,
        text.filter((t) => t.length > 0),
      ),
    });
  }
  if (fields.length === 0) return fc.constant(null);
  const all = { name: validName, description, roles, active: fc.boolean(), createApiKey: fc.boolean(), expiresAt };
  const model = Object.fromEntries(fields.map((field) => [field, all[field as keyof typeof all]]));
  return fc.record(model, { requiredKeys: route.method === "POST" ? ["name"] : [] });
}

/**
 * A request that would succeed but for at most one thing: the fuzzer's credential, a route of the
 * contract on the core accounts and keys, known query parameters and a valid body, then one field,
 * parameter or segment made hostile. These reach the handlers, where the wild ones stop at validation.
 */
function nearValid(ctx: Context, route: ContractRoute): fc.Arbitrary<Fuzzed> {
  const deletesAccount = route.method === "DELETE" && !route.path.includes(":key");
  const deletesKey = route.method === "DELETE" && route.path.includes(":key");
  const account = deletesAccount ? fc.constantFrom(...DOOMED) : fc.constantFrom(...ctx.accounts);
  const key = deletesKey ? fc.constantFrom(...DOOMED) : fc.constantFrom(...ctx.keys);
  const path = fc
    .tuple(
      account,
      key,
      fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: segment(ctx) }),
      fc.boolean(),
    )
    .map(([a, k, hostile, which]) =>
      route.path
        .replace(":account", hostile !== null && which ? hostile : encodeURIComponent(a))
        .replace(":key", hostile !== null && !which ? hostile : encodeURIComponent(k)),
    );
  const pairs = new Map(route.params.map((param) => [param, paramValue(ctx, param).map((value) => `${param}=${value}`)]));
  const query =
    route.params.length === 0
      ? fc.constant("")
      : fc
          .subarray([...route.params])
          .chain((params) => fc.tuple(...params.map((param) => pairs.get(param)!)))
          .map((chosen) => (chosen.length === 0 ? "" : `?${chosen.join("&")}`));
  const fields = [...fieldsOf(route), "foo", "__proto__", "id"];
  const body = fc
    .tuple(validBody(ctx, route), sometimes(fc.tuple(fc.constantFrom(...fields), fieldValue), 3))
    .map(([valid, change]) => {
      if (valid === null) return undefined;
      if (change === undefined || typeof valid !== "object") return JSON.stringify(valid);
      return JSON.stringify({ ...(valid as object), [change[0]]: change[1] });
    });
  return fc
    .record({
      method: fc.oneof(
        { weight: 19, arbitrary: fc.constant(route.method) },
        { weight: 1, arbitrary: fc.constant(route.method === "GET" ? "HEAD" : "GET") },
      ),
      path,
      query,
      body,
      authorization: fc.constantFrom(`Bearer ${ctx.key}`, `Bearer ${ctx.key}`, `Bearer ${ctx.key}`, `Bearer ${ctx.token}`),
    })
    .map(({ method, path, query, body, authorization }) =>
      headless({
        kind: "http",
        route: routeTitle(route),
        method,
        url: `${path}${query}`,
        headers: body === undefined ? { authorization } : { authorization, "content-type": "application/json" },
        ...(body === undefined ? {} : { body }),
      }),
    );
}

/** Anything at all on a route: hostile methods, paths, queries, headers and bodies. */
function wild(ctx: Context, route: ContractRoute, headers: ReturnType<typeof headersOf>): fc.Arbitrary<Fuzzed> {
  return fc
    .record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant(route.method) },
        { weight: 2, arbitrary: fc.constantFrom("GET", "POST", "PATCH", "DELETE") },
        { weight: 1, arbitrary: fc.constantFrom("PUT", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "SEARCH", "PURGE") },
      ),
      path: pathOf(ctx, route),
      query: queryOf(ctx, route),
      body: bodyOf(route),
      headers,
    })
    .map(({ method, path, query, body, headers: { "content-type": type, ...others } }): Fuzzed => {
      const sent: Record<string, string | readonly string[]> = { ...(others as RequestHeaders) };
      if (typeof type === "string") sent["content-type"] = type;
      else if (type === null && body !== undefined) sent["content-type"] = "application/json";
      const request = {
        kind: "http" as const,
        route: routeTitle(route),
        method,
        url: `${path}${query}`,
        headers: sent,
        ...(body === undefined ? {} : { body }),
      };
      return headless(request);
    });
}

/** An over-long head is answered before its method is known, with a body: it is not sent as a HEAD. */
function headless(request: HttpFuzzed): HttpFuzzed {
  return request.method === "HEAD" && headSize(request) > 12_000 ? { ...request, method: "GET" } : request;
}

/** Routes that read the whole stream: drawn less often, and busy (503 with Retry-After) beyond the daemon's places. */
const WHOLE_STREAM_READS: ReadonlySet<string> = new Set(["/v1/audit/verify", "/v1/audit/export"]);

function fuzzed(ctx: Context): fc.Arbitrary<Fuzzed> {
  // Arbitraries are built once per route (building them per sample costs more than sampling them).
  // A whole-stream audit costs more than any other request: it is drawn less often.
  const headers = headersOf(ctx);
  const weighted = (make: (route: ContractRoute) => fc.Arbitrary<Fuzzed>) =>
    fc.oneof(...CONTRACT_ROUTES.map((route) => ({ weight: WHOLE_STREAM_READS.has(route.path) ? 1 : 4, arbitrary: make(route) })));
  return fc.oneof(
    { weight: 30, arbitrary: weighted((route) => nearValid(ctx, route)) },
    { weight: 30, arbitrary: weighted((route) => wild(ctx, route, headers)) },
    { weight: 1, arbitrary: raw(ctx) },
  );
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

/** Sends raw bytes and reads one answer: its head, then Content-Length bytes (or until the socket closes). */
function sendRaw(base: string, bytes: Buffer): Promise<Answer> {
  const { hostname, port } = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error("no answer within 10 s")), 10_000);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return reject(error ?? new Error(`no answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = data.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1")).toString("utf8");
      let json: unknown;
      try {
        json = body === "" ? undefined : JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine?.split(" ")[1]), headers, text: body, json, ms: performance.now() - started });
    };
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (length !== null && data.length >= end + 4 + Number(length[1])) done();
    });
    socket.on("error", (error) => done(error));
    socket.on("close", () => done());
    socket.write(bytes);
  });
}

const STACK_OR_INTERNALS =
  /\n\s+at |\bat [\w.<>]+ \(|file:\/\/|\/work\/|\/src\/|\/dist\/|node_modules|\b(Type|Range|Reference|Syntax|Eval)Error\b|Cannot read prop|is not a function|undefined is not|JetStream|nats-server|\bNATS\b|LevelDB|LEVEL_|ECONN|EPIPE/;

/** A message without the parts of the URL it may quote (the path, query names and values). */
function withoutEchoes(message: string, url: string): string {
  const [path = "", query = ""] = url.split("?");
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part.replaceAll("+", " "));
    } catch {
      return part;
    }
  };
  const echoes = [path, ...query.split(/[&=]/).map(decode)].filter((part) => part.length > 0).sort((a, b) => b.length - a.length);
  return echoes.reduce((text, part) => text.replaceAll(part, ""), message);
}

/** Statuses the contract knows: successes, and the error statuses of its closed set. */
const KNOWN_STATUSES = new Set([200, 201, 204, ...Object.values(ERROR_STATUS)]);

/** Everything wrong with one answer, as short sentences (empty: nothing). */
function judge(request: Fuzzed, answer: Answer): string[] {
  const problems: string[] = [];
  const head = request.kind === "http" && request.method === "HEAD";
  const url = request.kind === "http" ? request.url : "";
  const auditBusy =
    [...WHOLE_STREAM_READS].some((path) => url.startsWith(path)) &&
    answer.status === 503 &&
    answer.json?.error?.code === "unavailable" &&
    answer.headers["retry-after"] !== undefined;
  if (answer.status >= 500 && !auditBusy) problems.push(`a ${answer.status} answer`);
  if (!KNOWN_STATUSES.has(answer.status)) problems.push(`status ${answer.status}, outside the contract`);
  if (answer.status >= 400 && !head) {
    const body = answer.json;
    const error = body?.error;
    const shaped =
      body !== null &&
      typeof body === "object" &&
      Object.keys(body).join() === "error" &&
      error !== null &&
      typeof error === "object" &&
      Object.keys(error).sort().join() === "code,message,requestId" &&
      typeof error.code === "string" &&
      typeof error.message === "string" &&
      error.message.length > 0 &&
      typeof error.requestId === "string" &&
      error.requestId.length > 0;
    if (!shaped) problems.push("error body is not the contract's error object");
    else {
      if (!(error.code in ERROR_STATUS)) problems.push(`error code "${error.code}" is not in the contract`);
      else if (ERROR_STATUS[error.code] !== answer.status) problems.push(`code ${error.code} with status ${answer.status}`);
      if (answer.headers["x-request-id"] !== error.requestId) problems.push("requestId differs from x-request-id");
      // What the caller sent may be echoed (a path, a field name); anything else must not look like internals.
      // A 400 names the field at fault: a request without a body is not told that its body is bad.
      if (request.kind === "http" && request.body === undefined && /body is not valid JSON/.test(error.message))
        problems.push(`a request without a body told its body is at fault: ${error.message}`);
      if (STACK_OR_INTERNALS.test(withoutEchoes(error.message, url)))
        problems.push(`message shows internals: ${error.message.slice(0, 160)}`);
    }
  }
  if (answer.status >= 200 && answer.status < 300 && !head && answer.status !== 204) {
    const type = String(answer.headers["content-type"] ?? "");
    if (type.startsWith("application/json") && answer.json === undefined) problems.push("a 2xx JSON answer that does not parse");
    if (type.startsWith("application/x-ndjson")) {
      const lines = answer.text.trim().split("\n");
      const last = JSON.parse(lines.at(-1) ?? "{}");
      // An audit ends with its report, an evidence export with its seal.
      if (last.report === undefined && last.end === undefined)
        problems.push(`an NDJSON audit or export that ended without its report or seal: ${lines.at(-1)?.slice(0, 160)}`);
    }
  }
  return problems;
}

/**
 * About the size of a request's head. Node refuses a head over 16 KiB and closes the connection
 * without saying so (no `Connection: close`): such a request goes on a connection of its own, so that
 * the requests queued behind it on a kept-alive one do not fail with it.
 */
function headSize(request: HttpFuzzed): number {
  return Object.entries(request.headers).reduce(
    (size, [name, value]) => size + name.length + String(value).length + 4,
    request.url.length,
  );
}

function describeRequest(request: Fuzzed): string {
  if (request.kind === "raw") return `raw: ${request.title}`;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      typeof value === "string" && value.length > 120 ? `${value.slice(0, 60)}…(${value.length})` : value,
    ]),
  );
  const body =
    request.body === undefined
      ? ""
      : ` body ${String(request.body).slice(0, 120)}${String(request.body).length > 120 ? `…(${request.body.length})` : ""}`;
  return `${request.method} ${request.url.length > 200 ? `${request.url.slice(0, 200)}…(${request.url.length})` : request.url} ${JSON.stringify(headers)}${body}`;
}

// ---------------------------------------------------------------------------------------------

describe(`${RUNS.toLocaleString("en")} hostile requests against a child-process daemon`, () => {
  let daemon: ServedDaemon;
  let ctx: Context;
  let agent: http.Agent;
  let firstEventAt: number;
  let keepCore: () => Promise<void>;
  const fuzzerAdmin = () => ({ authorization: `Bearer ${ctx.key}` });

  beforeAll(async () => {
    // Far above the failures the fuzzer causes: a 429 would hide the routes behind it.
    daemon = await serveChild({ "auth-failures-per-minute": "1000000", "log-level": "warn" });
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const admin = { authorization: `Bearer ${daemon.adminKey}` };
    const call = (method: string, url: string, body?: unknown) =>
      send(daemon.url, { method, url, body, headers: admin }, { agent });
    // The fuzzer's own admin: no generated path names it, so it cannot lock itself out.
    const fuzzer = await call("POST", "/v1/service-accounts", { name: "fuzzer-7f3a", roles: ["admin"] });
    expect(fuzzer.status).toBe(201);
    const key = fuzzer.json.apiKey.key as string;
    const token = await send(
      daemon.url,
      { method: "POST", url: "/v1/auth/token", headers: { authorization: `Bearer ${key}` } },
      { agent },
    );
    expect(token.status).toBe(200);
    const accountIds: string[] = [];
    const keyIds: string[] = [];
    for (const name of CORE) {
      const account = await call("POST", "/v1/service-accounts", { name, roles: ["auditor"] });
      expect(account.status).toBe(201);
      accountIds.push(account.json.serviceAccount.id);
      keyIds.push(account.json.apiKey.id);
      const extra = await call("POST", `/v1/service-accounts/${name}/api-keys`, { name: TARGET_KEY });
      expect(extra.status).toBe(201);
      keyIds.push(extra.json.id);
    }
    const history = await call("GET", "/v1/events?limit=1");
    firstEventAt = Date.parse(history.json.items[0].occurredAt);
    ctx = {
      names: [...CORE, TARGET_KEY, "default", "admin", "no-such-thing"],
      ids: [...accountIds, ...keyIds],
      accounts: [...CORE, ...accountIds],
      keys: [TARGET_KEY, "default", ...keyIds],
      key,
      token: token.json.accessToken,
    };
    // Wild requests may delete or rename the core accounts: now and then they are made again, by name.
    keepCore = async () => {
      for (const name of CORE) {
        await send(
          daemon.url,
          { method: "POST", url: "/v1/service-accounts", body: { name, roles: ["auditor"] }, headers: fuzzerAdmin() },
          { agent },
        );
        const keys = `/v1/service-accounts/${name}/api-keys`;
        await send(daemon.url, { method: "POST", url: keys, body: { name: TARGET_KEY }, headers: fuzzerAdmin() }, { agent });
      }
    };
  }, 60_000);

  afterAll(async () => {
    agent?.destroy();
    if (daemon !== undefined && daemon.process.child.exitCode === null) await daemon.stop();
  });

  it("answers every one without a 5xx, and every error with the contract's body", async () => {
    const generating = performance.now();
    const requests = fc.sample(fuzzed(ctx), { numRuns: RUNS, seed: SEED });
    const generated = (performance.now() - generating) / 1000;
    const failures = new Map<string, { count: number; example: string; answer: string }>();
    const statuses = new Map<number, number>();
    let sent = 0;
    let slowest = { ms: 0, request: "" };
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const index = next++;
        const request = requests[index]!;
        if (index % 500 === 499) await keepCore();
        let problems: string[];
        let answer: Answer | undefined;
        try {
          answer =
            request.kind === "raw"
              ? await sendRaw(daemon.url, request.bytes)
              : await send(daemon.url, request, { agent: headSize(request) > 12_000 ? false : agent, timeoutMs: 10_000 });
          problems = judge(request, answer);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.ms > slowest.ms) slowest = { ms: answer.ms, request: describeRequest(request) };
        } catch (error) {
          problems = [`no answer (${(error as Error).message})`];
        }
        sent += 1;
        for (const problem of problems) {
          const kind = problem.replace(/:.*$/s, "");
          const seen = failures.get(kind);
          if (seen !== undefined) seen.count += 1;
          else
            failures.set(kind, {
              count: 1,
              example: describeRequest(request),
              answer: answer === undefined ? "" : `${answer.status} ${answer.text.slice(0, 300)}`,
            });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `hostile input: generated ${requests.length} requests in ${generated.toFixed(1)} s, sent ${sent} in ${seconds.toFixed(1)} s (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; slowest ${slowest.ms.toFixed(0)} ms: ${slowest.request.slice(0, 200)}`,
    );
    const report = [...failures].map(
      ([kind, { count, example, answer }]) => `${kind} (${count}×), e.g. ${example}\n    → ${answer}`,
    );
    if (report.length > 0) console.log(`hostile input: problems (seed ${SEED}):\n${report.join("\n")}`);
    expect(sent).toBe(RUNS);
    const perRoute = new Map(CONTRACT_ROUTES.map((route) => [routeTitle(route), 0]));
    for (const request of requests) if (request.kind === "http") perRoute.set(request.route, perRoute.get(request.route)! + 1);
    const fewest = Math.min(...perRoute.values());
    console.log(`hostile input: ${perRoute.size} routes, each drawn ${fewest}–${Math.max(...perRoute.values())} times`);
    expect(fewest).toBeGreaterThanOrEqual(RUNS / 200);
    expect(report).toEqual([]);
  }, 240_000);

  it("travels to an instant before the stream began: the empty state at sequence 0, at once", async () => {
    const admin = { authorization: `Bearer ${ctx.key}` };
    await fc.assert(
      fc.asyncProperty(
        fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date(firstEventAt - 60_000), noInvalidDate: true }),
        fc.constantFrom("/v1/audit/state", "/v1/service-accounts"),
        async (instant, path) => {
          const answer = await send(
            daemon.url,
            { method: "GET", url: `${path}?asOf=${instant.toISOString()}`, headers: admin },
            { agent },
          );
          expect(answer.status).toBe(200);
          expect(answer.json.asOf.seq).toBe(0);
          expect(answer.json.serviceAccounts ?? answer.json.items).toEqual([]);
          expect(answer.ms).toBeLessThan(2000);
        },
      ),
      { numRuns: 40, endOnFailure: true },
    );
  }, 60_000);

  it("answers HEAD on every GET route as it answers GET, without a body", async () => {
    const admin = { authorization: `Bearer ${ctx.key}` };
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    const routes = CONTRACT_ROUTES.filter((candidate) => candidate.method === "GET");
    // One route after the other: audit routes admit only a few requests per service account at
    // once, and a 429 for the HEAD of a GET that got 200 would say nothing about HEAD.
    for (const route of routes) {
      const url = urlOf(route, { account: TARGET_ACCOUNT, key: TARGET_KEY, asOf: "1" });
      const answer = (method: string) =>
        send(daemon.url, { method, url, headers: admin }, { timeoutMs: 5000 }).then(
          ({ status, text }) => `${status}${text === "" ? "" : " with a body"}`,
          (error: Error) => `no answer (${error.message})`,
        );
      want[url] = (await answer("GET")).replace(" with a body", "");
      got[url] = await answer("HEAD");
    }
    expect(got).toEqual(want);
  }, 60_000);

  it("is still alive and healthy afterwards, with a clean audit, no uncaught error in its log, and stops cleanly", async () => {
    const admin = { authorization: `Bearer ${ctx.key}` };
    expect(daemon.process.child.exitCode).toBeNull();
    expect((await send(daemon.url, { method: "GET", url: "/healthz" }, { agent })).status).toBe(200);
    expect((await send(daemon.url, { method: "GET", url: "/readyz" }, { agent })).status).toBe(200);
    expect((await send(daemon.url, { method: "GET", url: "/v1/auth/whoami", headers: admin }, { agent })).status).toBe(200);
    const audit = await send(daemon.url, { method: "GET", url: "/v1/audit/verify", headers: admin }, { agent });
    expect(audit.status).toBe(200);
    expect({ ok: audit.json.ok, problems: audit.json.problems }).toEqual({ ok: true, problems: [] });
    agent.destroy();
    expect(await daemon.stop()).toBe(0);
    const log = daemon.process.output();
    expect(log).not.toMatch(/uncaught|unhandled/i);
    expect(log).not.toMatch(/"level":60/);
    const errors = log.split("\n").filter((line) => /"level":50/.test(line));
    console.log(
      `hostile input: the daemon logged ${errors.length} error lines${errors.length > 0 ? `, e.g. ${errors[0]!.slice(0, 300)}` : ""}`,
    );
  }, 60_000);
});
