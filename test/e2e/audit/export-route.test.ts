/**
 * `GET /v1/audit/export` over real HTTP on a real daemon: who may call it, what it answers, the
 * bound it shares with the audit, a client that leaves, a daemon that may not seal, and a payload
 * that is not UTF-8 carried byte for byte.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { Socket } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../../src/audit/index.js";
import { KeyledgerClient } from "../../../src/client/index.js";
import { connectNats } from "../../../src/nats/index.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { holdStreamReads } from "../../helpers/hold-reads.js";
import { client, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;
const keys: Record<"auditor" | "verifier", string> = { auditor: "", verifier: "" };

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  for (const role of ["auditor", "verifier"] as const) {
    const created = await admin.post("/v1/service-accounts", { name: `an-${role}`, roles: [role] });
    expect(created.status).toBe(201);
    keys[role] = created.body.apiKey.key;
  }
  expect((await admin.post("/v1/service-accounts/an-auditor/api-keys/default/rotate", { retainSeconds: 60 })).status).toBe(200);
  keys.auditor = (await admin.post("/v1/service-accounts/an-auditor/api-keys", { name: "second" })).body.key;
  // Once a checkpoint covers every event the daemon appends nothing more by itself: the head stays put.
  await waitUntil(
    async () => (await daemon.store.lastCheckpoint())?.checkpoint?.upToSeq === (await daemon.store.lastEventSequence()),
    10_000,
  );
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const exportUrl = () => `${daemon.url}/v1/audit/export`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A bundle's text as bytes arriving in one piece, for the offline check. */
async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text, "utf8");
}

const lines = (text: string): any[] =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));

describe("GET /v1/audit/export", () => {
  it("gives an auditor the whole bundle: NDJSON, an attachment named after stream and head, header first, seal last", async () => {
    const response = await fetch(exportUrl(), { headers: bearer(keys.auditor) });
    expect(response.status).toBe(200);
    const text = await response.text();
    const [header, ...rest] = lines(text);
    const seal = rest.at(-1).end;
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="keyledger-KEYLEDGER-${header.head}.ndjson"`);
    expect(response.headers.get("x-request-id")).toMatch(/\S/);
    expect(header).toEqual({
      format: "keyledger-evidence",
      version: 1,
      stream: "KEYLEDGER",
      head: await daemon.store.head(),
      anchor: daemon.signer.keyId,
      exportedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(seal).toMatchObject({ head: header.head, signingKeyId: daemon.signer.keyId, signature: expect.any(String) });
    const report = await verifyBundle(bytes(text), { anchor: daemon.signer.keyId });
    expect(report).toMatchObject({ ok: true, problems: [], head: header.head, checked: seal.eventCount });
  });

  it("answers HEAD with the head of that answer and no body", async () => {
    const response = await fetch(exportUrl(), { method: "HEAD", headers: bearer(keys.auditor) });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    expect(await response.text()).toBe("");
  });

  it("refuses a verifier (403), a caller without a credential (401) and a query parameter it does not know (400, naming it)", async () => {
    const verifier = await client(daemon.url, keys.verifier).get("/v1/audit/export");
    expect(verifier.status).toBe(403);
    expect(verifier.body.error.code).toBe("forbidden");
    const nobody = await client(daemon.url).get("/v1/audit/export");
    expect(nobody.status).toBe(401);
    expect(nobody.body.error.code).toBe("unauthenticated");
    const unknown = await admin.get("/v1/audit/export?from=3");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("from");
  });

  it("runs two whole-stream reads at once, exports and audits alike: a third is 503 with Retry-After; the two then finish whole", async () => {
    const hold = holdStreamReads(daemon.store);
    try {
      const first = await fetch(exportUrl(), { headers: bearer(adminKey) });
      const second = await fetch(exportUrl(), { headers: bearer(keys.auditor) });
      expect([first.status, second.status]).toEqual([200, 200]);

      const third = await admin.get("/v1/audit/export");
      expect(third.status).toBe(503);
      expect(third.body.error).toMatchObject({ code: "unavailable", message: expect.stringContaining("already running") });
      expect(third.headers.get("retry-after")).toBe("10");
      const audit = await admin.get("/v1/audit/verify");
      expect(audit.status).toBe(503);
      expect(audit.headers.get("retry-after")).toBe("10");

      hold.release();
      for (const response of [first, second]) {
        const report = await verifyBundle(bytes(await response.text()), { anchor: daemon.signer.keyId });
        expect(report).toMatchObject({ ok: true, problems: [] });
      }
    } finally {
      hold.release();
      hold.restore();
    }
    expect((await admin.get("/v1/audit/export")).status).toBe(200);
    expect((await admin.get("/v1/audit/verify")).status).toBe(200);
  });

  it("stops reading the stream when the client goes away, and logs why it ended", async () => {
    const hold = holdStreamReads(daemon.store);
    try {
      const serverSide = new Promise<Socket>((resolve) => daemon.app.server.once("connection", resolve));
      const { hostname, port } = new URL(daemon.url);
      const request = http.get({ host: hostname, port, path: "/v1/audit/export", headers: bearer(adminKey), agent: false });
      const firstChunk = await new Promise<string>((resolve, reject) => {
        request.once("error", reject);
        request.once("response", (response) => response.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8"))));
      });
      expect(JSON.parse(firstChunk.split("\n")[0]!).format).toBe("keyledger-evidence");
      const socket = await serverSide;
      request.destroy();
      await waitUntil(() => socket.destroyed, 5000, 10);

      hold.release();
      await waitUntil(() => hold.reads[0]?.finished === true, 5000, 10);
      // The read was let go at the first message that made a line (statements and name claims before
      // it make none): the rest of the stream was never read.
      hold.restore();
      let firstLine = 0;
      for await (const message of daemon.store.messages({ fromSeq: 1 }))
        if (message.subject.startsWith("kl.acct.") || message.subject === "kl.checkpoint") {
          firstLine = message.seq;
          break;
        }
      expect(hold.reads[0]!.yielded).toBe(firstLine);
      expect(await daemon.store.head()).toBeGreaterThan(firstLine + 10);
      await waitUntil(() => daemon.logs.some((line) => line.includes('"endReason":"client_closed"')), 5000, 10);
      const ended = JSON.parse(daemon.logs.find((line) => line.includes('"endReason":"client_closed"'))!);
      expect(ended).toMatchObject({ msg: "evidence export ended", lines: expect.any(Number), sealed: false });
    } finally {
      hold.release();
      hold.restore();
    }
  });

  it("from a daemon whose key the ledger does not trust: an unsealed bundle, which the offline check reports as such; at shutdown, an error line", async () => {
    const pending = await startTestDaemon(nats.url, {});
    try {
      expect(pending.trust.trustedNow(pending.signer.keyId)).toBeNull();
      const viaPending = client(pending.url, adminKey);
      await waitUntil(async () => (await viaPending.get("/v1/auth/whoami")).status === 200, 10_000);
      const answer = await fetch(`${pending.url}/v1/audit/export`, { headers: bearer(adminKey) });
      expect(answer.status).toBe(200);
      const text = await answer.text();
      const seal = lines(text).at(-1).end;
      expect(seal).toMatchObject({ signingKeyId: null, signature: null });
      const report = await verifyBundle(bytes(text), { anchor: daemon.signer.keyId });
      expect(report.problems).toEqual([
        { seq: seal.head, code: "bundle_unsealed", reason: expect.stringContaining("not sealed") },
      ]);

      // An export under way when the daemon shuts down ends with an error line instead of a seal.
      const hold = holdStreamReads(pending.store);
      // Through the SDK, which the CLI uses: it hands over the bytes, then throws the daemon's error.
      const underWay = await new KeyledgerClient({ url: pending.url, credential: adminKey }).exportAudit();
      expect(underWay.header.format).toBe("keyledger-evidence");
      const received: Uint8Array[] = [];
      const finished = (async () => {
        for await (const chunk of underWay.chunks()) received.push(chunk);
      })();
      finished.catch(() => undefined); // awaited below

      const stopped = pending.stop();
      await waitUntil(
        async () =>
          fetch(`${pending.url}/readyz`).then(
            async (answer) => answer.status === 503 && (await answer.text()).includes("shutting down"),
            () => true,
          ),
        5000,
        10,
      );
      hold.release();
      await expect(finished).rejects.toMatchObject({
        name: "KeyledgerApiError",
        status: 503,
        message: "the daemon is shutting down; export again",
      });
      expect(underWay.seal).toBeNull();
      expect(lines(Buffer.concat(received).toString("utf8")).at(-1)).toEqual({
        error: { code: "unavailable", message: "the daemon is shutting down; export again", requestId: expect.any(String) },
      });
      await stopped;
      hold.restore();
    } finally {
      await pending.stop();
    }
  });

  it("carries a payload that is not UTF-8 byte for byte (data64): the offline digest still matches the daemon's checkpoints", async () => {
    // An intruder's message on an account subject: not UTF-8, so not a readable event, but in the running digest.
    const garbage = Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3, 0x28]), randomBytes(64), Buffer.from("\n{}")]);
    const nc = await connectNats(nats.url, "intruder");
    let garbageSeq: number;
    try {
      const accountId = `sa_${"0123456789ABCDEFGHJKMNPQRS"}`;
      garbageSeq = (await jetstream(nc).publish(`kl.acct.${accountId}`, garbage)).seq;
    } finally {
      await nc.close();
    }
    expect((await admin.post("/v1/service-accounts", { name: "after-garbage" })).status).toBe(201);
    await waitUntil(
      async () => (await daemon.store.lastCheckpoint())?.checkpoint?.upToSeq === (await daemon.store.lastEventSequence()),
      10_000,
    );
    const checkpoint = (await daemon.store.lastCheckpoint())!.checkpoint!;

    const text = await (await fetch(exportUrl(), { headers: bearer(adminKey) })).text();
    const all = lines(text);
    const line = all.find((candidate) => candidate.seq === garbageSeq);
    expect(line).toEqual({
      seq: garbageSeq,
      subject: expect.stringMatching(/^kl\.acct\./),
      time: expect.any(String),
      data64: expect.any(String),
    });
    expect(Buffer.from(line.data64, "base64").equals(garbage)).toBe(true);

    // The running digest recomputed by hand from the bundle's lines is the daemon's checkpoint's.
    let digest = "0".repeat(64);
    const events = all.filter((candidate) => typeof candidate.subject === "string" && candidate.subject.startsWith("kl.acct."));
    for (const event of events.slice(0, checkpoint.eventCount)) {
      const payload = event.data !== undefined ? Buffer.from(event.data, "utf8") : Buffer.from(event.data64, "base64");
      digest = createHash("sha256").update(digest, "ascii").update(payload).digest("hex");
    }
    expect(digest).toBe(checkpoint.digest);

    const report = await verifyBundle(bytes(text), { anchor: daemon.signer.keyId });
    expect(report.problems).toEqual([
      { seq: garbageSeq, code: "unreadable", reason: expect.stringContaining("not a readable event") },
    ]);
    expect(report.checkpoints.coveredEvents).toBe(checkpoint.eventCount);
  });
});
