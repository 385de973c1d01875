/**
 * The attack of issue 12, done exactly as an intruder with write access to NATS would do it, from
 * the documented formats alone: its own canonical JSON, SHA-256 and Ed25519 (node:crypto), its own
 * NATS publishes and KV puts — nothing of the project's sealing or signing code. The daemon must
 * trust only keys its ledger enrolled, whatever the KV bucket `keyledger_signing_keys` says.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, sleep, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

/** Canonical JSON as the README defines it: members sorted by UTF-16 code unit, no whitespace. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .filter((key) => record[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

interface Intruder {
  readonly privateKey: KeyObject;
  readonly raw: Buffer;
  /** Its key id as the docs define one: 16 base64url characters of SHA-256 of the raw key. */
  readonly kid: string;
}

function intruderKey(): Intruder {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  return { privateKey, raw, kid: createHash("sha256").update(raw).digest("base64url").slice(0, 16) };
}

/** Seals anything as the envelope format says: hash and signature over the canonical JSON of the rest. */
function seal(unsigned: Record<string, unknown>, key: KeyObject): Record<string, unknown> {
  const bytes = Buffer.from(canonical(unsigned), "utf8");
  return {
    ...unsigned,
    hash: createHash("sha256").update(bytes).digest("hex"),
    signature: sign(null, bytes, key).toString("base64url"),
  };
}

const KEY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const randomId = (): string => Array.from({ length: 26 }, () => KEY_ALPHABET[Math.floor(Math.random() * 32)]).join("");

let nats: TestNats;
let daemon: TestDaemon;
let adminKey: string;
let admin: Client;
let nc: NatsConnection;
let adminId: string;
const intruder = intruderKey();
/** Every backdoor key published by the tests below, with the stream sequence of its forged event. */
const backdoors: Array<{ key: string; seq: number; accountId: string; name: string }> = [];

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  adminId = (await admin.get("/v1/auth/whoami")).body.serviceAccount.id;
  nc = await connect({ servers: nats.url, name: "intruder" });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await daemon?.stop();
  await nats?.stop();
});

/**
 * The admin account's last genuine event (signed by the daemon's key, the one in JWKS), read straight
 * from the stream as the intruder can: what a forged event must chain to for the chain to hold.
 */
async function lastGenuineEvent(accountId: string): Promise<{ seq: number; envelope: Record<string, unknown> }> {
  const jsm = await jetstreamManager(nc);
  const jwk = (await client(daemon.url).get("/.well-known/jwks.json")).body.keys[0] as { kid: string; x: string };
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" });
  let seq = (await jsm.streams.getMessage("KEYLEDGER", { last_by_subj: `kl.acct.${accountId}` }))!.seq;
  for (; seq > 0; seq--) {
    const message = await jsm.streams.getMessage("KEYLEDGER", { seq }).catch(() => null);
    if (message === null || message.subject !== `kl.acct.${accountId}`) continue;
    const { hash: _hash, signature, ...unsigned } = JSON.parse(message.string()) as Record<string, unknown>;
    if (unsigned.signingKeyId !== jwk.kid) continue;
    if (verify(null, Buffer.from(canonical(unsigned)), publicKey, Buffer.from(signature as string, "base64url")))
      return { seq, envelope: JSON.parse(message.string()) as Record<string, unknown> };
  }
  throw new Error("no genuine admin event");
}

/**
 * A backdoor API key for an admin account (by default `admin` itself), as an ApiKeyCreated chained to
 * that account's last genuine event.
 */
async function backdoor(signer: Intruder, signingKeyId = signer.kid, accountId = adminId): Promise<{ key: string; seq: number }> {
  const { envelope: last } = await lastGenuineEvent(accountId);
  const keyId = randomId();
  const key = `kl_${keyId}_${Buffer.alloc(32, 7).toString("base64url")}`;
  const event = seal(
    {
      id: `evt_${randomId()}`,
      type: "ApiKeyCreated",
      schemaVersion: 1,
      accountId,
      occurredAt: new Date().toISOString(),
      actor: { kind: "system", reason: "bootstrap" },
      requestId: null,
      data: {
        keyId: `key_${keyId}`,
        name: `backdoor-${keyId.slice(0, 6).toLowerCase()}`,
        description: "",
        expiresAt: null,
        secretHash: `sha256:${createHash("sha256").update(key).digest("hex")}`,
        hint: "kl_…",
      },
      accountVersion: (last.accountVersion as number) + 1,
      prevHash: last.hash,
      signingKeyId,
    },
    signer.privateKey,
  );
  const ack = await jetstream(nc).publish(`kl.acct.${accountId}`, JSON.stringify(event));
  backdoors.push({ key, seq: ack.seq, accountId, name: (event.data as { name: string }).name });
  return { key, seq: ack.seq };
}

const announce = async (kid: string, raw: Buffer): Promise<void> => {
  const kv = await new Kvm(nc).open("keyledger_signing_keys");
  await kv.put(kid, raw.toString("base64url"));
};

const auditReport = async (): Promise<{
  ok: boolean;
  anchor: string;
  problems: Array<{ seq: number; code: string; kid?: string }>;
}> => (await admin.get("/v1/audit/verify")).body;

describe("an intruder with write access to NATS", () => {
  it("registers its own key in the KV bucket and publishes a backdoor key for admin: refused, reported, kept out of JWKS", async () => {
    await announce(intruder.kid, intruder.raw);
    const forged = await backdoor(intruder);
    await waitUntil(() => daemon.projector.position >= forged.seq);

    expect((await client(daemon.url, forged.key).get("/v1/auth/whoami")).status).toBe(401);
    expect((await admin.post("/v1/auth/verify", { key: forged.key })).body).toEqual({ valid: false, code: "not_found" });
    const report = await auditReport();
    expect(report.ok).toBe(false);
    expect(report.anchor).toBe(daemon.signer.keyId);
    expect(report.problems).toContainEqual(
      expect.objectContaining({ seq: forged.seq, code: "untrusted_signer", kid: intruder.kid }),
    );
    const jwks = (await client(daemon.url).get("/.well-known/jwks.json")).body;
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toEqual([daemon.signer.keyId]);
    // The announcement makes it only a pending key, never a trusted one.
    const listed = (await admin.get("/v1/signing-keys")).body.items;
    expect(listed).toContainEqual(expect.objectContaining({ kid: intruder.kid, status: "pending" }));
  });

  it("squats the daemon's own key id in the KV bucket: legitimate tokens keep working, forged ones do not, the audit is unchanged", async () => {
    const before = await auditReport();
    const token = (await admin.post("/v1/auth/token")).body.accessToken as string;
    await announce(daemon.signer.keyId, intruder.raw);
    await sleep(300); // the daemon follows the bucket

    expect((await client(daemon.url, token).get("/v1/auth/whoami")).status).toBe(200);
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
    const head = `${Buffer.from(JSON.stringify({ alg: "EdDSA", typ: "JWT", kid: daemon.signer.keyId })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ ...claims, jti: "tok_forged" }),
    ).toString("base64url")}`;
    const forgedToken = `${head}.${sign(null, Buffer.from(head), intruder.privateKey).toString("base64url")}`;
    expect((await client(daemon.url, forgedToken).get("/v1/auth/whoami")).status).toBe(401);

    // A backdoor event claiming the daemon's key id (signed by the intruder) is refused as forged.
    const forged = await backdoor(intruder, daemon.signer.keyId);
    await waitUntil(() => daemon.projector.position >= forged.seq);
    expect((await client(daemon.url, forged.key).get("/v1/auth/whoami")).status).toBe(401);
    const after = await auditReport();
    const newProblems = after.problems.filter((problem) => !before.problems.some((old) => old.seq === problem.seq));
    expect(newProblems).toEqual([expect.objectContaining({ seq: forged.seq, code: "bad_signature" })]);
    expect((await client(daemon.url).get("/.well-known/jwks.json")).body.keys).toEqual([
      expect.objectContaining({ kid: daemon.signer.keyId, x: Buffer.from(daemon.signer.publicKey).toString("base64url") }),
    ]);
  });

  it("enrols its own key with a statement of its own on kl.keys: the statement does not count, nor what the key signs", async () => {
    // On a new stream the genesis is the first message.
    const genesis = await (await jetstreamManager(nc)).streams.getMessage("KEYLEDGER", { seq: 1 });
    expect(genesis!.subject).toBe("kl.keys");
    const first = JSON.parse(genesis!.string()) as { hash: string; data: { kid: string } };
    expect(first.data.kid).toBe(daemon.signer.keyId);
    const statement = seal(
      {
        id: `stm_${randomId()}`,
        type: "SigningKeyEnrolled",
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        actor: { kind: "system", reason: "genesis" },
        requestId: null,
        data: { kid: intruder.kid, publicKey: intruder.raw.toString("base64url"), role: "signer" },
        version: 2,
        prevHash: first.hash,
        signingKeyId: intruder.kid,
      },
      intruder.privateKey,
    );
    const enrolment = (await jetstream(nc).publish("kl.keys", JSON.stringify(statement))).seq;
    const victim = (await admin.post("/v1/service-accounts", { name: "second-admin", roles: ["admin"] })).body.serviceAccount.id;
    const forged = await backdoor(intruder, intruder.kid, victim);
    await waitUntil(() => daemon.projector.position >= forged.seq);

    expect((await client(daemon.url, forged.key).get("/v1/auth/whoami")).status).toBe(401);
    expect((await client(daemon.url).get("/.well-known/jwks.json")).body.keys.map((key: { kid: string }) => key.kid)).toEqual([
      daemon.signer.keyId,
    ]);
    const report = await auditReport();
    expect(report.problems).toContainEqual(
      expect.objectContaining({ seq: enrolment, code: "untrusted_signer", kid: intruder.kid }),
    );
    expect(report.problems).toContainEqual(
      expect.objectContaining({ seq: forged.seq, code: "untrusted_signer", kid: intruder.kid }),
    );
    // The real admin can still approve keys: the forged statement did not take the chain's next place.
    const other = intruderKey();
    const approved = await admin.post(`/v1/signing-keys/${other.kid}/approve`, { publicKey: other.raw.toString("base64url") });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: "trusted", enrolledBy: daemon.signer.keyId });
  });

  it("appends a checkpoint of its own: reported, and the daemons' checkpoints go on chaining to the last authentic one", async () => {
    const last = await (await jetstreamManager(nc)).streams.getMessage("KEYLEDGER", { last_by_subj: "kl.checkpoint" });
    const previous = JSON.parse(last!.string()) as { hash: string; eventCount: number; digest: string; upToSeq: number };
    const forged = seal(
      {
        type: "StreamCheckpoint",
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        upToSeq: previous.upToSeq,
        eventCount: previous.eventCount + 1,
        digest: "f".repeat(64),
        prevHash: previous.hash,
        signingKeyId: intruder.kid,
      },
      intruder.privateKey,
    );
    const seq = (await jetstream(nc).publish("kl.checkpoint", JSON.stringify(forged))).seq;
    // A real change, then a real checkpoint after the forged one.
    expect((await admin.post("/v1/service-accounts", { name: "after-forged-checkpoint" })).status).toBe(201);
    await waitUntil(
      async () => {
        const now = await (await jetstreamManager(nc)).streams.getMessage("KEYLEDGER", { last_by_subj: "kl.checkpoint" });
        return now!.seq > seq;
      },
      10_000,
      100,
    );
    const report = await auditReport();
    const checkpointProblems = report.problems.filter((problem) => problem.code.startsWith("checkpoint_") || problem.seq === seq);
    expect(checkpointProblems).toEqual([expect.objectContaining({ seq, code: "untrusted_signer", kid: intruder.kid })]);
  });

  it("publishes messages that read as JSON but have no canonical form, or members of the wrong type: each is passed over, nothing wedges", async () => {
    const js = jetstream(nc);
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const poison = [
      [
        "kl.keys",
        '{"id":"s","type":"SigningKeyRevoked","schemaVersion":1,"occurredAt":"x","actor":{"n":1e400},"requestId":null,"data":{"kid":"k","reason":"r"},"version":1,"prevHash":null,"signingKeyId":"k","hash":"h","signature":"s"}',
      ],
      ["kl.keys", deep],
      [`kl.acct.${adminId}`, '{"schemaVersion":1,"data":{"n":1e400}}'],
      [`kl.acct.${adminId}`, '{"schemaVersion":1,"signingKeyId":{"toString":1},"accountId":{"toString":1}}'],
      [`kl.acct.${adminId}`, deep],
      ["kl.checkpoint", '{"type":"StreamCheckpoint","schemaVersion":2,"keys":{"seq":1e400},"upToSeq":1}'],
    ] as const;
    const seqs: number[] = [];
    for (const [subject, body] of poison) seqs.push((await js.publish(subject, body)).seq);
    // The next real change is applied, on this daemon, after all of them.
    const after = await admin.post("/v1/service-accounts", { name: "after-the-poison" });
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    const report = await auditReport();
    for (const seq of seqs) expect(report.problems.some((problem) => problem.seq === seq)).toBe(true);
    expect(
      report.problems.filter((problem) => seqs.includes(problem.seq)).every((problem) => problem.code === "unreadable"),
    ).toBe(true);
    // A restart reads the key statements again, poison included, and starts.
    await daemon.stop();
    daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" }, { dataDir: daemon.dataDir });
    admin = client(daemon.url, adminKey);
    expect((await admin.get("/v1/service-accounts/after-the-poison")).status).toBe(200);
  });

  it("appends a forged copy with a made-up source sequence to the revocation feed: revocations keep reaching it", async () => {
    const feed = jetstream(nc);
    const forgedHeaders = headers();
    forgedHeaders.set("Kl-Source-Seq", String(Number.MAX_SAFE_INTEGER));
    await feed.publish(`kl.revoked.${adminId}.ServiceAccountDeactivated`, "{}", { headers: forgedHeaders });
    const victim = (await admin.post("/v1/service-accounts", { name: "revoked-after-forged-feed" })).body.serviceAccount
      .id as string;
    expect((await admin.patch("/v1/service-accounts/revoked-after-forged-feed", { active: false })).status).toBe(200);
    const jsm = await jetstreamManager(nc);
    await waitUntil(
      async () => {
        const copy = await jsm.streams
          .getMessage("KEYLEDGER_REVOCATIONS", { last_by_subj: `kl.revoked.${victim}.ServiceAccountDeactivated` })
          .catch(() => null);
        return copy !== null;
      },
      10_000,
      50,
    );
    expect(daemon.logs.join("")).toContain("the revocation feed holds a message that is no copy of an event");

    // Takes the message ids the relay will use for the next events ahead of time: the copies land anyway.
    const head = (await jsm.streams.info("KEYLEDGER")).state.last_seq;
    for (let seq = head + 1; seq <= head + 6; seq++)
      await feed.publish(`kl.revoked.${adminId}.ApiKeyDeleted`, "{}", { msgID: `revocation:${seq}` });
    expect((await admin.patch("/v1/service-accounts/revoked-after-forged-feed", { active: true })).status).toBe(200);
    expect((await admin.patch("/v1/service-accounts/revoked-after-forged-feed", { active: false })).status).toBe(200);
    await waitUntil(
      async () => {
        const copies: string[] = [];
        const info = await jsm.streams.info("KEYLEDGER_REVOCATIONS");
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const copy = await jsm.streams.getMessage("KEYLEDGER_REVOCATIONS", { seq }).catch(() => null);
          if (copy?.subject === `kl.revoked.${victim}.ServiceAccountDeactivated`) copies.push(copy.string());
        }
        return copies.length === 2;
      },
      10_000,
      100,
    );
  });

  it("changes nothing across a restart: trust is read from the ledger again, not from the bucket", async () => {
    const victim = (await admin.post("/v1/service-accounts", { name: "third-admin", roles: ["admin"] })).body.serviceAccount.id;
    const forged = await backdoor(intruder, intruder.kid, victim);
    await daemon.stop();
    daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" }, { dataDir: daemon.dataDir });
    admin = client(daemon.url, adminKey);
    await waitUntil(() => daemon.projector.position >= forged.seq);
    expect((await client(daemon.url, forged.key).get("/v1/auth/whoami")).status).toBe(401);
    expect((await client(daemon.url).get("/.well-known/jwks.json")).body.keys.map((key: { kid: string }) => key.kid)).toContain(
      daemon.signer.keyId,
    );
    expect(
      (await client(daemon.url).get("/.well-known/jwks.json")).body.keys.map((key: { kid: string }) => key.kid),
    ).not.toContain(intruder.kid);
  });

  it("leaves no trace in a read model rebuilt from the stream, nor in the past that time travel shows", async () => {
    expect(backdoors.length).toBeGreaterThanOrEqual(3);
    await daemon.stop();
    const rebuilt = await runCli(["projections", "rebuild", "--data-dir", daemon.dataDir, "--nats-url", nats.url, "-o", "json"], {
      env: { PATH: process.env.PATH },
      timeoutMs: 60_000,
    });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const skipped = (JSON.parse(rebuilt.stdout) as { skipped: Array<{ seq: number }> }).skipped.map((entry) => entry.seq);
    for (const { seq } of backdoors) expect(skipped).toContain(seq);

    daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" }, { dataDir: daemon.dataDir });
    admin = client(daemon.url, adminKey);
    const now = new Date().toISOString();
    for (const { key, accountId, name } of backdoors) {
      expect((await client(daemon.url, key).get("/v1/auth/whoami")).status).toBe(401);
      const past = await admin.get(`/v1/service-accounts/${accountId}/api-keys?asOf=${encodeURIComponent(now)}`);
      expect(past.status).toBe(200);
      expect(past.body.items.map((item: { name: string }) => item.name)).not.toContain(name);
    }
  });
});
