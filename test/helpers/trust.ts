import type { SignerTrust } from "../../src/format/index.js";
import { client, waitUntil } from "./http.js";
import type { ProjectorTrust } from "../../src/projections/index.js";
import type { Signer } from "../../src/signing/index.js";
import { SYSTEM_GENESIS } from "../../src/domain/index.js";
import {
  decideTrust,
  EMPTY_TRUST,
  evolveTrust,
  sealStatement,
  type FoldedTrust,
  type SignerCheck,
} from "../../src/trust/index.js";

/**
 * A trust root for tests of projection and audit alone: the given keys count at every sequence,
 * any other key never does (as if the genesis had enrolled them all as anchors). Key statements fed
 * to it are ignored.
 */
export function trustingOnly(...signers: Signer[]): ProjectorTrust & SignerTrust {
  const keys = new Map(signers.map((signer) => [signer.keyId, signer.publicKey]));
  const check = (kid: string): SignerCheck => {
    const publicKey = keys.get(kid);
    return publicKey === undefined
      ? { code: "untrusted_signer", kid, reason: `signed by key ${kid}, which the ledger never enrolled` }
      : { publicKey };
  };
  return {
    feed: () => undefined,
    observe: () => undefined,
    signerAtCovered: (kid) => check(kid),
    statementAt: () => null,
    signerAt: async (kid) => check(kid),
  };
}

/** A trust root read from a stream whose genesis enrolled `anchor` (at sequence 0, before everything), for audits. */
export function anchoredOn(anchor: Signer): FoldedTrust {
  const facts = decideTrust(
    {
      type: "EnrolGenesis",
      data: { kid: anchor.keyId, publicKey: Buffer.from(anchor.publicKey).toString("base64url") },
      metadata: { now: new Date().toISOString(), actor: SYSTEM_GENESIS },
    },
    EMPTY_TRUST,
  );
  const statement = sealStatement(facts[0]!, EMPTY_TRUST, { id: "stm_genesis", actor: SYSTEM_GENESIS, requestId: null }, anchor);
  return { state: evolveTrust(EMPTY_TRUST, statement, 0), records: [] };
}

/** A running daemon as far as its trust root goes (an in-process test daemon). */
interface DaemonWithTrust {
  readonly url: string;
  readonly signer: Signer;
  readonly trust: { trustedNow(kid: string): unknown };
}

/**
 * Makes every daemon's key trusted, as an admin would: approves each pending one through a daemon
 * whose key the ledger trusts (with its public key), then waits until each daemon sees itself trusted.
 */
export async function approveAll(adminKey: string, ...daemons: DaemonWithTrust[]): Promise<void> {
  const trusted = daemons.find((daemon) => daemon.trust.trustedNow(daemon.signer.keyId) !== null);
  if (trusted === undefined) throw new Error("no daemon with a trusted key to approve the others");
  const admin = client(trusted.url, adminKey);
  for (const daemon of daemons) {
    if (daemon.trust.trustedNow(daemon.signer.keyId) !== null) continue;
    const publicKey = Buffer.from(daemon.signer.publicKey).toString("base64url");
    const answer = await admin.post(`/v1/signing-keys/${daemon.signer.keyId}/approve`, { publicKey });
    if (answer.status !== 200)
      throw new Error(`approving ${daemon.signer.keyId}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  for (const daemon of daemons) await waitUntil(() => daemon.trust.trustedNow(daemon.signer.keyId) !== null, 10_000, 20);
}

/**
 * For daemons running as processes: approves every key that a daemon announced and the ledger
 * does not trust yet, through one of `urls` whose key is trusted, then waits until each daemon
 * reports its own key trusted on /readyz.
 */
export async function approveDaemons(adminKey: string, urls: readonly string[]): Promise<void> {
  const selfTrusted = async (url: string): Promise<boolean> =>
    (await client(url).get("/readyz")).body?.checks?.signingKeyTrusted === true;
  await waitUntil(
    async () => {
      const trusted = await Promise.all(urls.map(selfTrusted));
      if (trusted.every(Boolean)) return true;
      const via = urls[trusted.indexOf(true)];
      if (via === undefined) return false;
      const admin = client(via, adminKey);
      const list = await admin.get("/v1/signing-keys");
      for (const key of list.body.items as Array<{ kid: string; status: string; publicKey: string | null }>) {
        if (key.status !== "pending" || key.publicKey === null) continue;
        const answer = await admin.post(`/v1/signing-keys/${key.kid}/approve`);
        if (answer.status !== 200) throw new Error(`approving ${key.kid}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      return false;
    },
    30_000,
    100,
  );
}
