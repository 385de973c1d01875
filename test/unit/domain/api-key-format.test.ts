import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  DUMMY_HASH,
  formatApiKey,
  hashApiKey,
  hintOf,
  keyIdOf,
  sameHash,
  SECRET_BYTES,
} from "../../../src/domain/api-key-format.js";
import { KEY_ID } from "./fixtures.js";

/** 32 fixed bytes: 0, 1, 2, … 31. */
const SECRET = Uint8Array.from({ length: SECRET_BYTES }, (_, i) => i);
const SECRET_TEXT = Buffer.from(SECRET).toString("base64url");
const KEY = formatApiKey(KEY_ID, SECRET);

describe("formatApiKey and keyIdOf", () => {
  it("formats kl_<key id without prefix>_<43-char base64url secret>", () => {
    expect(SECRET_TEXT).toHaveLength(43);
    expect(KEY).toBe(`kl_01JABCDEFGHJKMNPQRSTVWXYZ1_${SECRET_TEXT}`);
  });

  it("round-trips the key id", () => {
    expect(keyIdOf(KEY)).toBe(KEY_ID);
    const allOnes = formatApiKey("key_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", new Uint8Array(SECRET_BYTES).fill(255));
    expect(keyIdOf(allOnes)).toBe("key_7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  });

  it("refuses a secret that is not 32 bytes", () => {
    expect(() => formatApiKey(KEY_ID, new Uint8Array(31))).toThrow("32 bytes");
    expect(() => formatApiKey(KEY_ID, new Uint8Array(33))).toThrow("32 bytes");
  });

  it.each([
    ["an empty string", ""],
    ["another prefix", KEY.replace(/^kl_/, "sk_")],
    ["an uppercase prefix", KEY.replace(/^kl_/, "KL_")],
    ["a key id with a 'key_' prefix", `kl_key_01JABCDEFGHJKMNPQRSTVWXYZ1_${SECRET_TEXT}`],
    ["a key id of 25 characters", `kl_01JABCDEFGHJKMNPQRSTVWXY1_${SECRET_TEXT}`],
    ["a lowercase key id", `kl_01jabcdefghjkmnpqrstvwxyz1_${SECRET_TEXT}`],
    ["a key id with a letter outside Crockford base32 (U)", `kl_01JABCDEFGHJKMNPQRSTVWXYU1_${SECRET_TEXT}`],
    ["a secret of 42 characters", KEY.slice(0, -1)],
    ["a secret of 44 characters", `${KEY}A`],
    ["a secret in standard base64", `${KEY.slice(0, -1)}+`],
    ["base64 padding", `${KEY.slice(0, -1)}=`],
    ["surrounding whitespace", ` ${KEY}`],
    ["a trailing newline", `${KEY}\n`],
    ["the Bearer scheme", `Bearer ${KEY}`],
  ])("returns null for %s", (_, presented) => {
    expect(keyIdOf(presented)).toBeNull();
  });
});

describe("hashApiKey", () => {
  it("is sha256: and the 64 hex digits of node's sha256 of the whole string", () => {
    const hash = hashApiKey(KEY);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hash).toBe(`sha256:${createHash("sha256").update(KEY).digest("hex")}`);
  });

  it("differs for keys that differ in one character", () => {
    expect(hashApiKey(KEY)).not.toBe(hashApiKey(`${KEY.slice(0, -1)}${KEY.endsWith("A") ? "B" : "A"}`));
  });

  it("gives a stand-in hash of the same shape", () => {
    expect(DUMMY_HASH).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("sameHash", () => {
  it("compares hashes exactly, whatever their lengths", () => {
    expect(sameHash(hashApiKey(KEY), hashApiKey(KEY))).toBe(true);
    expect(sameHash(hashApiKey(KEY), DUMMY_HASH)).toBe(false);
    expect(sameHash(hashApiKey(KEY), hashApiKey(KEY).slice(0, -1))).toBe(false);
  });

  it("tells apart strings of a hash's length that differ only beyond ASCII, and compares other strings too", () => {
    const hashed = hashApiKey(KEY);
    // Same number of characters, other bytes: a comparison of one byte per character would see
    // 0x61 for both "a" and "\u0161".
    const lookalike = `${hashed.slice(0, -1)}\u0161`;
    const ascii = `${hashed.slice(0, -1)}a`;
    expect(lookalike.length).toBe(hashed.length);
    expect(sameHash(lookalike, ascii)).toBe(false);
    expect(sameHash(ascii, lookalike)).toBe(false);
    expect(sameHash(lookalike, lookalike)).toBe(true);
    expect(sameHash(ascii, ascii)).toBe(true);
    expect(sameHash("\u0161".repeat(hashed.length), "\u0161".repeat(hashed.length))).toBe(true);
    expect(sameHash("short", "short")).toBe(true);
    expect(sameHash("short", "shore")).toBe(false);
    // One pair compared after another: nothing of the first is left to the second.
    expect(sameHash(hashed, hashed)).toBe(true);
    expect(sameHash(hashed, DUMMY_HASH)).toBe(false);
  });
});

describe("hintOf", () => {
  it("shows the prefix, the key id and four secret characters, not the secret", () => {
    const hint = hintOf(KEY);
    expect(hint).toBe(`kl_01JABCDEFGHJKMNPQRSTVWXYZ1_${SECRET_TEXT.slice(0, 4)}…`);
    expect(hint).not.toContain(SECRET_TEXT);
    expect(hint).not.toContain(SECRET_TEXT.slice(4));
  });
});
