import { chmod, lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const TRUST_ANCHOR_FILE = "trust-anchor";

/**
 * Makes the data directory private: created 0700, and an existing one (made by an older release,
 * or by hand) tightened to 0700 for every directory and 0600 for every file in it, before anything
 * is written there. Symbolic links are left as they are (never followed).
 */
export async function privateDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await tighten(dataDir);
}

async function tighten(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    if ((info.mode & 0o777) !== 0o700) await chmod(path, 0o700);
    for (const entry of await readdir(path)) await tighten(join(path, entry));
  } else if (info.isFile() && (info.mode & 0o777) !== 0o600) {
    await chmod(path, 0o600);
  }
}

/** The trust anchor this data directory pinned at its first start (undefined: none yet). */
export async function readTrustAnchor(dataDir: string): Promise<string | undefined> {
  try {
    const text = (await readFile(join(dataDir, TRUST_ANCHOR_FILE), "utf8")).trim();
    return text === "" ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export async function writeTrustAnchor(dataDir: string, kid: string): Promise<string> {
  const path = join(dataDir, TRUST_ANCHOR_FILE);
  await writeFile(path, `${kid}\n`, { mode: 0o600 });
  return path;
}
