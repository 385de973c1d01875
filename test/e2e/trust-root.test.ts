/**
 * The trust root over a ledger's life: a stream written before it (its signers pending, never
 * approved by themselves), a signing key revoked, announcements that are not fingerprints, and a
 * stream that is gone or cut short when a daemon starts.
 */
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { loadConfig } from "../../src/config.js";
import { rebuildReadModel } from "../../src/rebuild.js";
import { SYSTEM_GENESIS } from "../../src/domain/index.js";
import { signerFromSeed, type Signer } from "../../src/signing/index.js";
import { decideTrust, EMPTY_TRUST, sealStatement } from "../../src/trust/index.js";
import { StartRefused } from "../../src/startup-checks.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";
import { publishCopy, readStoredMessages } from "../helpers/stream-copy.js";
import { createAccount, createKey, openStore, runOnStream } from "../integration/support.js";

const running: TestDaemon[] = [];
const servers: TestNats[] = [];
const connections: NatsConnection[] = [];

afterEach(async () => {
  for (const daemon of running.splice(0)) await daemon.stop().catch(() => undefined);
});

afterAll(async () => {
  for (const nc of connections.splice(0)) await nc.close();
  for (const server of servers.splice(0)) await server.stop();
});

async function server(): Promise<{ nats: TestNats; nc: NatsConnection; jsm: JetStreamManager }> {
  const nats = await startTestNats();
  servers.push(nats);
  const nc = await connect({ servers: nats.url, name: "trust-root-test" });
  connections.push(nc);
  return { nats, nc, jsm: await jetstreamManager(nc) };
}

async function daemonOn(url: string, options: { dataDir?: string; signer?: Signer; settings?: Record<string, string> } = {}) {
  const daemon = await startTestDaemon(url, options.settings ?? {}, { dataDir: options.dataDir, signer: options.signer });
  running.push(daemon);
  return daemon;
}

/** The subjects of a keyledger stream written before the trust root: no `kl.keys`. */
const OLD_SUBJECTS = ["kl.acct.*", "kl.name.*", "kl.checkpoint"];

describe("a stream written before the trust root", () => {
  it("makes the upgrading daemon's key the anchor, lists the other signer as pending, and counts its history only once approved", async () => {
    const { nats, nc, jsm } = await server();
    await jsm.streams.add({ name: "KEYLEDGER", subjects: OLD_SUBJECTS, deny_delete: true, deny_purge: true });
    // Two daemons of the old release, each with its own key, both in the old registry bucket.
    const [ours, theirs] = [signerFromSeed(randomBytes(32)), signerFromSeed(randomBytes(32))];
    const kv = await new Kvm(nc).create("keyledger_signing_keys", { history: 1 });
    for (const signer of [ours, theirs]) await kv.put(signer.keyId, Buffer.from(signer.publicKey).toString("base64url"));
    const byOurs = await openStore(nc, "KEYLEDGER", ours);
    const byTheirs = await openStore(nc, "KEYLEDGER", theirs);
    const oursAccount = createAccount("sa_01JQ0000000000000000000001", "written-by-ours");
    const theirsAccount = createAccount("sa_01JQ0000000000000000000002", "written-by-theirs");
    await runOnStream(byOurs, oursAccount);
    await runOnStream(byTheirs, theirsAccount);
    await runOnStream(byTheirs, createKey(theirsAccount.accountId, "deploy"));

    const daemon = await daemonOn(nats.url, { signer: ours });
    const admin = client(daemon.url, await daemon.adminKey());
    const list = (await admin.get("/v1/signing-keys")).body;
    expect(list.anchor).toBe(ours.keyId);
    expect(list.items).toContainEqual(expect.objectContaining({ kid: ours.keyId, status: "trusted", anchor: true }));
    expect(list.items).toContainEqual(expect.objectContaining({ kid: theirs.keyId, status: "pending", legacyEvents: 2 }));
    // Never approved by itself: the other signer's history does not count yet.
    expect((await admin.get("/v1/service-accounts/written-by-ours")).status).toBe(200);
    expect((await admin.get("/v1/service-accounts/written-by-theirs")).status).toBe(404);
    const before = (await admin.get("/v1/audit/verify")).body;
    expect(before.problems.filter((problem: { code: string }) => problem.code === "untrusted_signer")).toHaveLength(2);

    const approved = await admin.post(`/v1/signing-keys/${theirs.keyId}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: "trusted", legacyHistory: true });
    // The read model passed those events over; it is built again at the next start.
    await daemon.stop();
    running.splice(running.indexOf(daemon), 1);
    const again = await daemonOn(nats.url, { signer: ours, dataDir: daemon.dataDir });
    const adminAgain = client(again.url, await again.adminKey());
    expect((await adminAgain.get("/v1/service-accounts/written-by-theirs")).status).toBe(200);
    expect((await adminAgain.get("/v1/audit/verify")).body).toMatchObject({ ok: true, anchor: ours.keyId });
    expect(again.logs.join("")).toContain("rebuilding it from the stream");
  });
});

describe("a revoked signing key", () => {
  it("counts up to its revocation and never after: the daemon holding it stops signing, its tokens die, what it signs later is refused", async () => {
    const { nats } = await server();
    const a = await daemonOn(nats.url);
    const b = await daemonOn(nats.url);
    const adminKey = await a.adminKey();
    const adminA = client(a.url, adminKey);
    expect((await adminA.post(`/v1/signing-keys/${b.signer.keyId}/approve`)).status).toBe(200);
    await waitUntil(() => b.trust.trustedNow(b.signer.keyId) !== null);
    const adminB = client(b.url, adminKey);
    expect((await adminB.post("/v1/service-accounts", { name: "before-revocation" })).status).toBe(201);
    const token = (await adminB.post("/v1/auth/token")).body.accessToken as string;
    expect((await client(a.url, token).get("/v1/auth/whoami")).status).toBe(200);

    // A key cannot revoke itself (b's daemon is asked to revoke b's key) ...
    const self = await adminB.post(`/v1/signing-keys/${b.signer.keyId}/revoke`, { reason: "leaked" });
    expect(self.status).toBe(409);
    expect(self.body.error.message).toContain("cannot revoke itself");
    // ... another trusted key signs it.
    const revoked = await adminA.post(`/v1/signing-keys/${b.signer.keyId}/revoke`, { reason: "leaked" });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toMatchObject({ status: "revoked", revokedBy: a.signer.keyId, reason: "leaked" });
    await waitUntil(() => b.trust.trustedNow(b.signer.keyId) === null);

    expect((await client(a.url, token).get("/v1/auth/whoami")).status).toBe(401);
    expect((await client(a.url).get("/.well-known/jwks.json")).body.keys.map((key: { kid: string }) => key.kid)).toEqual([
      a.signer.keyId,
    ]);
    expect((await adminB.post("/v1/service-accounts", { name: "after-revocation" })).status).toBe(503);
    expect((await adminA.get("/v1/service-accounts/before-revocation")).status).toBe(200);
    // Whoever holds b's private key now signs in vain: appended straight to the stream, it is refused.
    const stolen = await openStore(a.store.connection, "KEYLEDGER", b.signer);
    const [appended] = await runOnStream(stolen, createAccount("sa_01JQ0000000000000000000003", "signed-with-stolen-key"));
    await waitUntil(() => a.projector.position >= appended!.seq);
    expect((await adminA.get("/v1/service-accounts/signed-with-stolen-key")).status).toBe(404);
    const report = (await adminA.get("/v1/audit/verify")).body;
    expect(report.problems).toEqual([
      expect.objectContaining({ seq: appended!.seq, code: "untrusted_signer", kid: b.signer.keyId }),
    ]);
    expect(report.problems[0].reason).toContain("revoked");
    // Revoked for good: it is never approved again.
    expect((await adminA.post(`/v1/signing-keys/${b.signer.keyId}/approve`)).status).toBe(409);
  });
});

describe("daemons sharing one key", () => {
  it("starting together on an empty stream agree on one genesis, and on every statement after it", async () => {
    const { nats } = await server();
    const shared = signerFromSeed(randomBytes(32));
    const [one, two] = await Promise.all([daemonOn(nats.url, { signer: shared }), daemonOn(nats.url, { signer: shared })]);
    expect(one.trust.trust.version).toBe(1);
    expect(two.trust.trust.lastHash).toBe(one.trust.trust.lastHash);
    const adminKey = await one.adminKey().catch(() => two.adminKey());
    const other = signerFromSeed(randomBytes(32));
    const publicKey = Buffer.from(other.publicKey).toString("base64url");
    expect((await client(one.url, adminKey).post(`/v1/signing-keys/${other.keyId}/approve`, { publicKey })).status).toBe(200);
    await waitUntil(() => two.trust.trustedNow(other.keyId) !== null);
    expect((await client(two.url, adminKey).post(`/v1/signing-keys/${other.keyId}/revoke`, { reason: "test" })).status).toBe(200);
    await waitUntil(() => one.trust.trustedNow(other.keyId) === null);
    expect(one.trust.trust.lastHash).toBe(two.trust.trust.lastHash);
    const report = (await client(one.url, adminKey).get("/v1/audit/verify")).body;
    expect(report).toMatchObject({ ok: true, statements: { checked: 3, counted: 3 } });
  });
});

describe("a genesis an intruder raced ahead on a new stream", () => {
  it("makes an unpinned daemon pending, and does not stop a daemon pinned to its own key from enrolling after it", async () => {
    const { nats, nc, jsm } = await server();
    await jsm.streams.add({
      name: "KEYLEDGER",
      subjects: ["kl.acct.*", "kl.name.*", "kl.checkpoint", "kl.keys"],
      deny_delete: true,
      deny_purge: true,
    });
    const intruder = signerFromSeed(randomBytes(32));
    // The intruder's genesis, sealed by the project's helper here (this test is about the start-up rule, not the format).
    const facts = decideTrust(
      {
        type: "EnrolGenesis",
        data: { kid: intruder.keyId, publicKey: Buffer.from(intruder.publicKey).toString("base64url") },
        metadata: { now: new Date().toISOString(), actor: SYSTEM_GENESIS },
      },
      EMPTY_TRUST,
    );
    await jetstream(nc).publish(
      "kl.keys",
      JSON.stringify(sealStatement(facts[0]!, EMPTY_TRUST, { id: "stm_x", actor: SYSTEM_GENESIS, requestId: null }, intruder)),
    );

    const unpinned = await daemonOn(nats.url);
    expect(unpinned.trust.trust.anchor).toBe(intruder.keyId);
    expect(unpinned.trust.trustedNow(unpinned.signer.keyId)).toBeNull();
    await unpinned.stop();
    running.splice(running.indexOf(unpinned), 1);

    const ours = signerFromSeed(randomBytes(32));
    const pinned = await daemonOn(nats.url, { signer: ours, settings: { "trust-anchor": ours.keyId } });
    expect(pinned.trust.trust.anchor).toBe(ours.keyId);
    const report = (await client(pinned.url, await pinned.adminKey()).get("/v1/audit/verify")).body;
    expect(report.anchor).toBe(ours.keyId);
    expect(report.problems).toEqual([expect.objectContaining({ seq: 1, code: "anchor_mismatch", kid: intruder.keyId })]);
  });
});

describe("a stream rewritten from a copy that leaves out a revocation", () => {
  it("is refused by a daemon whose read model passed the revocation, and the audit names the checkpoint that saw it", async () => {
    const { nats, nc, jsm } = await server();
    const daemon = await daemonOn(nats.url, { settings: { "checkpoint-interval-ms": "100" } });
    const admin = client(daemon.url, await daemon.adminKey());
    const stolen = signerFromSeed(randomBytes(32));
    expect(
      (
        await admin.post(`/v1/signing-keys/${stolen.keyId}/approve`, {
          publicKey: Buffer.from(stolen.publicKey).toString("base64url"),
        })
      ).status,
    ).toBe(200);
    const revoked = await admin.post(`/v1/signing-keys/${stolen.keyId}/revoke`, { reason: "stolen" });
    const revocationSeq = revoked.body.revokedAtSeq as number;
    // An event and a checkpoint after the revocation: the checkpoint names the revocation as the last statement.
    expect((await admin.post("/v1/service-accounts", { name: "after-revocation" })).status).toBe(201);
    await waitUntil(
      async () => {
        // A checkpoint written after its writer passed the revocation (one written a moment
        // before may still name the enrolment as its last statement).
        const last = await jsm.streams.getMessage("KEYLEDGER", { last_by_subj: "kl.checkpoint" }).catch(() => null);
        if (last === null || last.seq <= revocationSeq) return false;
        const keys = (JSON.parse(new TextDecoder().decode(last.data)) as { keys?: { seq: number } | null }).keys;
        return keys?.seq === revocationSeq;
      },
      10_000,
      50,
    );
    await daemon.stop();
    running.splice(running.indexOf(daemon), 1);

    // The intruder deletes the stream and publishes it again without the revocation, padded back to its length.
    const messages = await readStoredMessages(nc, "KEYLEDGER");
    await jsm.streams.delete("KEYLEDGER");
    await jsm.streams.add({
      name: "KEYLEDGER",
      subjects: ["kl.acct.*", "kl.name.*", "kl.checkpoint", "kl.keys"],
      deny_delete: true,
      deny_purge: true,
    });
    const withoutRevocation = messages.filter((message) => message.seq !== revocationSeq);
    await publishCopy(nc, withoutRevocation);
    await publishCopy(nc, [{ seq: 0, subject: "kl.name.00", data: new TextEncoder().encode("{}"), headers: [] }]);

    const error = await daemonOn(nats.url, { dataDir: daemon.dataDir }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StartRefused);
    expect((error as Error).message).toContain("no longer holds the signing key statement version 3");
    // A daemon that never saw it (a new data directory) starts, and its audit shows the gap.
    const fresh = await daemonOn(nats.url);
    const report = (await client(fresh.url, await daemon.adminKey()).get("/v1/audit/verify")).body;
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.objectContaining({ code: "checkpoint_keys_mismatch" }));
  });
});

describe("announcements in the signing-key bucket", () => {
  it("count only under the key's own fingerprint, are logged otherwise, and are forgotten when deleted", async () => {
    const { nats, nc } = await server();
    const daemon = await daemonOn(nats.url);
    const admin = client(daemon.url, await daemon.adminKey());
    const kv = await new Kvm(nc).open("keyledger_signing_keys");
    const stranger = signerFromSeed(randomBytes(32));
    const publicKey = Buffer.from(stranger.publicKey).toString("base64url");
    await kv.put("AAAAAAAAAAAAAAAA", publicKey);
    await kv.put(stranger.keyId, publicKey);
    await waitUntil(async () =>
      (await admin.get("/v1/signing-keys")).body.items.some((key: { kid: string }) => key.kid === stranger.keyId),
    );
    const kids = (await admin.get("/v1/signing-keys")).body.items.map((key: { kid: string }) => key.kid);
    expect(kids).not.toContain("AAAAAAAAAAAAAAAA");
    expect(daemon.logs.join("")).toContain("ignoring a signing key announcement whose id is not the fingerprint of its key");
    await kv.delete(stranger.keyId);
    await waitUntil(
      async () => !(await admin.get("/v1/signing-keys")).body.items.some((key: { kid: string }) => key.kid === stranger.keyId),
    );
    // Approving a key nobody announced needs its public key, which must match the id.
    expect((await admin.post(`/v1/signing-keys/${stranger.keyId}/approve`)).status).toBe(404);
    const wrong = await admin.post(`/v1/signing-keys/${stranger.keyId}/approve`, {
      publicKey: Buffer.from(daemon.signer.publicKey).toString("base64url"),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toContain("publicKey");
  });
});

describe("a daemon starting on a stream that was lost", () => {
  async function builtLedger() {
    const { nats, jsm, nc } = await server();
    const first = await daemonOn(nats.url);
    const admin = client(first.url, await first.adminKey());
    for (const name of ["one", "two", "three"]) expect((await admin.post("/v1/service-accounts", { name })).status).toBe(201);
    await first.stop();
    running.splice(running.indexOf(first), 1);
    return { nats, jsm, nc, dataDir: first.dataDir, anchor: first.signer.keyId };
  }

  const refusal = async (url: string, dataDir: string): Promise<StartRefused> => {
    const error = await daemonOn(url, { dataDir }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StartRefused);
    return error as StartRefused;
  };

  it("refuses to start when the stream is gone, and creates no empty one", async () => {
    const { nats, jsm, dataDir } = await builtLedger();
    await jsm.streams.delete("KEYLEDGER");
    const error = await refusal(nats.url, dataDir);
    expect(error.message).toContain("missing");
    expect(error.message).toContain("Restore the stream");
    await expect(jsm.streams.info("KEYLEDGER")).rejects.toThrow(/not found/);
  });

  it("refuses to start on a stream cut short, until the read model is rebuilt on purpose", async () => {
    const { nats, jsm, nc, dataDir } = await builtLedger();
    const messages = await readStoredMessages(nc, "KEYLEDGER");
    await jsm.streams.delete("KEYLEDGER");
    await jsm.streams.add({
      name: "KEYLEDGER",
      subjects: ["kl.acct.*", "kl.name.*", "kl.checkpoint", "kl.keys"],
      deny_delete: true,
      deny_purge: true,
    });
    await publishCopy(nc, messages.slice(0, messages.length - 3));
    const error = await refusal(nats.url, dataDir);
    expect(error.message).toContain("behind what the read model");
    expect(error.message).toContain("keyledger projections rebuild");
    const config = loadConfig({ "data-dir": dataDir, "nats-url": nats.url, "log-level": "silent" }, {});
    await rebuildReadModel(config, { logger: createLogger("silent") });
    const daemon = await daemonOn(nats.url, { dataDir });
    expect((await client(daemon.url).get("/readyz")).status).toBe(200);
  });

  it("refuses a stream that belongs to another ledger (another trust anchor than the one pinned)", async () => {
    const { nats, jsm, dataDir, anchor } = await builtLedger();
    expect((await readFile(join(dataDir, "trust-anchor"), "utf8")).trim()).toBe(anchor);
    await jsm.streams.delete("KEYLEDGER");
    // Another daemon makes a new ledger on the same server, with its own anchor.
    const stranger = await daemonOn(nats.url);
    await stranger.stop();
    running.splice(running.indexOf(stranger), 1);
    // Even with its read model gone, the data directory remembers which ledger it belongs to.
    await rm(join(dataDir, "readmodel"), { recursive: true, force: true });
    const error = await refusal(nats.url, dataDir);
    expect(error.message).toContain(`not the pinned anchor ${anchor}`);
    expect(error.message).toContain(stranger.signer.keyId);
  });
});
