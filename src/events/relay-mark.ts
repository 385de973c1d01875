import { createHash } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";

/**
 * How far a daemon's revocation relay has looked through the event stream: the sequence of the last
 * message it handled, and the SHA-256 (hex) of that message's bytes, so that a mark left by another
 * stream (one restored or replaced since) is known for what it is and not trusted.
 */
export interface RelayMark {
  readonly seq: number;
  readonly digest: string;
}

/** Where a relay keeps its mark between runs. */
export interface RelayMarkStore {
  /** The mark last saved; null when there is none or it cannot be read. */
  load(): Promise<RelayMark | null>;
  save(mark: RelayMark): Promise<void>;
}

/** The mark's file in the daemon's data directory. */
export const RELAY_MARK_FILE = "revocation-relay.json";

export function relayMarkOf(seq: number, data: Uint8Array): RelayMark {
  return { seq, digest: createHash("sha256").update(data).digest("hex") };
}

/** A mark in a small JSON file (the daemon's data directory), replaced whole on every save. */
export function relayMarkFile(path: string): RelayMarkStore {
  return {
    async load() {
      try {
        const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<RelayMark>;
        return Number.isSafeInteger(parsed.seq) && (parsed.seq as number) > 0 && typeof parsed.digest === "string"
          ? { seq: parsed.seq as number, digest: parsed.digest }
          : null;
      } catch {
        return null;
      }
    },
    async save(mark) {
      const temporary = `${path}.tmp`;
      await writeFile(temporary, `${JSON.stringify(mark)}\n`, { mode: 0o600 });
      await rename(temporary, path);
    },
  };
}
