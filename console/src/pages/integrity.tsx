import type { AuditReport, SigningKeyList, StreamCheckpoint } from "@keyledger/client/http";
import { useEffect, useState } from "preact/hooks";
import { type Session } from "../session.js";
import { FailureLine, useFailure } from "../failure.js";

/** The ledger's integrity: the trust anchor and signing keys, and the daemon's audit of every event. */
export function IntegrityPage(props: { session: Session; onSessionEnded: () => void; onAudited: (report: AuditReport) => void }) {
  const { api } = props.session;
  const [keys, setKeys] = useState<SigningKeyList | null>(null);
  const [report, setReport] = useState<AuditReport | null>(null);
  const [checkpoint, setCheckpoint] = useState<StreamCheckpoint | null | undefined>(undefined);
  const [progress, setProgress] = useState<string | null>(null);
  const { failure, fail, say: setFailure } = useFailure(props.onSessionEnded);
  useEffect(() => {
    api.signingKeys().then(setKeys, fail);
    api.auditCheckpoint().then(setCheckpoint, fail);
  }, []);
  const audit = async (): Promise<void> => {
    setFailure(null);
    setReport(null);
    setProgress("Starting the audit…");
    try {
      const done = await api.verifyAudit({
        onProgress: (step) => setProgress(`Checked ${step.checked} of ${step.head} event messages…`),
      });
      setReport(done);
      props.onAudited(done);
    } catch (error) {
      fail(error);
    } finally {
      setProgress(null);
    }
  };
  return (
    <section aria-labelledby="integrity-title">
      <h1 id="integrity-title">Integrity</h1>
      <h2>Trust root</h2>
      {keys === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <p>
            Trust anchor: <code class="anchor">{keys.anchor ?? "none"}</code>
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Signing key</th>
                <th scope="col">Status</th>
                <th scope="col">Enrolled at</th>
                <th scope="col">Revoked at</th>
              </tr>
            </thead>
            <tbody>
              {keys.items.map((key) => (
                <tr key={key.kid} data-kid={key.kid}>
                  <td>{key.anchor ? `${key.kid} (anchor)` : key.kid}</td>
                  <td>{key.status}</td>
                  <td>{key.enrolledAtSeq ?? "-"}</td>
                  <td>{key.revokedAtSeq === null ? "-" : `${key.revokedAtSeq}: ${key.reason ?? ""}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Latest checkpoint</h2>
      {checkpoint === undefined ? (
        <p>Loading…</p>
      ) : checkpoint === null ? (
        <p class="checkpoint">No signed checkpoint yet.</p>
      ) : (
        <p class="checkpoint">
          #{checkpoint.seq} covers the event messages up to #{checkpoint.upToSeq} ({checkpoint.eventCount} of them); its hash{" "}
          <code>{checkpoint.hash}</code>. Signed, and checked by this daemon as it passed it.
        </p>
      )}
      <h2>Audit</h2>
      <p class="hint">
        The daemon checks every event message: its hash, its account's chain, its signature by a key the ledger trusted at its
        sequence, and the checkpoints.
      </p>
      <button type="button" onClick={audit} disabled={progress !== null}>
        Run the audit
      </button>
      {progress !== null && <p role="status">{progress}</p>}
      <FailureLine text={failure} />
      {report !== null && (
        <div class="report">
          <p class={report.ok ? "ok" : "error"} role="status">
            {report.ok
              ? `No problem found: ${report.checked} event messages checked up to sequence ${report.head}.`
              : `${report.problems.length}${report.truncated ? "+" : ""} problem(s) in ${report.checked} event messages checked up to sequence ${report.head}.`}
          </p>
          <dl class="fields">
            <dt>Anchor found</dt>
            <dd>{report.anchor ?? "none"}</dd>
            <dt>Anchor held to</dt>
            <dd>{report.pinnedAnchor ?? "none"}</dd>
            <dt>Checkpoints</dt>
            <dd>
              {report.checkpoints.checked} checked, covering {report.checkpoints.coveredEvents} events
            </dd>
            <dt>Key statements</dt>
            <dd>
              {report.statements.counted} of {report.statements.checked} count
            </dd>
          </dl>
          {report.problems.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Sequence</th>
                  <th scope="col">Problem</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {report.problems.map((problem) => (
                  <tr key={`${problem.seq}-${problem.code}`} data-problem-seq={problem.seq}>
                    <td>{problem.seq}</td>
                    <td>{problem.code}</td>
                    <td>{problem.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
