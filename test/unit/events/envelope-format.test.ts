import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { fold, type AccountState } from "../../../src/domain/index.js";
import { decodeEnvelope, toDomainEvent } from "../../../src/format/index.js";

/**
 * Events recorded by an earlier release (schema version 1), frozen in a fixture, checked the way
 * the README tells an auditor to: with its own canonical JSON and tweetnacl, no keyledger code.
 */
const lines = readFileSync(new URL("../../fixtures/events-v1.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n");
const publicKey = new Uint8Array(
  Buffer.from(readFileSync(new URL("../../fixtures/events-v1.public-key", import.meta.url), "utf8").trim(), "base64url"),
);

/** The README's canonical JSON: keys sorted by code unit, no whitespace, JSON's own escaping. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The signed bytes: the envelope without `hash` and `signature`, canonical, UTF-8. */
function signedBytes(stored: Record<string, unknown>): Uint8Array {
  const { hash: _hash, signature: _signature, ...signed } = stored;
  return new TextEncoder().encode(canonical(signed));
}

describe("the event envelope, byte for byte", () => {
  const stored = lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it("hashes each event to its `hash` and carries a standard Ed25519 signature (tweetnacl) of the same bytes", () => {
    expect(stored).toHaveLength(6);
    for (const event of stored) {
      const bytes = signedBytes(event);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(event.hash);
      expect(nacl.sign.detached.verify(bytes, new Uint8Array(Buffer.from(String(event.signature), "base64url")), publicKey)).toBe(
        true,
      );
    }
  });

  it("fails the same checks for an altered byte", () => {
    const altered: Record<string, unknown> = { ...stored[1]!, data: { ...(stored[1]!.data as object), name: "other" } };
    const bytes = signedBytes(altered);
    expect(createHash("sha256").update(bytes).digest("hex")).not.toBe(altered.hash);
    expect(nacl.sign.detached.verify(bytes, new Uint8Array(Buffer.from(String(altered.signature), "base64url")), publicKey)).toBe(
      false,
    );
  });

  it("chains each event to the previous one of its account", () => {
    stored.forEach((event, i) => {
      expect(event.accountVersion).toBe(i + 1);
      expect(event.prevHash).toBe(i === 0 ? null : stored[i - 1]!.hash);
    });
  });

  it("stays readable by this release: schema version 1 decodes and folds into the state it recorded", () => {
    const events = lines.map((line) => decodeEnvelope(Buffer.from(line, "utf8")));
    expect(events.map((event) => event.schemaVersion)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(events[0]!.actor).toEqual({ kind: "system", reason: "bootstrap" });
    expect(events[1]!.requestId).toBe("req_fixture_1");
    const state = fold(events.map(toDomainEvent)) as AccountState;
    expect(state).toMatchObject({ name: "ci-runner", deleted: true, active: false, version: 6 });
    const key = Object.values(state.keys)[0]!;
    expect(key).toMatchObject({ active: false, generation: 1, previous: { generation: 0, expired: true } });
  });

  it("refuses an envelope of a schema version it does not know, rather than misreading it", () => {
    const future = JSON.stringify({ ...stored[0], schemaVersion: 99 });
    expect(() => decodeEnvelope(Buffer.from(future, "utf8"))).toThrow(/schema version 99/);
  });
});
