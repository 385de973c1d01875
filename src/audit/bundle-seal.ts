import { sealBytes, type BundleSeal } from "../format/index.js";
import { verifySignature } from "../signing/index.js";
import { signerAt, type TrustState } from "../trust/index.js";
import type { AuditProblem } from "./problems.js";

/** What the lines of a bundle add up to, as the verifier counted them. */
export interface BundleTally {
  readonly headerHead: number;
  /** The highest sequence of any line (0: none). */
  readonly lastSeq: number;
  readonly eventCount: number;
  readonly digest: string;
  readonly statements: number;
  readonly checkpoints: number;
}

/**
 * The problems of a bundle's end: no seal (cut off, or the export failed), a seal the lines do not
 * add up to, or one that no key trusted after the bundle's head signed. Reported at the seal's head
 * (a cut-off at the last sequence seen): what the seal adds is that a removal after the last
 * checkpoint shows, not where it was.
 */
export function sealProblems(
  seal: BundleSeal | null,
  tally: BundleTally,
  trust: TrustState,
  exportError: string | null,
): AuditProblem[] {
  if (seal === null) {
    const why =
      exportError === null ? "it was cut off" : `the export failed before its end, saying: ${JSON.stringify(exportError)}`;
    return [
      {
        seq: tally.lastSeq,
        code: "bundle_cut_off",
        reason: `the bundle ends after sequence ${tally.lastSeq} without its seal: ${why}; whatever came after is missing`,
      },
    ];
  }
  const problems: AuditProblem[] = [];
  const at = seal.head;
  const differences = [
    seal.head !== tally.headerHead ? `the header says head ${tally.headerHead}, the seal ${seal.head}` : null,
    tally.lastSeq > seal.head ? `a line has sequence ${tally.lastSeq}, after the seal's head ${seal.head}` : null,
    seal.eventCount !== tally.eventCount
      ? `the seal counts ${seal.eventCount} events, the bundle holds ${tally.eventCount}`
      : null,
    seal.digest !== tally.digest ? "the running digest of the bundle's events is not the seal's" : null,
    seal.statements !== tally.statements
      ? `the seal counts ${seal.statements} key statements, the bundle holds ${tally.statements}`
      : null,
    seal.checkpoints !== tally.checkpoints
      ? `the seal counts ${seal.checkpoints} checkpoints, the bundle holds ${tally.checkpoints}`
      : null,
  ].filter((difference): difference is string => difference !== null);
  if (differences.length > 0)
    problems.push({
      seq: at,
      code: "bundle_seal_mismatch",
      reason: `the lines do not add up to the seal (${differences.join("; ")}): lines were removed, inserted, altered or reordered`,
    });
  if (seal.signingKeyId === null || seal.signature === null) {
    problems.push({
      seq: at,
      code: "bundle_unsealed",
      reason:
        "the bundle is not sealed (the exporting daemon's signing key was not trusted): a cut-off or a removal after its last checkpoint cannot be told",
    });
    return problems;
  }
  const signer = signerAt(trust, seal.signingKeyId, seal.head + 1);
  if ("code" in signer) {
    problems.push({ seq: at, code: "untrusted_signer", reason: `seal ${signer.reason}`, kid: signer.kid });
  } else if (!verifySignature(signer.publicKey, sealBytes(seal), Buffer.from(seal.signature, "base64url"))) {
    problems.push({
      seq: at,
      code: "bad_signature",
      reason: "the seal's signature does not verify: the seal was forged or altered",
      kid: seal.signingKeyId,
    });
  }
  return problems;
}
