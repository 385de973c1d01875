import type { KeyStatement } from "./statement.js";
import type { EnrolledKey, TrustState } from "./state.js";

/** The trust state after a statement that was checked (`acceptStatement`) at stream sequence `seq`. */
export function evolveTrust(state: TrustState, statement: KeyStatement, seq: number): TrustState {
  const keys = new Map(state.keys);
  const chained = { version: statement.version, lastHash: statement.hash };
  switch (statement.type) {
    case "SigningKeyEnrolled": {
      const { kid, publicKey, role, legacyHistory } = statement.data;
      const key: EnrolledKey = {
        kid,
        publicKey: new Uint8Array(Buffer.from(publicKey, "base64url")),
        role,
        enrolledAtSeq: seq,
        enrolledBy: statement.signingKeyId,
        approvedBy: statement.actor,
        enrolledAt: statement.occurredAt,
        legacyHistory: legacyHistory === true,
        revokedAtSeq: null,
        revokedBy: null,
        reason: null,
      };
      keys.set(kid, key);
      const genesis = role === "anchor" ? { anchor: kid, genesisSeq: seq } : {};
      return { ...state, ...genesis, ...chained, keys };
    }
    case "SigningKeyRevoked": {
      const key = state.keys.get(statement.data.kid);
      if (key === undefined) throw new Error(`revocation of a key never enrolled: ${statement.data.kid}`);
      keys.set(key.kid, { ...key, revokedAtSeq: seq, revokedBy: statement.signingKeyId, reason: statement.data.reason });
      return { ...state, ...chained, keys };
    }
    default: {
      const unknown: never = statement;
      throw new Error(`unknown key statement ${JSON.stringify(unknown)}`);
    }
  }
}
