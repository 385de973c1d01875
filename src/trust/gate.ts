import type { Signer } from "../signing/index.js";
import { SigningKeyNotTrustedError } from "./errors.js";

/**
 * A signer that refuses to sign (`SigningKeyNotTrustedError`) while `trusted` says no: a daemon
 * whose key the ledger has not enrolled (pending) or has revoked appends nothing signed, writes no
 * checkpoint and mints no access token. The one place all of them pass through.
 */
export function gatedSigner(signer: Signer, trusted: (kid: string) => boolean): Signer {
  return {
    keyId: signer.keyId,
    publicKey: signer.publicKey,
    sign: (message) => {
      if (!trusted(signer.keyId)) throw new SigningKeyNotTrustedError(signer.keyId);
      return signer.sign(message);
    },
  };
}
