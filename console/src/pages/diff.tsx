import type { AccountChange, AuditDiff, ServiceAccount } from "@keyledger/client/http";
import { useState } from "preact/hooks";
import type { Session } from "../session.js";
import { parsePoint, POINT_HELP } from "../time-point.js";
import { FailureLine, useFailure } from "../failure.js";

/** What differs between two versions of an account, field by field. */
function fieldChanges(before: ServiceAccount | null, after: ServiceAccount | null): string {
  if (before === null || after === null) return "";
  const changed: string[] = [];
  if (before.name !== after.name) changed.push(`name ${before.name} → ${after.name}`);
  if (before.active !== after.active)
    changed.push(`${before.active ? "active" : "inactive"} → ${after.active ? "active" : "inactive"}`);
  if (before.roles.join(",") !== after.roles.join(","))
    changed.push(`roles ${before.roles.join(", ")} → ${after.roles.join(", ")}`);
  if (before.description !== after.description) changed.push("description changed");
  return changed.join("; ");
}

function keysText(account: AccountChange): string {
  return account.keys.map((key) => `${key.name}: ${key.change}`).join(", ");
}

/** The accounts and keys created, deleted or changed between two points, with before and after. */
export function DiffPage(props: { session: Session; onSessionEnded: () => void }) {
  const [diff, setDiff] = useState<AuditDiff | null>(null);
  const { failure, fail, say: setFailure } = useFailure(props.onSessionEnded);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const from = parsePoint(String(data.get("from") ?? ""));
    const toText = String(data.get("to") ?? "").trim();
    const to = toText === "" ? undefined : parsePoint(toText);
    if (from === null || to === null) return setFailure(`A point is ${POINT_HELP}.`);
    setBusy(true);
    setFailure(null);
    try {
      setDiff(await props.session.api.auditDiff(from, to));
    } catch (error) {
      fail(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="diff-title">
      <h1 id="diff-title">What changed</h1>
      <form class="filters" onSubmit={submit}>
        <label for="diff-from">From</label>
        <input id="diff-from" name="from" required placeholder="42 or 2026-12-06T10:00:00Z" />
        <label for="diff-to">To (empty: now)</label>
        <input id="diff-to" name="to" />
        <button type="submit" disabled={busy}>
          Compare
        </button>
      </form>
      <FailureLine text={failure} />
      {diff !== null && (
        <>
          <p role="status">
            From sequence {diff.from.seq} ({diff.from.at}) to {diff.to.seq} ({diff.to.at}): {diff.events} events,{" "}
            {diff.accounts.length} accounts changed.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Change</th>
                <th scope="col">Fields</th>
                <th scope="col">Keys</th>
              </tr>
            </thead>
            <tbody>
              {diff.accounts.map((account) => (
                <tr key={account.id} data-diff-account={account.name}>
                  <td>{account.name}</td>
                  <td>{account.change}</td>
                  <td>{fieldChanges(account.before, account.after)}</td>
                  <td>{keysText(account)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
