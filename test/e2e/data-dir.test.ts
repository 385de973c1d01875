import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon | undefined;

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe("a data directory made by an older release, or by hand, with loose permissions", () => {
  it("is tightened at start to 0700 directories and 0600 files, without following links out of it", async () => {
    const dataDir = await tempDir("keyledger-loose-");
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, "signing.key"), `${randomBytes(32).toString("base64")}\n`, { mode: 0o644 });
    await chmod(join(dataDir, "signing.key"), 0o644);
    await mkdir(join(dataDir, "old-backup"), { mode: 0o775 });
    await chmod(join(dataDir, "old-backup"), 0o775);
    await writeFile(join(dataDir, "old-backup", "admin.key.bak"), "kl_…\n");
    await chmod(join(dataDir, "old-backup", "admin.key.bak"), 0o664);
    const outside = join(await tempDir("keyledger-outside-"), "shared.txt");
    await writeFile(outside, "not keyledger's\n");
    await chmod(outside, 0o644);
    await symlink(outside, join(dataDir, "link-to-outside"));

    daemon = await startTestDaemon(nats.url, {}, { dataDir });
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(join(dataDir, "signing.key"))).toBe(0o600);
    expect(await mode(join(dataDir, "old-backup"))).toBe(0o700);
    expect(await mode(join(dataDir, "old-backup", "admin.key.bak"))).toBe(0o600);
    expect(await mode(join(dataDir, "admin.key"))).toBe(0o600);
    expect(await mode(join(dataDir, "trust-anchor"))).toBe(0o600);
    expect((await readFile(join(dataDir, "trust-anchor"), "utf8")).trim()).toBe(daemon.signer.keyId);
    // The link's target is someone else's file: left as it was.
    expect(await mode(outside)).toBe(0o644);
  });
});
