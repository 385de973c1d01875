import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import type { AccountState } from "../../src/domain/index.js";
import { FreshReadModel, ReadModel } from "../../src/projections/index.js";
import { tempDir } from "../helpers/nats.js";
import { eventually } from "./support.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const id = (prefix: string): string =>
  `${prefix}_${Array.from({ length: 26 }, () => CROCKFORD[Math.floor(Math.random() * 32)]).join("")}`;

/** An account with `count` keys, applied to the read model in one batch at `seq`. */
async function applyAccount(readModel: ReadModel, count: number, seq: number): Promise<string[]> {
  const keyIds = Array.from({ length: count }, () => id("key"));
  const at = new Date().toISOString();
  const keys = Object.fromEntries(
    keyIds.map((keyId) => [
      keyId,
      {
        id: keyId,
        name: keyId.toLowerCase(),
        description: "",
        active: true,
        deleted: false,
        secretHash: "sha256:x",
        hint: "kl_…",
        generation: 0,
        previous: null,
        expiresAt: null,
        createdAt: at,
        updatedAt: at,
        lastRotatedAt: null,
        epoch: 0,
      },
    ]),
  );
  const state: AccountState = {
    id: id("sa"),
    name: `a-${seq}`,
    description: "",
    roles: [],
    active: true,
    deleted: false,
    createdAt: at,
    updatedAt: at,
    version: 1,
    epoch: 0,
    keys,
  };
  const batch = readModel.batch();
  batch.apply(null, state, { seq, count: seq, digest: "d" }, "h", Date.now());
  await batch.commit();
  return keyIds;
}

describe("the key id filter of a read model", () => {
  it("comes back at once after a clean shutdown, and says no to unknown ids from the first request", async () => {
    const dir = await tempDir("keyledger-filter-");
    const first = await ReadModel.open(dir);
    const keyIds = await applyAccount(first, 50, 1);
    await first.close();
    const second = await ReadModel.open(dir);
    expect(keyIds.every((keyId) => second.mayHoldKey(keyId))).toBe(true);
    expect(second.mayHoldKey(id("key"))).toBe(false);
    await second.close();
  });

  it("is learnt again from the key records when the saved one does not match the checkpoint (a crash after more was applied)", async () => {
    const dir = await tempDir("keyledger-filter-");
    const first = await ReadModel.open(dir);
    const early = await applyAccount(first, 10, 1);
    await first.close();
    // Applied after the filter was saved, as a daemon that then crashed would have.
    const crashed = await ReadModel.open(dir);
    const late = await applyAccount(crashed, 10, 2);
    // No clean close of the read model: the saved filter still says checkpoint 1, the read model 2.
    await crashed.db.close();
    const reopened = await ReadModel.open(dir);
    await eventually(() => !reopened.mayHoldKey(id("key")));
    expect([...early, ...late].every((keyId) => reopened.mayHoldKey(keyId))).toBe(true);
    await reopened.close();
  });

  it("is left in a file of its own, taken by the next start: a clean shutdown writes nothing to LevelDB's log", async () => {
    const dir = await tempDir("keyledger-filter-");
    const first = await ReadModel.open(dir);
    const keyIds = await applyAccount(first, 20, 1);
    await first.close();
    expect(await readdir(dir)).toContain(SAVED);
    // A start and a clean shutdown with nothing applied meanwhile: LevelDB's new log stays empty, so
    // the start after it has nothing to replay (the filter written into LevelDB filled it with 2 MiB).
    const idle = await ReadModel.open(dir);
    expect(await readdir(dir)).not.toContain(SAVED);
    await idle.close();
    expect(await logBytes(dir)).toBe(0);
    const third = await ReadModel.open(dir);
    expect(keyIds.every((keyId) => third.mayHoldKey(keyId))).toBe(true);
    expect(third.mayHoldKey(id("key"))).toBe(false);
    // Taken: a crash now (no close) leaves no filter behind, whatever is applied before it.
    await third.db.close();
    expect(await readdir(dir)).not.toContain(SAVED);
  });

  it("of a rebuilt read model is its own, not the old one's, even at the same checkpoint", async () => {
    const dir = await tempDir("keyledger-filter-");
    const path = join(dir, "readmodel");
    // The old read model and the new one stand at the same checkpoint with other keys (a rebuild
    // after a signing key was trusted applies events the old one passed over).
    const old = await ReadModel.open(path);
    const oldKeys = await applyAccount(old, 10, 1);
    const fresh = await FreshReadModel.beside(path);
    const newKeys = await applyAccount(fresh.readModel, 10, 1);
    await fresh.replace(old);
    const rebuilt = await ReadModel.open(path);
    expect(newKeys.filter((keyId) => !rebuilt.mayHoldKey(keyId))).toEqual([]);
    expect(oldKeys.filter((keyId) => rebuilt.mayHoldKey(keyId))).toEqual([]);
    await rebuilt.close();
  });

  it("drops the filter an earlier version kept in LevelDB", async () => {
    const dir = await tempDir("keyledger-filter-");
    const first = await ReadModel.open(dir);
    await applyAccount(first, 5, 1);
    await first.db.put(LEGACY, { checkpoint: 1, filter: "AAAA" });
    await first.db.close();
    const second = await ReadModel.open(dir);
    expect(await second.db.get(LEGACY)).toBeUndefined();
    await second.close();
    const raw = new Level<string, unknown>(dir, { valueEncoding: "json" });
    expect((await raw.keys().all()).filter((key) => key.startsWith("meta!key"))).toEqual([]);
    await raw.close();
  });
});

const SAVED = "KEYLEDGER-KEY-FILTER";
const LEGACY = "meta!key-filter";

/** The bytes in LevelDB's write-ahead logs. */
async function logBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (name.endsWith(".log")) total += (await stat(join(dir, name))).size;
  return total;
}
