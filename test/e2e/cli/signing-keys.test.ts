import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signerFromSeed } from "../../../src/signing/index.js";
import { runCli, type CliResult } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { waitUntil } from "../../helpers/http.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let a: TestDaemon;
let b: TestDaemon;
let adminKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  a = await startTestDaemon(nats.url);
  b = await startTestDaemon(nats.url); // its own key: pending
  adminKey = await a.adminKey();
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await nats?.stop();
});

const cli = (...args: string[]): Promise<CliResult> =>
  runCli(args, { env: { PATH: process.env.PATH, HOME: "/nonexistent", KEYLEDGER_URL: a.url, KEYLEDGER_API_KEY: adminKey } });

describe("keyledger signing-keys", () => {
  it("lists the anchor, and a pending daemon with the command that approves it", async () => {
    await waitUntil(async () => (await cli("signing-keys", "list")).stdout.includes(b.signer.keyId));
    const listed = await cli("signing-keys", "list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`Trust anchor: ${a.signer.keyId}`);
    expect(listed.stdout).toMatch(new RegExp(`${a.signer.keyId} \\(anchor\\)\\s+trusted`));
    expect(listed.stdout).toMatch(new RegExp(`${b.signer.keyId}\\s+pending`));
    expect(listed.stdout).toContain("keyledger signing-keys approve KID");
    const json = JSON.parse((await cli("signing-keys", "list", "-o", "json")).stdout);
    expect(json.anchor).toBe(a.signer.keyId);
  });

  it("approves the pending daemon, which then signs", async () => {
    const approved = await cli("signing-keys", "approve", b.signer.keyId);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`Signing key ${b.signer.keyId} is trusted from sequence \\d+ on`));
    await waitUntil(() => b.trust.trustedNow(b.signer.keyId) !== null);
  });

  it("approves a key nobody announced only with its public key, and refuses a bad key id locally (exit 2)", async () => {
    const offline = signerFromSeed(randomBytes(32));
    const missing = await cli("signing-keys", "approve", offline.keyId);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no daemon announced it");
    const withKey = await cli(
      "signing-keys",
      "approve",
      offline.keyId,
      "--public-key",
      Buffer.from(offline.publicKey).toString("base64url"),
    );
    expect(withKey.code, withKey.stderr).toBe(0);
    const bad = await cli("signing-keys", "approve", "not-a-key-id");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("is not a signing key id");
  });

  it("takes a key id that begins with '-' (one in 64 do), even '-V', as the key id, not as options", async () => {
    // `-V` is also commander's --version: the hardest case of them.
    let dashed = signerFromSeed(randomBytes(32));
    while (!dashed.keyId.startsWith("-V")) dashed = signerFromSeed(randomBytes(32));
    const publicKey = Buffer.from(dashed.publicKey).toString("base64url");
    const approved = await cli("signing-keys", "approve", dashed.keyId, "--public-key", publicKey);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`Signing key ${dashed.keyId} is trusted`);
    const revoked = await cli("signing-keys", "revoke", dashed.keyId, "--reason", "a test key");
    expect(revoked.code, revoked.stderr).toBe(0);
    const mistyped = await cli("signing-keys", "approve", "--public-kye", publicKey);
    expect(mistyped.code).toBe(2);
  });

  it("revokes a key with a reason, refuses one without, and refuses a key revoking itself", async () => {
    expect((await cli("signing-keys", "revoke", b.signer.keyId)).code).toBe(2);
    const self = await cli("signing-keys", "revoke", a.signer.keyId, "--reason", "retire the anchor");
    expect(self.code).toBe(1);
    expect(self.stderr).toContain("cannot revoke itself");
    const revoked = await cli("signing-keys", "revoke", b.signer.keyId, "--reason", "daemon b decommissioned");
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Signing key ${b.signer.keyId} is revoked from sequence`);
    expect(revoked.stdout).toContain("daemon b decommissioned");
  });
});

describe("keyledger audit verify --anchor", () => {
  it("names the anchor, and fails (exit 1) against another pinned anchor, saying so", async () => {
    const ok = await cli("audit", "verify");
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`trust anchor ${a.signer.keyId} (as pinned)`);
    const other = signerFromSeed(randomBytes(32)).keyId;
    const wrong = await cli("audit", "verify", "--anchor", other, "-o", "json");
    expect(wrong.code).toBe(1);
    const report = JSON.parse(wrong.stdout);
    expect(report).toMatchObject({ ok: false, anchor: null, pinnedAnchor: other });
    expect(report.problems[0]).toMatchObject({ code: "anchor_mismatch", kid: a.signer.keyId });
    expect((await cli("audit", "verify", "--anchor", "short")).code).toBe(2);
  });
});
