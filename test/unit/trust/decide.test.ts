import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConflictError, InvalidValueError, NotFoundError, SYSTEM_GENESIS, type Actor } from "../../../src/domain/index.js";
import {
  decideTrust,
  EMPTY_TRUST,
  evolveTrust,
  type DecidedFact,
  type KeyStatement,
  type TrustCommand,
  type TrustState,
} from "../../../src/trust/index.js";
import { deciderSpec } from "../decider-spec.js";
import { testKey } from "./keys.js";

const NOW = "2026-12-05T10:00:00.000Z";
const ADMIN: Actor = {
  kind: "service_account",
  serviceAccountId: "sa_01JABCDEFGHJKMNPQRSTVWXYZ0",
  apiKeyId: "key_01JABCDEFGHJKMNPQRSTVWXYZ0",
};

/**
 * Folds decided facts as if each had been appended at sequence 10 × its version, signed by the
 * anchor (the genesis by the key it enrols): the decider's view of a ledger.
 */
const given = deciderSpec<TrustCommand, DecidedFact, TrustState>({
  initialState: () => EMPTY_TRUST,
  decide: decideTrust,
  evolve: (state, fact) => {
    const version = state.version + 1;
    const statement = {
      ...fact,
      id: `stm_${version}`,
      schemaVersion: 1,
      actor: ADMIN,
      requestId: null,
      version,
      prevHash: state.lastHash,
      signingKeyId: state.anchor ?? fact.data.kid,
      hash: `hash-${version}`,
      signature: "",
    } as KeyStatement;
    return evolveTrust(state, statement, version * 10);
  },
});

const anchor = testKey();
const other = testKey();
const third = testKey();
const meta = { now: NOW, actor: ADMIN };
const genesisFact: DecidedFact = {
  type: "SigningKeyEnrolled",
  occurredAt: NOW,
  data: { kid: anchor.kid, publicKey: anchor.publicKey, role: "anchor" },
};
const enrolled = (key = other, legacy = false): DecidedFact => ({
  type: "SigningKeyEnrolled",
  occurredAt: NOW,
  data: { kid: key.kid, publicKey: key.publicKey, role: "signer", ...(legacy ? { legacyHistory: true } : {}) },
});
const approve = (key = other, signer = anchor.kid, legacyHistory = false): TrustCommand => ({
  type: "ApproveKey",
  data: { kid: key.kid, publicKey: key.publicKey, legacyHistory, signer },
  metadata: meta,
});
const revoke = (kid: string, signer: string, reason = "key leaked"): TrustCommand => ({
  type: "RevokeKey",
  data: { kid, reason, signer },
  metadata: meta,
});

describe("EnrolGenesis", () => {
  const genesis: TrustCommand = {
    type: "EnrolGenesis",
    data: { kid: anchor.kid, publicKey: anchor.publicKey },
    metadata: { now: NOW, actor: SYSTEM_GENESIS },
  };

  it("enrols the daemon's own key as the anchor on a ledger without one", () => {
    given([]).when(genesis).then([genesisFact]);
  });

  it("refuses a second genesis", () => {
    given([genesisFact]).when(genesis).thenThrows(ConflictError, "trust anchor already");
  });

  it("refuses a key id that is not the fingerprint of the key", () => {
    const squat: TrustCommand = { ...genesis, data: { kid: other.kid, publicKey: anchor.publicKey } };
    expect(given([]).when(squat).thenThrows(InvalidValueError).field).toBe("publicKey");
  });
});

describe("ApproveKey", () => {
  it("enrols a key when a trusted key signs it", () => {
    given([genesisFact]).when(approve()).then([enrolled()]);
  });

  it("enrols a signer of a stream older than the trust root for its history too", () => {
    given([genesisFact])
      .when(approve(other, anchor.kid, true))
      .then([enrolled(other, true)]);
  });

  it("decides nothing for a key already trusted", () => {
    given([genesisFact, enrolled()]).when(approve()).thenNothing();
    given([genesisFact]).when(approve(anchor)).thenNothing();
  });

  it("never trusts a revoked key again", () => {
    given([genesisFact, enrolled(), { type: "SigningKeyRevoked", occurredAt: NOW, data: { kid: other.kid, reason: "gone" } }])
      .when(approve())
      .thenThrows(ConflictError, "never trusted again");
  });

  it("refuses when the signing daemon's own key is not trusted (a pending daemon approves nothing)", () => {
    given([genesisFact]).when(approve(third, other.kid)).thenThrows(ConflictError, "not trusted");
    given([]).when(approve(third, anchor.kid)).thenThrows(ConflictError, "not trusted");
  });

  it("refuses a public key whose fingerprint is not the key id", () => {
    const command = (publicKey: string): TrustCommand => ({
      type: "ApproveKey",
      data: { kid: other.kid, publicKey, legacyHistory: false, signer: anchor.kid },
      metadata: meta,
    });
    const swapped = command(third.publicKey);
    expect(given([genesisFact]).when(swapped).thenThrows(InvalidValueError).field).toBe("publicKey");
    // A point of small order: one all-zero signature would verify for every message.
    const weak = Buffer.from("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "hex");
    const weakKid = createHash("sha256").update(weak).digest("base64url").slice(0, 16);
    const smallOrder: TrustCommand = {
      type: "ApproveKey",
      data: { kid: weakKid, publicKey: weak.toString("base64url"), legacyHistory: false, signer: anchor.kid },
      metadata: meta,
    };
    expect(given([genesisFact]).when(smallOrder).thenThrows(InvalidValueError).field).toBe("publicKey");
    const malformed = command("not base64url!");
    expect(given([genesisFact]).when(malformed).thenThrows(InvalidValueError).field).toBe("publicKey");
  });
});

describe("RevokeKey", () => {
  it("revokes a trusted key, signed by another trusted key", () => {
    given([genesisFact, enrolled()])
      .when(revoke(other.kid, anchor.kid))
      .then([{ type: "SigningKeyRevoked", occurredAt: NOW, data: { kid: other.kid, reason: "key leaked" } }]);
    given([genesisFact, enrolled()])
      .when(revoke(anchor.kid, other.kid, "anchor retired"))
      .then([{ type: "SigningKeyRevoked", occurredAt: NOW, data: { kid: anchor.kid, reason: "anchor retired" } }]);
  });

  it("refuses a key revoking itself: nobody can take the last trusted key away", () => {
    given([genesisFact]).when(revoke(anchor.kid, anchor.kid)).thenThrows(ConflictError, "cannot revoke itself");
  });

  it("refuses an unknown key, and decides nothing for one already revoked", () => {
    given([genesisFact]).when(revoke(third.kid, anchor.kid)).thenThrows(NotFoundError);
    given([genesisFact, enrolled(), { type: "SigningKeyRevoked", occurredAt: NOW, data: { kid: other.kid, reason: "gone" } }])
      .when(revoke(other.kid, anchor.kid))
      .thenNothing();
  });

  it("wants a reason, and a signer the ledger trusts", () => {
    expect(
      given([genesisFact, enrolled()])
        .when(revoke(other.kid, anchor.kid, "  "))
        .thenThrows(InvalidValueError).field,
    ).toBe("reason");
    expect(
      given([genesisFact, enrolled()])
        .when(revoke(other.kid, anchor.kid, "x".repeat(501)))
        .thenThrows(InvalidValueError).field,
    ).toBe("reason");
    given([genesisFact, enrolled()]).when(revoke(other.kid, third.kid)).thenThrows(ConflictError, "not trusted");
  });
});
