import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The key id filter a clean shutdown leaves, as a file beside LevelDB's own in the read model's
 * directory (LevelDB leaves files whose names it does not use alone), so that it moves with the
 * read model (a rebuild's swap) and goes with it.
 *
 * Not a LevelDB record: written into LevelDB at every shutdown, its 2 MiB went to LevelDB's log,
 * which the next start replayed into a new table before it could answer (88 ms with a million keys,
 * then a compaction beside the start), and read back as JSON (30 ms).
 *
 * It counts once: the next start takes it (reads it and removes it), so that a read model that is
 * then changed and not closed cleanly (a crash) never finds a filter that no longer matches it; and
 * it counts only for the checkpoint it was saved at.
 */
const SAVED_KEY_FILTER_FILE = "KEYLEDGER-KEY-FILTER";
const MAGIC = Buffer.from("KLKF");
const HEADER_BYTES = MAGIC.length + 8;

export interface SavedKeyFilter {
  /** The read model's checkpoint when it was saved. */
  readonly checkpoint: number;
  /** The filter's bytes (KeyIdFilter.save). */
  readonly bytes: Uint8Array;
}

/** Writes the filter for `checkpoint` (a temporary file renamed into place: never half a filter). */
export async function saveKeyFilter(dir: string, checkpoint: number, bytes: Uint8Array): Promise<void> {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeBigUInt64LE(BigInt(checkpoint), MAGIC.length);
  const temporary = join(dir, `${SAVED_KEY_FILTER_FILE}.${randomBytes(4).toString("hex")}`);
  try {
    await writeFile(temporary, Buffer.concat([header, bytes]), { mode: 0o600 });
    await rename(temporary, join(dir, SAVED_KEY_FILTER_FILE));
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Reads the saved filter and removes it (null: none, or not one this code wrote). */
export async function takeKeyFilter(dir: string): Promise<SavedKeyFilter | null> {
  const path = join(dir, SAVED_KEY_FILTER_FILE);
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch {
    return null;
  }
  await rm(path, { force: true });
  if (content.length < HEADER_BYTES || !content.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  return { checkpoint: Number(content.readBigUInt64LE(MAGIC.length)), bytes: content.subarray(HEADER_BYTES) };
}
