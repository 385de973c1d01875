import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { signerFromSeed, type Signer } from "./ed25519.js";

export const SIGNING_KEY_FILE = "signing.key";

/**
 * The daemon's Ed25519 signing key: from configuration (a base64 seed in KEYLEDGER_SIGNING_KEY, or
 * a file holding one) when given, else from `<data-dir>/signing.key`, created on first start with
 * mode 0600.
 */
export async function loadSigner(
  dataDir: string,
  configured?: { seed?: string; file?: string },
): Promise<{ signer: Signer; created: boolean }> {
  if (configured?.seed !== undefined)
    return { signer: signerFromSeed(decodeSeed(configured.seed, "KEYLEDGER_SIGNING_KEY")), created: false };
  if (configured?.file !== undefined) {
    const text = await readFile(configured.file, "utf8");
    return { signer: signerFromSeed(decodeSeed(text.trim(), configured.file)), created: false };
  }
  const path = join(dataDir, SIGNING_KEY_FILE);
  try {
    return { signer: signerFromSeed(decodeSeed((await readFile(path, "utf8")).trim(), path)), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const seed = randomBytes(32);
  await writeFile(path, `${seed.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  return { signer: signerFromSeed(seed), created: true };
}

function decodeSeed(text: string, where: string): Uint8Array {
  const seed = Buffer.from(text, "base64");
  if (seed.length !== 32) throw new Error(`${where} must hold a base64 Ed25519 seed of 32 bytes`);
  return seed;
}
