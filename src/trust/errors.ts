/**
 * This daemon's signing key is not trusted by the ledger (pending approval, or revoked), so it
 * signs nothing: no event, checkpoint or access token. Reads and verifications still work.
 */
export class SigningKeyNotTrustedError extends Error {
  constructor(readonly kid: string) {
    super(
      `this daemon's signing key ${kid} is not trusted by the ledger: an admin approves it with \`keyledger signing-keys approve ${kid}\` on a daemon whose key is; until then this daemon serves reads only`,
    );
    this.name = "SigningKeyNotTrustedError";
  }
}
