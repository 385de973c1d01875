import type { AsOf, ServiceAccount } from "@keyledger/client/http";
import { useEffect, useState } from "preact/hooks";
import { canChange, type Session } from "../session.js";
import { NewAccount } from "./new-account.js";
import { FailureLine, useFailure } from "../failure.js";

/** How many accounts of the list have their keys counted (one request each). */
const KEYS_FOR = 100;

/** Every service account, searchable by name, description and role; changes only for an admin. */
export function AccountsPage(props: {
  session: Session;
  asOf: AsOf | null;
  onSessionEnded: () => void;
  onOpen: (account: string) => void;
}) {
  const [accounts, setAccounts] = useState<ServiceAccount[] | null>(null);
  const { failure, fail } = useFailure(props.onSessionEnded, "The accounts could not be read; try again.");
  const [search, setSearch] = useState("");
  const [asked, setAsked] = useState(0);
  const [creating, setCreating] = useState(false);
  const [usage, setUsage] = useState<ReadonlyMap<string, { keys: number; lastUsed: string | null }>>(new Map());
  useEffect(() => {
    let current = true;
    setAccounts(null);
    props.session.api.allServiceAccounts(props.asOf === null ? {} : { asOf: props.asOf }).then(
      (all) => current && setAccounts(all),
      (error: unknown) => current && fail(error),
    );
    return () => {
      current = false;
    };
  }, [props.session, asked, props.asOf]);
  // Each account's keys: how many, and when one was last used (for the first KEYS_FOR accounts).
  useEffect(() => {
    if (accounts === null || props.asOf !== null) return;
    let current = true;
    for (const account of accounts.slice(0, KEYS_FOR))
      props.session.api.listApiKeys(account.id).then(
        (keys) => {
          const lastUsed =
            keys
              .map((key) => key.lastUsedAt)
              .filter((at): at is string => at !== null)
              .sort()
              .at(-1) ?? null;
          if (current) setUsage((known) => new Map(known).set(account.id, { keys: keys.length, lastUsed }));
        },
        () => undefined, // the row shows "…"; the list itself is what matters
      );
    return () => {
      current = false;
    };
  }, [accounts]);
  const wanted = search.trim().toLowerCase();
  const shown = (accounts ?? []).filter(
    (account) =>
      wanted === "" ||
      account.name.toLowerCase().includes(wanted) ||
      account.description.toLowerCase().includes(wanted) ||
      account.roles.some((role) => role.includes(wanted)),
  );
  return (
    <section aria-labelledby="accounts-title">
      <div class="heading">
        <h1 id="accounts-title">Service accounts</h1>
        <div class="actions">
          <button type="button" onClick={() => setAsked(asked + 1)}>
            Refresh
          </button>
          {canChange(props.session) && props.asOf === null && (
            <button type="button" class="primary" onClick={() => setCreating(true)} disabled={creating}>
              New account
            </button>
          )}
        </div>
      </div>
      {creating && canChange(props.session) && props.asOf === null && (
        <NewAccount
          session={props.session}
          onSessionEnded={props.onSessionEnded}
          onDone={(created) => {
            setCreating(false);
            if (created) setAsked(asked + 1);
          }}
        />
      )}
      <label for="search">Search</label>
      <input
        id="search"
        type="search"
        value={search}
        onInput={(event) => setSearch((event.currentTarget as HTMLInputElement).value)}
      />
      <FailureLine text={failure} />
      {accounts === null && failure === null && <p>Loading…</p>}
      {accounts !== null && (
        <table>
          <caption>
            {shown.length} of {accounts.length} accounts
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Roles</th>
              <th scope="col">Keys</th>
              <th scope="col">Last use</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((account) => (
              <tr key={account.id} data-account={account.name}>
                <td>
                  <button type="button" class="link" onClick={() => props.onOpen(account.name)}>
                    {account.name}
                  </button>
                </td>
                <td>{account.active ? "active" : "inactive"}</td>
                <td>{account.roles.join(", ")}</td>
                <td class="keys">{usage.get(account.id)?.keys ?? "…"}</td>
                <td class="last-use">{usage.has(account.id) ? (usage.get(account.id)!.lastUsed ?? "never") : "…"}</td>
                <td class="description">{account.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
