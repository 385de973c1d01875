import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const CLIENT = resolve("src/client");

/** Every import of every SDK file: [file, specifier, type-only]. */
async function imports(): Promise<Array<{ file: string; from: string; typeOnly: boolean; dynamic: boolean }>> {
  const found: Array<{ file: string; from: string; typeOnly: boolean; dynamic: boolean }> = [];
  for (const file of (await readdir(CLIENT)).filter((name) => name.endsWith(".ts"))) {
    const text = await readFile(join(CLIENT, file), "utf8");
    for (const match of text.matchAll(/^(import|export)( type)?\b[^;]*?from "([^"]+)"/gms))
      found.push({ file, from: match[3]!, typeOnly: match[2] !== undefined, dynamic: false });
    for (const match of text.matchAll(/\bimport\("([^"]+)"\)/g))
      found.push({ file, from: match[1]!, typeOnly: false, dynamic: true });
  }
  return found;
}

describe("the SDK (keyledger/client)", () => {
  it("imports no server code: only its own files, tweetnacl and the NATS client", async () => {
    const outside = (await imports()).filter(
      ({ from }) => !(from.startsWith("./") || from === "tweetnacl" || from.startsWith("@nats-io/")),
    );
    expect(outside).toEqual([]);
  });

  it("loads the NATS client only when a verifier follows the feed, so that the rest runs wherever fetch does", async () => {
    const nats = (await imports()).filter(({ from, typeOnly }) => from.startsWith("@nats-io/") && !typeOnly);
    expect(nats.map(({ file }) => file)).toEqual(["revocation-feed.ts", "revocation-feed.ts"]);
    const feed = (await imports()).filter(({ from, typeOnly }) => from === "./revocation-feed.js" && !typeOnly);
    expect(feed).toEqual([{ file: "verifier.ts", from: "./revocation-feed.js", typeOnly: false, dynamic: true }]);
  });

  it("uses neither node:crypto nor Buffer", async () => {
    for (const file of (await readdir(CLIENT)).filter((name) => name.endsWith(".ts"))) {
      const text = await readFile(join(CLIENT, file), "utf8");
      expect(text, file).not.toMatch(/from "node:crypto"|\bBuffer\.(from|alloc|concat)\b/);
    }
  });
});
