import type { Logger } from "pino";
import type { SigningKeys } from "./application/index.js";
import { readTrustAnchor, TRUST_ANCHOR_FILE, writeTrustAnchor } from "./data-dir.js";
import type { TrustLedger } from "./events/index.js";
import type { Signer } from "./signing/index.js";

/** The daemon will not start on what it found: the message says what it found and what to do. */
export class StartRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartRefused";
  }
}

/** What the data directory says about the ledger it was built from. */
export interface LedgerMemory {
  /** The last stream sequence the read model passed (0: it holds nothing). */
  readonly checkpoint: number;
  /** The trust anchor pinned in `<data-dir>/trust-anchor` at an earlier start. */
  readonly pinnedInFile: string | undefined;
}

export async function ledgerMemory(dataDir: string, readModelCheckpoint: number): Promise<LedgerMemory> {
  return { checkpoint: readModelCheckpoint, pinnedInFile: await readTrustAnchor(dataDir) };
}

/** Whether this data directory was built from a stream, which must therefore still be there. */
export function streamExpected(memory: LedgerMemory): boolean {
  return memory.checkpoint > 0 || memory.pinnedInFile !== undefined;
}

export function streamMissing(stream: string, natsUrl: string, dataDir: string, memory: LedgerMemory): StartRefused {
  const held = memory.checkpoint > 0 ? `its read model holds the stream up to sequence ${memory.checkpoint}` : "";
  const pinned = memory.pinnedInFile === undefined ? "" : `it pinned the trust anchor ${memory.pinnedInFile}`;
  return new StartRefused(
    `the event stream ${stream} is missing from NATS at ${natsUrl}, but ${dataDir} was built from it (${[held, pinned]
      .filter((part) => part !== "")
      .join(
        "; ",
      )}). Nothing was created. Restore the stream from a backup and start again; only to begin an empty ledger on purpose, move ${dataDir} aside first.`,
  );
}

export function streamBehind(stream: string, head: number, dataDir: string, memory: LedgerMemory): StartRefused {
  return new StartRefused(
    `the event stream ${stream} ends at sequence ${head}, behind what the read model in ${dataDir} has applied (sequence ${memory.checkpoint}): it was replaced or restored from an older backup. Restore the complete stream, or, to accept the stream as it is now on purpose, run \`keyledger projections rebuild --data-dir ${dataDir}\` with the daemon stopped.`,
  );
}

/**
 * Makes sure the stream has a trust anchor and that it is the one this daemon expects: pinned by
 * `--trust-anchor`, else by `<data-dir>/trust-anchor` from an earlier start. On a stream without a
 * genesis (a new stream, or one written before the trust root) this daemon enrols its own key as
 * the anchor, unless a pin names another key. The anchor is pinned in the data directory at first
 * start and logged. Answers whether this daemon's own key is trusted.
 */
export async function establishTrust(deps: {
  readonly ledger: TrustLedger;
  readonly signingKeys: SigningKeys;
  readonly signer: Signer;
  readonly dataDir: string;
  readonly stream: string;
  /** `--trust-anchor`, if given. */
  readonly configured: string | undefined;
  readonly memory: LedgerMemory;
  /** Whether the stream holds any event yet. */
  readonly hasEvents: boolean;
  readonly logger: Logger;
}): Promise<{ anchor: string; ownKeyTrusted: boolean }> {
  const { ledger, signer, dataDir, memory, logger } = deps;
  const pinned = deps.configured ?? memory.pinnedInFile;
  if (deps.configured !== undefined && memory.pinnedInFile !== undefined && deps.configured !== memory.pinnedInFile)
    throw new StartRefused(
      `--trust-anchor ${deps.configured} differs from the anchor ${memory.pinnedInFile} pinned in ${dataDir}/${TRUST_ANCHOR_FILE}: this data directory belongs to another ledger`,
    );
  const mismatch = ledger.refusedStatements.find(({ problem }) => problem.code === "anchor_mismatch");
  // Someone else's genesis came first on a stream without events (a race on a new stream): it does
  // not count against the pin, and the pinned anchor still enrols itself after it. A stream with
  // events under another anchor is another ledger.
  const racedOnEmptyStream = !deps.hasEvents && pinned === signer.keyId;
  if (ledger.trust.anchor === null && mismatch !== undefined && !racedOnEmptyStream)
    throw new StartRefused(
      `the stream ${deps.stream} is not the ledger this daemon expects: ${mismatch.problem.reason} (sequence ${mismatch.seq}). Point the daemon at the right stream, or restore it from a backup.`,
    );
  if (ledger.trust.anchor === null) {
    if (pinned !== undefined && pinned !== signer.keyId)
      throw new StartRefused(
        `the stream ${deps.stream} holds no trust anchor, but this daemon expects ${pinned}: it is not the ledger the anchor belongs to. Restore the stream, or start the daemon whose key is ${pinned} first.`,
      );
    if (await deps.signingKeys.enrolGenesis())
      logger.info({ kid: signer.keyId }, "genesis: this daemon's signing key is the ledger's trust anchor");
  }
  const anchor = ledger.trust.anchor;
  if (anchor === null) throw new StartRefused(`the stream ${deps.stream} has no trust anchor and none could be enrolled`);
  if (pinned !== undefined && pinned !== anchor)
    throw new StartRefused(`the stream ${deps.stream} has the trust anchor ${anchor}, not ${pinned} as this daemon expects`);
  if (memory.pinnedInFile === undefined) {
    const path = await writeTrustAnchor(dataDir, anchor);
    logger.info(
      { anchor, path },
      `trust anchor of this ledger: ${anchor} (pinned in ${path}; auditors pin it too: keyledger audit verify --anchor ${anchor})`,
    );
  } else {
    logger.info({ anchor }, "trust anchor of this ledger");
  }
  const ownKeyTrusted = ledger.trustedNow(signer.keyId) !== null;
  const revokedAt = ledger.trust.keys.get(signer.keyId)?.revokedAtSeq ?? null;
  if (revokedAt !== null)
    logger.error(
      { kid: signer.keyId, revokedAtSeq: revokedAt },
      `this daemon's signing key ${signer.keyId} was revoked at sequence ${revokedAt}: it signs nothing, ever again; give the daemon a new key (a new ${"signing.key"}) and have an admin approve that one`,
    );
  else if (!ownKeyTrusted)
    logger.warn(
      { kid: signer.keyId },
      `this daemon's signing key ${signer.keyId} is not trusted by the ledger: it serves reads and verifications but signs nothing until an admin runs \`keyledger signing-keys approve ${signer.keyId}\` against a trusted daemon`,
    );
  return { anchor, ownKeyTrusted };
}

/**
 * The last key statement this data directory's read model passed must still be in the stream's
 * chain, unchanged: a stream rewritten from a copy that leaves out a statement (a revocation, say)
 * and is padded back to its old length would otherwise start daemons that trust a revoked key.
 */
export function checkKeysHead(
  ledger: Pick<TrustLedger, "statementOfVersion">,
  head: { readonly seq: number; readonly version: number; readonly hash: string } | null,
  stream: string,
  dataDir: string,
): void {
  if (head === null) return;
  const found = ledger.statementOfVersion(head.version);
  if (found !== null && found.hash === head.hash) return;
  throw new StartRefused(
    `the stream ${stream} no longer holds the signing key statement version ${head.version} (sequence ${head.seq}) that the read model in ${dataDir} passed: a key statement was removed or replaced, and with it maybe a revocation. Restore the stream from a backup; only to accept the stream as it is on purpose, run \`keyledger projections rebuild --data-dir ${dataDir}\` with the daemon stopped.`,
  );
}
