import { verifySignature } from "../signing/index.js";
import { evolveTrust } from "./evolve.js";
import { isFingerprintOf, publicKeyOf } from "./fingerprint.js";
import { signerAt, type TrustState } from "./state.js";
import { decodeStatement, sha256Hex, statementBytes, type KeyStatement } from "./statement.js";

export type StatementProblemCode =
  | "unreadable"
  | "hash_mismatch"
  | "chain_broken"
  | "untrusted_signer"
  | "bad_signature"
  | "invalid_statement"
  | "anchor_mismatch";

export interface StatementProblem {
  readonly code: StatementProblemCode;
  readonly reason: string;
  /** The key concerned, when there is one. */
  readonly kid?: string;
}

export interface CheckedStatement {
  /** The state after the statement; unchanged when it does not count. */
  readonly state: TrustState;
  readonly statement: KeyStatement | null;
  readonly problem: StatementProblem | null;
}

/**
 * Checks the message at `seq` on the key statements' subject against the trust state before it,
 * and applies it when it counts. A statement counts when it is readable, hashes right, follows the
 * previous statement that counted, and is signed by a key trusted at `seq` — the genesis by the key
 * it enrols, which must be `pinnedAnchor` when the caller pinned one. What it states must make
 * sense too: a key enrolled under its own fingerprint and only once, a revocation of an enrolled
 * key by another key. Anything else leaves the state as it was and says why.
 */
export function acceptStatement(state: TrustState, seq: number, bytes: Uint8Array, pinnedAnchor?: string): CheckedStatement {
  let statement: KeyStatement;
  let signed: Buffer;
  try {
    statement = decodeStatement(bytes);
    signed = statementBytes(statement);
  } catch (error) {
    return refused(
      state,
      null,
      "unreadable",
      `not a readable key statement: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (sha256Hex(signed) !== statement.hash)
    return refused(state, statement, "hash_mismatch", "the key statement's hash does not match its content: it was altered");
  if (statement.version !== state.version + 1 || statement.prevHash !== state.lastHash)
    return refused(
      state,
      statement,
      "chain_broken",
      `the key statement claims version ${statement.version} after ${statement.version - 1}, but the last statement that counts is version ${state.version}`,
    );
  const genesis = statement.version === 1;
  const signer = genesis ? genesisKey(statement, pinnedAnchor) : signerAt(state, statement.signingKeyId, seq);
  if ("code" in signer) return refused(state, statement, signer.code, signer.reason, signer.kid);
  if (!verifySignature(signer.publicKey, signed, Buffer.from(statement.signature, "base64url")))
    return refused(state, statement, "bad_signature", "the key statement's signature does not verify: it was forged or altered");
  const invalid = genesis ? null : ruleBroken(state, statement);
  if (invalid !== null) return refused(state, statement, "invalid_statement", invalid, statement.data.kid);
  return { state: evolveTrust(state, statement, seq), statement, problem: null };
}

/** The genesis enrols its own signer as the anchor: the key it names, under its fingerprint, signs it. */
function genesisKey(
  statement: KeyStatement,
  pinnedAnchor: string | undefined,
): { publicKey: Uint8Array } | { code: StatementProblemCode; reason: string; kid: string } {
  const kid = statement.data.kid;
  const publicKey = statement.type === "SigningKeyEnrolled" ? publicKeyOf(statement.data.publicKey) : null;
  if (statement.type !== "SigningKeyEnrolled" || statement.data.role !== "anchor" || statement.signingKeyId !== kid)
    return { code: "invalid_statement", reason: "the first key statement must enrol its own signer as the anchor", kid };
  if (publicKey === null || !isFingerprintOf(kid, publicKey))
    return { code: "invalid_statement", reason: `key id ${kid} is not the fingerprint of the public key it names`, kid };
  if (pinnedAnchor !== undefined && pinnedAnchor !== kid)
    return {
      code: "anchor_mismatch",
      reason: `the ledger's genesis enrols ${kid} as its anchor, not the pinned anchor ${pinnedAnchor}`,
      kid,
    };
  return { publicKey };
}

/** What a statement after the genesis may not say. */
function ruleBroken(state: TrustState, statement: KeyStatement): string | null {
  const kid = statement.data.kid;
  const known = state.keys.get(kid);
  if (statement.type === "SigningKeyEnrolled") {
    const publicKey = publicKeyOf(statement.data.publicKey);
    if (statement.data.role !== "signer") return "only the genesis enrols an anchor";
    if (publicKey === null || !isFingerprintOf(kid, publicKey))
      return `key id ${kid} is not the fingerprint of the public key it names`;
    if (known !== undefined) return `key ${kid} was enrolled already, at sequence ${known.enrolledAtSeq}`;
    return null;
  }
  if (known === undefined) return `key ${kid} was never enrolled`;
  if (known.revokedAtSeq !== null) return `key ${kid} was revoked already, at sequence ${known.revokedAtSeq}`;
  if (kid === statement.signingKeyId) return "a key cannot revoke itself: another trusted key signs its revocation";
  if (statement.data.reason.trim() === "") return "a revocation states its reason";
  return null;
}

function refused(
  state: TrustState,
  statement: KeyStatement | null,
  code: StatementProblemCode,
  reason: string,
  kid?: string,
): CheckedStatement {
  return { state, statement, problem: kid === undefined ? { code, reason } : { code, reason, kid } };
}
