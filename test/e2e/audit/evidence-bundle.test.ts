/**
 * Evidence bundles end to end: exported with `keyledger audit export` from a daemon with a varied
 * history, checked with `keyledger audit verify --bundle` in an empty environment (no daemon URL,
 * no key, no login), and tampered with. Every tampered bundle is written by hand from the format
 * docs/evidence-bundle.md documents (this file's own canonical JSON, SHA-256 and node:crypto
 * Ed25519, never the project's sealing code), and each problem is asserted with its sequence.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli, type CliResult } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";
import { testKey, type TestKey } from "../../unit/trust/keys.js";

// ---------------------------------------------------------------------------------------------
// The documented format, written again here

/** Canonical JSON as the docs define it: members sorted by UTF-16 code unit, no whitespace. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** A message line of a bundle, parsed, with its text as it was. */
interface Entry {
  readonly raw: string;
  readonly seq: number;
  readonly subject: string;
  readonly time: string;
  readonly data?: string;
  readonly data64?: string;
}

interface Bundle {
  readonly headerLine: string;
  readonly header: { head: number; anchor: string | null; stream: string; format: string; version: number };
  readonly entries: Entry[];
  readonly sealLine: string;
  readonly seal: Record<string, unknown> & { head: number; eventCount: number; digest: string };
}

function parseBundle(text: string): Bundle {
  const lines = text.split("\n");
  expect(lines.pop()).toBe("");
  const [headerLine, ...rest] = lines;
  const sealLine = rest.pop()!;
  return {
    headerLine: headerLine!,
    header: JSON.parse(headerLine!),
    entries: rest.map((raw) => ({ raw, ...JSON.parse(raw) })),
    sealLine,
    seal: JSON.parse(sealLine).end,
  };
}

const bytesOf = (entry: Entry): Buffer =>
  entry.data !== undefined ? Buffer.from(entry.data, "utf8") : Buffer.from(entry.data64!, "base64");
const isEvent = (entry: Entry): boolean => entry.subject.startsWith("kl.acct.");
const isCheckpoint = (entry: Entry): boolean => entry.subject === "kl.checkpoint";
const isStatement = (entry: Entry): boolean => entry.subject === "kl.keys";
const contentOf = (entry: Entry): any => JSON.parse(entry.data!);

/** D(0) = 64 zeros; D(n) = SHA-256 hex of (ASCII of D(n-1) ‖ the n-th event message's bytes). */
function runningDigest(entries: readonly Entry[]): string {
  let digest = "0".repeat(64);
  for (const entry of entries.filter(isEvent))
    digest = createHash("sha256").update(digest, "ascii").update(bytesOf(entry)).digest("hex");
  return digest;
}

/** An event envelope re-signed by `key`, with `change` applied to it: hash and signature as the docs say. */
function signedEnvelope(envelope: Record<string, unknown>, change: Record<string, unknown>, key: TestKey): string {
  const { hash: _hash, signature: _signature, ...rest } = envelope;
  const unsigned = { ...rest, ...change, signingKeyId: key.kid };
  const bytes = Buffer.from(canonical(unsigned), "utf8");
  return JSON.stringify({ ...unsigned, hash: sha256(bytes), signature: key.sign(bytes) });
}

const lineOf = (seq: number, subject: string, data: string): string =>
  JSON.stringify({ seq, subject, time: "2026-12-05T12:00:00.000Z", data });

/** A seal of the given lines as the docs define it, signed by `key` under the id `kid`. */
function forgedSeal(head: number, entries: readonly Entry[], key: TestKey, kid = key.kid): string {
  const end = {
    head,
    eventCount: entries.filter(isEvent).length,
    digest: runningDigest(entries),
    statements: entries.filter(isStatement).length,
    checkpoints: entries.filter(isCheckpoint).length,
    signingKeyId: kid,
  };
  return JSON.stringify({ end: { ...end, signature: key.sign(Buffer.from(canonical(end), "utf8")) } });
}

// ---------------------------------------------------------------------------------------------
// The ledger

let nats: TestNats;
let daemon: TestDaemon;
let dataDir: string;
let admin: Client;
let adminKey: string;
let anchor: string;
let work: string;
let bundlePath: string;
let original: Bundle;
const ids: Record<string, string> = {};
const retired = testKey();
const attacker = testKey();
/** Sequences of the key statements: the genesis, `retired` enrolled, `retired` revoked. */
const statementSeqs: number[] = [];
/** The events appended after the last checkpoint (the daemon then writes none). */
let tail: Entry[] = [];

async function ok<T = any>(answer: Promise<{ status: number; body: T }>, status = 200): Promise<T> {
  const { status: got, body } = await answer;
  expect(got, JSON.stringify(body)).toBe(status);
  return body;
}

/** A CI job's environment: the daemon's URL and a key, nothing stored. */
const withDaemon = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: "/nonexistent",
  KEYLEDGER_URL: daemon.url,
  KEYLEDGER_API_KEY: adminKey,
});

beforeAll(async () => {
  nats = await startTestNats();
  dataDir = await tempDir("keyledger-data-");
  work = await tempDir("keyledger-bundles-");
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "100" }, { dataDir });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  anchor = daemon.signer.keyId;

  // Accounts, keys, rotations (with and without retention), deactivations, deletions, two key statements.
  for (const name of ["alpha", "beta", "gamma", "delta"])
    ids[name] = (await ok(admin.post("/v1/service-accounts", { name, roles: ["verifier"] }), 201)).serviceAccount.id;
  await ok(admin.post("/v1/service-accounts/alpha/api-keys", { name: "deploy" }), 201);
  await ok(admin.post("/v1/service-accounts/beta/api-keys", { name: "ci" }), 201);
  await ok(admin.post("/v1/service-accounts/alpha/api-keys/default/rotate", { retainSeconds: 0 }));
  await ok(admin.post("/v1/service-accounts/beta/api-keys/ci/rotate", { retainSeconds: 3600 }));
  await ok(admin.patch("/v1/service-accounts/gamma/api-keys/default", { active: false }));
  await ok(admin.patch("/v1/service-accounts/alpha", { description: "the first" }));
  await ok(admin.post(`/v1/signing-keys/${retired.kid}/approve`, { publicKey: retired.publicKey }));
  await ok(admin.post("/v1/service-accounts/beta/api-keys/ci/rotate", { retainSeconds: 3600 }));
  await ok(admin.patch("/v1/service-accounts/delta", { active: false }));
  await ok(admin.delete("/v1/service-accounts/gamma/api-keys/default"), 204);
  await ok(admin.post(`/v1/signing-keys/${retired.kid}/revoke`, { reason: "retired after a test" }));
  await ok(admin.patch("/v1/service-accounts/alpha/api-keys/deploy", { active: false }));
  await ok(admin.patch("/v1/service-accounts/delta", { active: true }));
  await ok(admin.post("/v1/service-accounts/alpha/api-keys/deploy/rotate", { retainSeconds: 0 }));
  await ok(admin.patch("/v1/service-accounts/beta", { description: "the second" }));
  await ok(admin.delete("/v1/service-accounts/gamma"), 204);
  await waitUntil(
    async () => (await daemon.store.lastCheckpoint())?.checkpoint?.upToSeq === (await daemon.store.lastEventSequence()),
    15_000,
  );

  // The same daemon again, writing no checkpoints: what comes now lies after the last one.
  await daemon.stop();
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "0" }, { dataDir });
  admin = client(daemon.url, adminKey);
  await ok(admin.post("/v1/service-accounts", { name: "late", roles: ["verifier"] }), 201);
  await ok(admin.patch("/v1/service-accounts/alpha", { description: "after the last checkpoint" }));
  await ok(admin.post("/v1/service-accounts/beta/api-keys/ci/rotate", { retainSeconds: 0 }));
  await ok(admin.patch("/v1/service-accounts/delta", { description: "the last" }));

  bundlePath = join(work, "ledger.ndjson");
  const exported = await runCli(["audit", "export", "-o", bundlePath], { env: withDaemon() });
  expect(exported.stderr).toBe("");
  expect(exported.code).toBe(0);
  original = parseBundle(await readFile(bundlePath, "utf8"));
  const lastCheckpoint = original.entries.findLast(isCheckpoint)!;
  tail = original.entries.filter((entry) => isEvent(entry) && entry.seq > lastCheckpoint.seq);
  statementSeqs.push(...original.entries.filter(isStatement).map((entry) => entry.seq));
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

// ---------------------------------------------------------------------------------------------
// Checking a bundle offline

interface Problem {
  readonly seq: number;
  readonly code: string;
  readonly reason: string;
  readonly kid?: string;
}

/** `keyledger audit verify --bundle` on these lines, with an empty environment. */
async function verifyLines(
  lines: readonly string[],
  name: string,
): Promise<{ code: number | null; problems: Problem[]; report: any }> {
  const path = join(work, `${name}.ndjson`);
  await writeFile(path, lines.map((line) => `${line}\n`).join(""));
  const run = await runCli(["audit", "verify", "--bundle", path, "--anchor", anchor, "-o", "json"]);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  const report = JSON.parse(run.stdout);
  return { code: run.code, problems: report.problems, report };
}

/** The bundle's lines with its entries replaced, header and seal as they were unless given. */
const linesOf = (entries: readonly Entry[], parts: { header?: string; seal?: string | null } = {}): string[] => [
  parts.header ?? original.headerLine,
  ...entries.map((entry) => entry.raw),
  ...(parts.seal === null ? [] : [parts.seal ?? original.sealLine]),
];

const entry = (raw: string): Entry => ({ raw, ...JSON.parse(raw) });
const sortedProblems = (problems: ReadonlyArray<{ seq: number; code: string }>) =>
  problems.map(({ seq, code }) => ({ seq, code })).sort((a, b) => a.seq - b.seq || a.code.localeCompare(b.code));

const events = () => original.entries.filter(isEvent);
const eventsOf = (name: string): Entry[] => events().filter((entry) => contentOf(entry).accountId === ids[name]);
/** How many event lines come before a sequence: the 0-based index of the event at it. */
const eventIndexAt = (seq: number): number => events().filter((entry) => entry.seq < seq).length;
/** The checkpoints whose digest covers the event message at this index (those a change to it breaks). */
const checkpointsCovering = (index: number): number[] =>
  original.entries.filter((entry) => isCheckpoint(entry) && contentOf(entry).eventCount > index).map((entry) => entry.seq);
const head = () => original.header.head;

describe("an evidence bundle exported with keyledger audit export", () => {
  it("holds a varied history: statements first, every event and checkpoint, no name claim, events after the last checkpoint", async () => {
    const mode = (await stat(bundlePath)).mode & 0o777;
    expect(mode).toBe(0o600);
    expect((await readdir(work)).filter((name) => name.includes(".part"))).toEqual([]);
    expect(original.header).toMatchObject({ format: "keyledger-evidence", version: 1, stream: "KEYLEDGER", anchor });
    const kinds = original.entries.map((entry) => (isStatement(entry) ? "statement" : "message"));
    expect(kinds.lastIndexOf("statement")).toBe(2);
    expect(kinds.indexOf("message")).toBe(3);
    expect(original.entries.some((entry) => entry.subject.startsWith("kl.name."))).toBe(false);
    const seqs = original.entries.slice(3).map((entry) => entry.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const types = events().map((entry) => contentOf(entry).type as string);
    for (const type of [
      "ServiceAccountCreated",
      "ApiKeyCreated",
      "ApiKeyRotated",
      "ApiKeyRetentionExpired",
      "ApiKeyDeactivated",
      "ApiKeyDeleted",
      "ServiceAccountDeactivated",
      "ServiceAccountActivated",
      "ServiceAccountDeleted",
    ])
      expect(types, type).toContain(type);
    expect(original.entries.filter(isCheckpoint).length).toBeGreaterThanOrEqual(2);
    expect(tail.map((entry) => contentOf(entry).type)).toEqual([
      "ServiceAccountCreated",
      "ApiKeyCreated",
      "ServiceAccountUpdated",
      "ApiKeyRetentionExpired",
      "ApiKeyRotated",
      "ServiceAccountUpdated",
    ]);
    // The seal, checked by hand: the counts and the running digest of the lines above it.
    expect(original.seal).toMatchObject({
      head: original.header.head,
      eventCount: events().length,
      digest: runningDigest(original.entries),
      statements: 3,
      checkpoints: original.entries.filter(isCheckpoint).length,
      signingKeyId: anchor,
    });
    const { signature, ...signed } = original.seal;
    const { createPublicKey, verify } = await import("node:crypto");
    const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), daemon.signer.publicKey]);
    const key = createPublicKey({ key: spki, format: "der", type: "spki" });
    expect(verify(null, Buffer.from(canonical(signed)), key, Buffer.from(String(signature), "base64url"))).toBe(true);
  });

  it("checks out offline, in an empty environment, against the pinned anchor, as the daemon's own audit does", async () => {
    const pinned = await runCli(["audit", "verify", "--bundle", bundlePath, "--anchor", anchor]);
    expect(pinned.stderr).toBe("");
    expect(pinned.code).toBe(0);
    expect(pinned.stdout.trim()).toMatch(
      new RegExp(
        `^OK: ${events().length} events checked up to seq ${head()}, .* trust anchor ${anchor} \\(as pinned\\); no problems\\.$`,
      ),
    );
    const json = JSON.parse((await runCli(["audit", "verify", "--bundle", bundlePath, "--anchor", anchor, "-o", "json"])).stdout);
    const daemonAudit = await ok(admin.get("/v1/audit/verify"));
    expect(daemonAudit.head).toBe(head());
    expect(json).toEqual({ ...daemonAudit, pinnedAnchor: anchor });
  });

  it("without --anchor, uses the header's anchor and says plainly that it was not pinned", async () => {
    const unpinned = await runCli(["audit", "verify", "--bundle", bundlePath]);
    expect(unpinned.code).toBe(0);
    expect(unpinned.stdout).toContain(
      `trust anchor ${anchor} (NOT pinned: the bundle's own header named it; pin yours with --anchor KID)`,
    );
    const json = JSON.parse((await runCli(["audit", "verify", "--bundle", bundlePath, "-o", "json"])).stdout);
    expect(json).toMatchObject({ ok: true, anchor, pinnedAnchor: null });
  });

  it("held to another anchor: every signature is refused (exit 1)", async () => {
    const run = await runCli(["audit", "verify", "--bundle", bundlePath, "--anchor", attacker.kid, "-o", "json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.problems[0]).toMatchObject({ seq: statementSeqs[0], code: "anchor_mismatch" });
    expect(report.problems.filter((problem: Problem) => problem.code === "untrusted_signer").length).toBeGreaterThan(
      events().length,
    );
  });
});

describe("a bundle tampered with by hand", () => {
  it("an event's data modified: hash_mismatch at it, the account's next event, every checkpoint covering it, the seal", async () => {
    const alpha = eventsOf("alpha");
    const [target, next] = [alpha[1]!, alpha[2]!];
    const envelope = contentOf(target);
    const altered = lineOf(
      target.seq,
      target.subject,
      JSON.stringify({ ...envelope, data: { ...envelope.data, description: "tampered" } }),
    );
    const { code, problems } = await verifyLines(
      linesOf(original.entries.map((candidate) => (candidate === target ? entry(altered) : candidate))),
      "modified",
    );
    expect(code).toBe(1);
    expect(sortedProblems(problems)).toEqual(
      sortedProblems([
        { seq: target.seq, code: "hash_mismatch" },
        // An event that fails its check does not count: the account's chain goes on from the one before it.
        { seq: next.seq, code: "chain_broken" },
        ...checkpointsCovering(eventIndexAt(target.seq)).map((seq) => ({ seq, code: "checkpoint_digest_mismatch" })),
        { seq: head(), code: "bundle_seal_mismatch" },
      ]),
    );
  });

  it("an event inserted at a free sequence, chained to its account and signed by an attacker's key", async () => {
    const beta = eventsOf("beta");
    // A sequence no line has (a name claim's, left out of the bundle), after beta's first events.
    const taken = new Set(original.entries.map((candidate) => candidate.seq));
    let free = beta[0]!.seq + 1;
    while (taken.has(free)) free += 1;
    const prior = beta.filter((candidate) => candidate.seq < free).at(-1)!;
    expect(beta.some((candidate) => candidate.seq > free)).toBe(true);
    const envelope = contentOf(prior);
    const inserted = entry(
      lineOf(
        free,
        prior.subject,
        signedEnvelope(
          envelope,
          {
            id: "evt_01HZZZZZZZZZZZZZZZZZZZZZZZ",
            type: "ServiceAccountUpdated",
            data: { roles: ["admin"] },
            accountVersion: envelope.accountVersion + 1,
            prevHash: envelope.hash,
          },
          attacker,
        ),
      ),
    );
    const entries = [...original.entries];
    entries.splice(
      entries.findIndex((candidate) => !isStatement(candidate) && candidate.seq > free),
      0,
      inserted,
    );
    const { code, problems } = await verifyLines(linesOf(entries), "inserted");
    expect(code).toBe(1);
    expect(sortedProblems(problems)).toEqual(
      sortedProblems([
        { seq: free, code: "untrusted_signer" },
        ...checkpointsCovering(eventIndexAt(free)).map((seq) => ({ seq, code: "checkpoint_digest_mismatch" })),
        { seq: head(), code: "bundle_seal_mismatch" },
      ]),
    );
    expect(problems.find((problem) => problem.seq === free)?.kid).toBe(attacker.kid);
  });

  it("an event removed from the middle of an account's history: the account's next event, the checkpoints, the seal", async () => {
    const alpha = eventsOf("alpha");
    const removed = alpha[2]!;
    const { code, problems } = await verifyLines(
      linesOf(original.entries.filter((candidate) => candidate !== removed)),
      "removed-middle",
    );
    expect(code).toBe(1);
    expect(sortedProblems(problems)).toEqual(
      sortedProblems([
        { seq: alpha[3]!.seq, code: "chain_broken" },
        ...checkpointsCovering(eventIndexAt(removed.seq)).map((seq) => ({ seq, code: "checkpoint_digest_mismatch" })),
        { seq: head(), code: "bundle_seal_mismatch" },
      ]),
    );
  });

  it("an account's last event removed after the last checkpoint: only the seal shows it", async () => {
    const alpha = eventsOf("alpha");
    const removed = alpha.at(-1)!;
    expect(tail).toContain(removed);
    const { code, problems } = await verifyLines(
      linesOf(original.entries.filter((candidate) => candidate !== removed)),
      "removed-last",
    );
    expect(code).toBe(1);
    expect(problems).toEqual([
      {
        seq: head(),
        code: "bundle_seal_mismatch",
        reason: expect.stringContaining(`the seal counts ${events().length} events, the bundle holds ${events().length - 1}`),
      },
    ]);
  });

  it("two lines swapped: out_of_order at the one that comes too late, and the seal", async () => {
    const [first, second] = [tail[1]!, tail[2]!];
    expect(contentOf(first).accountId).not.toBe(contentOf(second).accountId);
    const entries = original.entries.map((candidate) =>
      candidate === first ? second : candidate === second ? first : candidate,
    );
    const { code, problems } = await verifyLines(linesOf(entries), "reordered");
    expect(code).toBe(1);
    expect(sortedProblems(problems)).toEqual([
      { seq: first.seq, code: "out_of_order" },
      { seq: head(), code: "bundle_seal_mismatch" },
    ]);
  });

  it("an event replaced by a forgery signed by an untrusted key: untrusted_signer naming it, the chain after it, the checkpoints, the seal", async () => {
    const beta = eventsOf("beta");
    const forged = beta[1]!;
    const replacement = entry(
      lineOf(
        forged.seq,
        forged.subject,
        signedEnvelope(contentOf(forged), { data: { ...contentOf(forged).data, forged: true } }, attacker),
      ),
    );
    const { code, problems } = await verifyLines(
      linesOf(original.entries.map((candidate) => (candidate === forged ? replacement : candidate))),
      "forged",
    );
    expect(code).toBe(1);
    expect(sortedProblems(problems)).toEqual(
      sortedProblems([
        { seq: forged.seq, code: "untrusted_signer" },
        { seq: beta[2]!.seq, code: "chain_broken" },
        ...checkpointsCovering(eventIndexAt(forged.seq)).map((seq) => ({ seq, code: "checkpoint_digest_mismatch" })),
        { seq: head(), code: "bundle_seal_mismatch" },
      ]),
    );
    expect(problems.find((problem) => problem.seq === forged.seq)).toMatchObject({
      kid: attacker.kid,
      reason: expect.stringContaining("never enrolled"),
    });
  });

  it("cut off (the tail and the seal dropped): bundle_cut_off naming the last sequence seen", async () => {
    const kept = original.entries.slice(0, -3);
    const { code, problems } = await verifyLines(linesOf(kept, { seal: null }), "cut");
    expect(code).toBe(1);
    expect(problems).toEqual([
      {
        seq: kept.at(-1)!.seq,
        code: "bundle_cut_off",
        reason: expect.stringContaining(`ends after sequence ${kept.at(-1)!.seq} without its seal`),
      },
    ]);
  });

  it("cut off with a new seal that adds up, forged by an attacker: untrusted_signer; under the anchor's id: bad_signature", async () => {
    const kept = original.entries.slice(0, -3);
    const theirs = await verifyLines(linesOf(kept, { seal: forgedSeal(head(), kept, attacker) }), "cut-attacker-seal");
    expect(theirs.code).toBe(1);
    expect(theirs.problems).toEqual([
      { seq: head(), code: "untrusted_signer", reason: expect.stringContaining("never enrolled"), kid: attacker.kid },
    ]);
    const posing = await verifyLines(linesOf(kept, { seal: forgedSeal(head(), kept, attacker, anchor) }), "cut-posing-seal");
    expect(posing.problems).toEqual([{ seq: head(), code: "bad_signature", reason: expect.any(String), kid: anchor }]);
  });

  it("the header's head changed: the seal no longer agrees", async () => {
    const header = JSON.stringify({ ...original.header, head: head() + 5 });
    const { code, problems } = await verifyLines(linesOf(original.entries, { header }), "header-head");
    expect(code).toBe(1);
    expect(problems).toEqual([
      {
        seq: head(),
        code: "bundle_seal_mismatch",
        reason: expect.stringContaining(`the header says head ${head() + 5}, the seal ${head()}`),
      },
    ]);
  });

  it("a key statement dropped: the next statement's chain, the checkpoints that name it, the seal", async () => {
    const [, enrolment, revocation] = statementSeqs;
    const { code, problems, report } = await verifyLines(
      linesOf(original.entries.filter((candidate) => candidate.seq !== enrolment)),
      "statement-dropped",
    );
    expect(code).toBe(1);
    const naming = original.entries
      .filter((candidate) => isCheckpoint(candidate) && contentOf(candidate).keys.seq >= enrolment!)
      .map((candidate) => candidate.seq);
    expect(naming.length).toBeGreaterThan(0);
    expect(sortedProblems(problems)).toEqual(
      sortedProblems([
        { seq: revocation!, code: "chain_broken" },
        ...naming.map((seq) => ({ seq, code: "checkpoint_keys_mismatch" })),
        { seq: head(), code: "bundle_seal_mismatch" },
      ]),
    );
    expect(report.statements).toEqual({ checked: 2, counted: 1 });
  });
});

describe("keyledger audit export and verify --bundle, as commands", () => {
  it("export -o - writes the same bundle to stdout, the summary to stderr", async () => {
    const run = await runCli(["audit", "export", "-o", "-"], { env: withDaemon() });
    expect(run.code).toBe(0);
    const bundle = parseBundle(run.stdout);
    expect(bundle.entries.map((line) => line.raw)).toEqual(original.entries.map((line) => line.raw));
    expect(bundle.sealLine).toBe(original.sealLine);
    expect(run.stderr.trim()).toBe(
      `Wrote stdout: evidence bundle of stream KEYLEDGER up to seq ${head()}, ${events().length} events, ` +
        `${original.seal.checkpoints} checkpoints, 3 key statements, ${Buffer.byteLength(run.stdout).toLocaleString("en-US")} bytes ` +
        `(${(Buffer.byteLength(run.stdout) / 1e6).toFixed(1)} MB); sealed by ${anchor}.`,
    );
  });

  it("export replaces an existing file whole; a missing directory or no login is a usage error (exit 2)", async () => {
    const path = join(work, "replaced.ndjson");
    await writeFile(path, "old content\n", { mode: 0o644 });
    const run = await runCli(["audit", "export", "-o", path], { env: withDaemon() });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Wrote ${path}: evidence bundle of stream KEYLEDGER up to seq ${head()}, `));
    expect(parseBundle(await readFile(path, "utf8")).sealLine).toBe(original.sealLine);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const nowhere = await runCli(["audit", "export", "-o", join(work, "missing", "b.ndjson")], { env: withDaemon() });
    expect(nowhere).toMatchObject({ code: 2, stdout: "" });
    expect(nowhere.stderr).toContain("does not exist");
    const loggedOut = await runCli(["audit", "export", "-o", join(work, "x.ndjson")], { env: { HOME: "/nonexistent" } });
    expect(loggedOut.code).toBe(2);
    expect(loggedOut.stderr).toContain("not logged in");
    expect(await readdir(work)).not.toContain("x.ndjson");
  });

  it("verify --bundle of a file that is not there, or not a file: a sentence, exit 2, never a stack", async () => {
    for (const [path, words] of [
      [join(work, "nope.ndjson"), "no such file"],
      [work, "is not a file"],
    ] as const) {
      const run: CliResult = await runCli(["audit", "verify", "--bundle", path]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(words);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    const bad = await runCli(["audit", "verify", "--bundle", bundlePath, "--anchor", "short"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--anchor must be a signing key id");
  });

  it("shows progress on a terminal, and nothing when piped", async () => {
    const piped = await runCli(["audit", "verify", "--bundle", bundlePath, "--anchor", anchor]);
    expect(piped.stderr).toBe("");
    const screen = await onTerminal(["audit", "verify", "--bundle", bundlePath, "--anchor", anchor], {});
    expect(screen.code).toBe(0);
    expect(screen.text).toContain(`checking bundle: seq `);
    expect(screen.text).toContain(`OK: ${events().length} events checked`);
    const exporting = await onTerminal(["audit", "export", "-o", join(work, "terminal.ndjson")], withDaemon());
    expect(exporting.code).toBe(0);
    expect(exporting.text).toContain("exporting: ");
    expect(exporting.text).toContain("Wrote ");
  });
});

/** Runs keyledger on a pseudo-terminal (util-linux `script`) and answers what the terminal showed. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, text }));
    child.stdin.end();
  });
}
