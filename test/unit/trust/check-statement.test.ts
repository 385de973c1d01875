/**
 * The trust root from an attacker's side: every statement here is written from the documented
 * format (canonical JSON, SHA-256, Ed25519 with node:crypto), never with the project's sealing code,
 * so that a bug there cannot hide itself.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { foldStatements, signerAt, type FoldedTrust } from "../../../src/trust/index.js";
import { testKey, type TestKey } from "./keys.js";

/** Canonical JSON as the docs define it: keys sorted by UTF-16 code unit, no whitespace. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

interface Draft {
  type: "SigningKeyEnrolled" | "SigningKeyRevoked";
  data: Record<string, unknown>;
  version: number;
  prevHash: string | null;
  signingKeyId: string;
}

/** A statement as the docs describe it, signed by `by` (whatever `signingKeyId` claims). */
function statement(draft: Draft, by: TestKey): { bytes: Uint8Array; hash: string } {
  const unsigned = {
    id: `stm_${draft.version}_${Math.random().toString(36).slice(2)}`,
    type: draft.type,
    schemaVersion: 1,
    occurredAt: "2026-12-05T10:00:00.000Z",
    actor: { kind: "system", reason: "genesis" },
    requestId: null,
    data: draft.data,
    version: draft.version,
    prevHash: draft.prevHash,
    signingKeyId: draft.signingKeyId,
  };
  const signed = Buffer.from(canonical(unsigned), "utf8");
  const hash = createHash("sha256").update(signed).digest("hex");
  return { bytes: Buffer.from(JSON.stringify({ ...unsigned, hash, signature: by.sign(signed) })), hash };
}

const anchor = testKey();
const other = testKey();
const third = testKey();
const attacker = testKey();

const enrol = (key: TestKey, role: "anchor" | "signer", extra: Record<string, unknown> = {}) => ({
  kid: key.kid,
  publicKey: key.publicKey,
  role,
  ...extra,
});

/** A genuine ledger: genesis at 3, `other` enrolled at 10 (a legacy signer), `third` by `other` at 20, `other` revoked at 30. */
function genuine() {
  const genesis = statement(
    { type: "SigningKeyEnrolled", data: enrol(anchor, "anchor"), version: 1, prevHash: null, signingKeyId: anchor.kid },
    anchor,
  );
  const second = statement(
    {
      type: "SigningKeyEnrolled",
      data: enrol(other, "signer", { legacyHistory: true }),
      version: 2,
      prevHash: genesis.hash,
      signingKeyId: anchor.kid,
    },
    anchor,
  );
  const byOther = statement(
    { type: "SigningKeyEnrolled", data: enrol(third, "signer"), version: 3, prevHash: second.hash, signingKeyId: other.kid },
    other,
  );
  const revoked = statement(
    {
      type: "SigningKeyRevoked",
      data: { kid: other.kid, reason: "retired" },
      version: 4,
      prevHash: byOther.hash,
      signingKeyId: anchor.kid,
    },
    anchor,
  );
  return { genesis, second, byOther, revoked };
}

function fold(messages: Array<[number, { bytes: Uint8Array } | Uint8Array]>, pinned?: string): FoldedTrust {
  return foldStatements(
    messages.map(([seq, message]) => ({ seq, data: message instanceof Uint8Array ? message : message.bytes })),
    pinned,
  );
}

const counts = (trust: FoldedTrust, kid: string, seq: number) => !("code" in signerAt(trust.state, kid, seq));

describe("a genuine ledger's key statements", () => {
  const { genesis, second, byOther, revoked } = genuine();
  const trust = fold([
    [3, genesis],
    [10, second],
    [20, byOther],
    [30, revoked],
  ]);

  it("all count, and name the anchor", () => {
    expect(trust.records.map((record) => record.problem)).toEqual([null, null, null, null]);
    expect(trust.state.anchor).toBe(anchor.kid);
    expect(trust.state.genesisSeq).toBe(3);
  });

  it("trust each key exactly in its range of sequences", () => {
    // The anchor counts from the stream's start (it signed what came before its genesis).
    expect([1, 3, 4, 1000].map((seq) => counts(trust, anchor.kid, seq))).toEqual([true, true, true, true]);
    // `other`: before the genesis (a legacy signer), not between the genesis and its enrolment, then until its revocation.
    expect([2, 3, 5, 10, 11, 30, 31].map((seq) => counts(trust, other.kid, seq))).toEqual([
      true,
      false,
      false,
      false,
      true,
      true,
      false,
    ]);
    // `third`: only after its enrolment, never before the genesis.
    expect([2, 19, 20, 21].map((seq) => counts(trust, third.kid, seq))).toEqual([false, false, false, true]);
    // A key never enrolled never counts, and says so.
    expect(signerAt(trust.state, attacker.kid, 40)).toMatchObject({ code: "untrusted_signer", kid: attacker.kid });
  });
});

describe("statements an intruder with write access to NATS appends", () => {
  const { genesis } = genuine();
  const after = (message: { bytes: Uint8Array }) =>
    fold([
      [3, genesis],
      [9, message],
    ]);

  it("a self-signed enrolment of the intruder's key: untrusted_signer, nothing changes", () => {
    const forged = statement(
      {
        type: "SigningKeyEnrolled",
        data: enrol(attacker, "signer"),
        version: 2,
        prevHash: genesis.hash,
        signingKeyId: attacker.kid,
      },
      attacker,
    );
    const trust = after(forged);
    expect(trust.records[1]!.problem).toMatchObject({ code: "untrusted_signer", kid: attacker.kid });
    expect(counts(trust, attacker.kid, 100)).toBe(false);
  });

  it("an enrolment claiming the anchor signed it: the signature does not verify", () => {
    const forged = statement(
      {
        type: "SigningKeyEnrolled",
        data: enrol(attacker, "signer"),
        version: 2,
        prevHash: genesis.hash,
        signingKeyId: anchor.kid,
      },
      attacker,
    );
    expect(after(forged).records[1]!.problem?.code).toBe("bad_signature");
    expect(counts(after(forged), attacker.kid, 100)).toBe(false);
  });

  it("a second genesis of the intruder's own: the chain is broken, the anchor stays", () => {
    const forged = statement(
      { type: "SigningKeyEnrolled", data: enrol(attacker, "anchor"), version: 1, prevHash: null, signingKeyId: attacker.kid },
      attacker,
    );
    const trust = after(forged);
    expect(trust.records[1]!.problem?.code).toBe("chain_broken");
    expect(trust.state.anchor).toBe(anchor.kid);
    expect(counts(trust, attacker.kid, 100)).toBe(false);
  });

  it("a genuine statement altered after signing: its hash does not match", () => {
    const { second } = genuine();
    const text = JSON.parse(Buffer.from(second.bytes).toString("utf8"));
    text.data.publicKey = attacker.publicKey;
    expect(after({ bytes: Buffer.from(JSON.stringify(text)) }).records[1]!.problem?.code).toBe("hash_mismatch");
  });

  it("a key squatting another key's id, even signed by the anchor, is refused: an id is a fingerprint", () => {
    const squat = statement(
      {
        type: "SigningKeyEnrolled",
        data: { kid: other.kid, publicKey: attacker.publicKey, role: "signer" },
        version: 2,
        prevHash: genesis.hash,
        signingKeyId: anchor.kid,
      },
      anchor,
    );
    const trust = after(squat);
    expect(trust.records[1]!.problem).toMatchObject({ code: "invalid_statement", kid: other.kid });
    expect(counts(trust, other.kid, 100)).toBe(false);
  });

  it("a key revoking itself is refused", () => {
    const { genesis, second } = genuine();
    const selfRevoked = statement(
      {
        type: "SigningKeyRevoked",
        data: { kid: other.kid, reason: "x" },
        version: 3,
        prevHash: second.hash,
        signingKeyId: other.kid,
      },
      other,
    );
    const trust = fold([
      [3, genesis],
      [10, second],
      [20, selfRevoked],
    ]);
    expect(trust.records[2]!.problem?.code).toBe("invalid_statement");
    expect(counts(trust, other.kid, 100)).toBe(true);
  });

  it("garbage before the genesis is reported and does not stop the genesis from counting", () => {
    const trust = fold([
      [1, Buffer.from("not json")],
      [2, Buffer.from(JSON.stringify({ type: "SigningKeyEnrolled" }))],
      [3, genesis],
    ]);
    expect(trust.records.map((record) => record.problem?.code ?? null)).toEqual(["unreadable", "unreadable", null]);
    expect(trust.state.anchor).toBe(anchor.kid);
  });

  it("a ledger whose genesis is someone else's: with the anchor pinned, nothing counts", () => {
    const foreign = statement(
      { type: "SigningKeyEnrolled", data: enrol(attacker, "anchor"), version: 1, prevHash: null, signingKeyId: attacker.kid },
      attacker,
    );
    const trust = fold([[1, foreign]], anchor.kid);
    expect(trust.records[0]!.problem?.code).toBe("anchor_mismatch");
    expect(trust.state.anchor).toBeNull();
    expect(counts(trust, attacker.kid, 5)).toBe(false);
    // Unpinned, the first genesis is all there is to go by: that is why the anchor is pinned.
    expect(fold([[1, foreign]]).state.anchor).toBe(attacker.kid);
  });
});
