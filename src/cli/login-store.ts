import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface StoredLogin {
  readonly url: string;
  readonly apiKey: string;
}

/** `$XDG_CONFIG_HOME/keyledger/config.json`, else `~/.config/keyledger/config.json`. */
export function configPath(env: NodeJS.ProcessEnv): string {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ""
      ? env.XDG_CONFIG_HOME
      : join(env.HOME ?? homedir(), ".config");
  return join(base, "keyledger", "config.json");
}

export async function readLogin(path: string): Promise<StoredLogin | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<StoredLogin>;
    return typeof parsed.url === "string" && typeof parsed.apiKey === "string"
      ? { url: parsed.url, apiKey: parsed.apiKey }
      : null;
  } catch {
    return null;
  }
}

/** Writes the login readable by its owner only (0600, in a 0700 directory). */
export async function writeLogin(path: string, login: StoredLogin): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function removeLogin(path: string): Promise<boolean> {
  const existed = (await readLogin(path)) !== null;
  await rm(path, { force: true });
  return existed;
}
