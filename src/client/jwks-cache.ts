import { fromBase64url } from "./base64url.js";
import { KeyledgerConnectionError } from "./errors.js";
import { describeError, redactor } from "./redaction.js";

export interface JwksCacheOptions {
  /** The daemon's base URL; the keys are read from `<url>/.well-known/jwks.json`. */
  readonly url: string;
  readonly fetch: typeof fetch;
  readonly clock: () => number;
  /** How long a fetched key set is used before it is fetched again (the daemon says max-age 300 s). */
  readonly maxAgeMs: number;
  /** The least time between two fetches caused by a key id the set does not hold. */
  readonly minRefetchIntervalMs: number;
  readonly timeoutMs: number;
}

/**
 * The daemons' Ed25519 public keys by key id, from the JWKS. Fetched on first use and again after
 * `maxAgeMs`; a token naming a key id the set lacks (a daemon that started since) causes a refetch,
 * at most one per `minRefetchIntervalMs`, so made-up key ids cannot flood the daemon. One fetch at a
 * time: concurrent callers share it. A set that could not be refreshed stays in use (public keys
 * do not go bad); with no set at all, `key` throws a `KeyledgerConnectionError`.
 */
export class JwksCache {
  private keys: Map<string, Uint8Array> | null = null;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private readonly endpoint: string;

  constructor(private readonly options: JwksCacheOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, "")}/.well-known/jwks.json`;
  }

  /** The public key of `kid`, or null when no daemon publishes it. */
  async key(kid: string): Promise<Uint8Array | null> {
    if (this.keys === null) await this.refresh(true);
    else if (this.mayFetch() && this.options.clock() - this.fetchedAt >= this.options.maxAgeMs) await this.refresh(false);
    const known = this.keys?.get(kid);
    if (known !== undefined || !this.mayFetch()) return known ?? null;
    await this.refresh(false);
    return this.keys?.get(kid) ?? null;
  }

  private mayFetch(): boolean {
    const since = this.options.clock() - this.attemptedAt;
    return since >= this.options.minRefetchIntervalMs || since < 0; // a clock set back does not stop fetches
  }

  private async refresh(required: boolean): Promise<void> {
    this.inFlight ??= this.fetchKeys().finally(() => (this.inFlight = null));
    try {
      await this.inFlight;
    } catch (error) {
      if (required && this.keys === null) throw error;
    }
  }

  private async fetchKeys(): Promise<void> {
    this.attemptedAt = this.options.clock();
    const redact = redactor();
    let body: unknown;
    try {
      const response = await this.options.fetch(this.endpoint, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (!response.ok) throw new Error(`answered ${response.status}`);
      body = await response.json();
    } catch (error) {
      throw new KeyledgerConnectionError(redact(`cannot read the JWKS at ${this.endpoint}: ${describeError(error)}`));
    }
    const entries = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(entries))
      throw new KeyledgerConnectionError(redact(`${this.endpoint} answered something that is not a JWKS`));
    const keys = new Map<string, Uint8Array>();
    for (const jwk of entries as Array<Record<string, unknown> | null>) {
      const x = typeof jwk?.x === "string" ? fromBase64url(jwk.x) : null;
      const usable =
        jwk !== null &&
        jwk.kty === "OKP" &&
        jwk.crv === "Ed25519" &&
        (jwk.alg === undefined || jwk.alg === "EdDSA") &&
        (jwk.use === undefined || jwk.use === "sig") &&
        typeof jwk.kid === "string";
      if (usable && x?.length === 32) keys.set(jwk.kid as string, x);
    }
    this.keys = keys;
    this.fetchedAt = this.options.clock();
  }
}
