import type { ProjectorTrust } from "./batch-checks.js";
import type { ReadModel } from "./read-model.js";

/**
 * Whether the read model passed over events that now count: signed by a key the ledger trusts at
 * their sequence since (a signer of a stream older than the trust root, approved for its history).
 * Such a read model is rebuilt from the stream, since the events after them were judged without them.
 */
export async function reprojectionNeeded(readModel: ReadModel, trust: Pick<ProjectorTrust, "signerAtCovered">): Promise<boolean> {
  for (const entry of await readModel.skipped()) {
    if (entry.code !== "untrusted_signer" || entry.kid === undefined) continue;
    if (!("code" in trust.signerAtCovered(entry.kid, entry.seq))) return true;
  }
  return false;
}
