import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { loadSigner } from "../../src/signing/index.js";
import { tempDir } from "../helpers/nats.js";

describe("the daemon's signing key", () => {
  it("is created on first start with mode 0600 and read back after", async () => {
    const dir = await tempDir();
    const first = await loadSigner(dir);
    expect(first.created).toBe(true);
    expect((await stat(join(dir, "signing.key"))).mode & 0o777).toBe(0o600);
    const again = await loadSigner(dir);
    expect(again.created).toBe(false);
    expect(again.signer.keyId).toBe(first.signer.keyId);
  });

  it("comes from configuration when given, and signs what tweetnacl verifies", async () => {
    const seed = randomBytes(32);
    const fromEnv = (await loadSigner(await tempDir(), { seed: seed.toString("base64") })).signer;
    const file = join(await tempDir(), "seed");
    await writeFile(file, `${seed.toString("base64")}\n`);
    const fromFile = (await loadSigner(await tempDir(), { file })).signer;
    expect(fromFile.keyId).toBe(fromEnv.keyId);
    const message = Buffer.from("an event");
    expect(nacl.sign.detached.verify(message, fromEnv.sign(message), nacl.sign.keyPair.fromSeed(seed).publicKey)).toBe(true);
    expect(await readFile(file, "utf8")).toContain(seed.toString("base64"));
  });

  it("refuses a seed that is not 32 bytes of base64", async () => {
    await expect(loadSigner(await tempDir(), { seed: "c2hvcnQ=" })).rejects.toThrow(/32 bytes/);
  });
});
