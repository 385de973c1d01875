import { ConflictError, InvalidValueError, NotFoundError, type CommandMetadata } from "../domain/index.js";
import { isFingerprintOf, KID_PATTERN, publicKeyOf } from "./fingerprint.js";
import { trustedNow, type TrustState } from "./state.js";
import type { KeyFact } from "./statement.js";

export const MAX_REASON = 500;

interface Command<T extends string, D> {
  readonly type: T;
  readonly data: D;
  readonly metadata: CommandMetadata;
}

/** The first daemon on a stream without key statements enrols its own key as the anchor. */
export type EnrolGenesis = Command<"EnrolGenesis", { readonly kid: string; readonly publicKey: string }>;
/** An admin approves a pending key; `signer` is the trusted key of the daemon that signs the statement. */
export type ApproveKey = Command<
  "ApproveKey",
  { readonly kid: string; readonly publicKey: string; readonly legacyHistory: boolean; readonly signer: string }
>;
/** An admin revokes a key; another trusted key (`signer`) signs the statement. */
export type RevokeKey = Command<"RevokeKey", { readonly kid: string; readonly reason: string; readonly signer: string }>;

export type TrustCommand = EnrolGenesis | ApproveKey | RevokeKey;

/** A fact as the decider produces it: sealed into a statement by whoever appends it. */
export type DecidedFact = KeyFact & { readonly occurredAt: string };

/**
 * The trust decider: what statement (if any) a command appends, given what the ledger's statements
 * established. Pure; time and actor come with the command. An approval of a key already trusted, or a
 * revocation of a key already revoked, decides nothing (it was done).
 */
export function decideTrust(command: TrustCommand, state: TrustState): DecidedFact[] {
  const occurredAt = command.metadata.now;
  switch (command.type) {
    case "EnrolGenesis": {
      if (state.anchor !== null) throw new ConflictError(`the ledger has a trust anchor already: ${state.anchor}`);
      const { kid, publicKey } = checkedKey(command.data.kid, command.data.publicKey);
      return [{ type: "SigningKeyEnrolled", occurredAt, data: { kid, publicKey, role: "anchor" } }];
    }
    case "ApproveKey": {
      const { kid, publicKey } = checkedKey(command.data.kid, command.data.publicKey);
      requireTrustedSigner(state, command.data.signer);
      const known = state.keys.get(kid);
      if (known?.revokedAtSeq != null)
        throw new ConflictError(
          `signing key ${kid} was revoked at sequence ${known.revokedAtSeq} and is never trusted again: give that daemon a new key`,
        );
      if (known !== undefined) return [];
      const legacy = command.data.legacyHistory ? { legacyHistory: true } : {};
      return [{ type: "SigningKeyEnrolled", occurredAt, data: { kid, publicKey, role: "signer", ...legacy } }];
    }
    case "RevokeKey": {
      const { kid, signer } = command.data;
      const reason = command.data.reason.trim();
      if (reason === "" || reason.length > MAX_REASON)
        throw new InvalidValueError("reason", `reason must say why, in 1–${MAX_REASON} characters`);
      const known = state.keys.get(kid);
      if (known === undefined) throw new NotFoundError("signing key not found among the enrolled keys");
      if (known.revokedAtSeq !== null) return [];
      if (kid === signer)
        throw new ConflictError(
          `signing key ${kid} is this daemon's own: a key cannot revoke itself, so ask a daemon with another trusted key`,
        );
      requireTrustedSigner(state, signer);
      return [{ type: "SigningKeyRevoked", occurredAt, data: { kid, reason } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown trust command ${JSON.stringify(unknown)}`);
    }
  }
}

function checkedKey(kid: string, publicKeyText: string): { kid: string; publicKey: string } {
  if (!KID_PATTERN.test(kid)) throw new InvalidValueError("kid", "kid must be a signing key id: 16 base64url characters");
  const publicKey = publicKeyOf(publicKeyText);
  if (publicKey === null) throw new InvalidValueError("publicKey", "publicKey must be a raw 32-byte Ed25519 key in base64url");
  if (!isFingerprintOf(kid, publicKey))
    throw new InvalidValueError("publicKey", `publicKey is not the key whose fingerprint is ${kid}`);
  return { kid, publicKey: publicKeyText };
}

function requireTrustedSigner(state: TrustState, signer: string): void {
  if (trustedNow(state, signer) === null)
    throw new ConflictError(
      `this daemon's signing key ${signer} is not trusted by the ledger, so it cannot sign key statements: ask a daemon whose key is`,
    );
}
