import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, waitUntil, type Client } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";
import { CHECKPOINT_SUBJECT } from "../../../src/format/index.js";

let nats: TestNats;
let quiet: TestDaemon;
let admin: Client;

beforeAll(async () => {
  nats = await startTestNats();
  quiet = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "0" });
  admin = client(quiet.url, await quiet.adminKey());
});

afterAll(async () => {
  await quiet?.stop();
  await nats?.stop();
});

describe("GET /v1/audit/checkpoint", () => {
  it("is 404 while no signed checkpoint was passed, then the last one the read model passed, for an auditor or admin only", async () => {
    const none = await admin.get("/v1/audit/checkpoint");
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe("not_found");

    const writer = await startTestDaemon(nats.url, {
      "checkpoint-interval-ms": "100",
      "signing-key-file": `${quiet.dataDir}/signing.key`,
    });
    try {
      await client(writer.url, await quiet.adminKey()).post("/v1/service-accounts", {
        name: "checkpointed",
        roles: ["verifier"],
      });
      await waitUntil(async () => (await admin.get("/v1/audit/checkpoint")).status === 200);
      const answer = await admin.get("/v1/audit/checkpoint");
      expect(Object.keys(answer.body).sort()).toEqual(["eventCount", "hash", "seq", "upToSeq"]);
      const { seq, upToSeq, eventCount, hash } = answer.body;
      expect(upToSeq).toBeLessThan(seq);
      expect(eventCount).toBeGreaterThan(0);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      // It is a checkpoint message of the stream, at that sequence.
      const stored: number[] = [];
      for await (const message of quiet.store.messages({ filter: CHECKPOINT_SUBJECT, fromSeq: seq, toSeq: seq }))
        stored.push(message.seq);
      expect(stored).toEqual([seq]);
    } finally {
      await writer.stop();
    }
    const verifierKey = (await admin.post("/v1/service-accounts", { name: "only-verifies", roles: ["verifier"] })).body.apiKey
      .key;
    expect((await client(quiet.url, verifierKey).get("/v1/audit/checkpoint")).status).toBe(403);
    expect((await client(quiet.url).get("/v1/audit/checkpoint")).status).toBe(401);
  });
});
