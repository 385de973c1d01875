import type { ApiKey, ApiKeyWithSecret, AsOf, ServiceAccountWithKeys } from "@keyledger/client/http";
import { useEffect, useState } from "preact/hooks";
import { canChange, type Session } from "../session.js";
import { EditAccount } from "./edit-account.js";
import { ShownOnce } from "./shown-once.js";
import { FailureLine, useFailure } from "../failure.js";

/** A key's status as a person reads it: active, inactive, expired; a previous secret retained until … */
export function keyStatus(key: ApiKey, now: number): string {
  const expired = key.expiresAt !== null && Date.parse(key.expiresAt) <= now;
  const base = !key.active ? "inactive" : expired ? "expired" : "active";
  const retained = key.retainedUntil !== null && Date.parse(key.retainedUntil) > now;
  return retained ? `${base}; previous secret retained until ${key.retainedUntil}` : base;
}

/** One account: its fields and keys, and for an admin the changes to them. */
export function AccountPage(props: {
  session: Session;
  asOf: AsOf | null;
  account: string;
  onBack: () => void;
  onSessionEnded: () => void;
}) {
  const { session } = props;
  const [account, setAccount] = useState<ServiceAccountWithKeys | null>(null);
  const { failure, fail, say: setFailure } = useFailure(props.onSessionEnded);
  const [asked, setAsked] = useState(0);
  const [editing, setEditing] = useState(false);
  // Asked by the name it was opened with, then by its id: a rename keeps the page on it.
  const [target, setTarget] = useState(props.account);
  const [secret, setSecret] = useState<{ title: string; key: ApiKeyWithSecret } | null>(null);
  const [confirming, setConfirming] = useState<null | { what: string; consequence: string; run: () => Promise<unknown> }>(null);
  // In the past nothing can be changed: the page shows what was.
  const admin = canChange(session) && props.asOf === null;

  // Travelling in time closes whatever change was under way: the past is only looked at.
  useEffect(() => {
    setEditing(false);
    setConfirming(null);
    setSecret(null);
  }, [props.asOf]);

  useEffect(() => {
    let current = true;
    const request =
      props.asOf === null ? session.api.getServiceAccount(target) : session.api.getServiceAccount(target, { asOf: props.asOf });
    request.then(
      (found) => {
        if (!current) return;
        setAccount(found);
        setTarget(found.id);
      },
      (error: unknown) => current && fail(error),
    );
    return () => {
      current = false;
    };
  }, [target, asked, props.asOf]);

  async function change(run: () => Promise<unknown>): Promise<void> {
    setFailure(null);
    try {
      await run();
      setAsked((n) => n + 1);
    } catch (error) {
      fail(error);
    }
  }

  if (account === null) return failure === null ? <p>Loading…</p> : <FailureLine text={failure} />;
  const now = Date.now();
  const id = account.id;
  return (
    <section aria-labelledby="account-title">
      <button type="button" onClick={props.onBack}>
        ← All accounts
      </button>
      <h1 id="account-title">{account.name}</h1>
      <dl class="fields">
        <dt>Status</dt>
        <dd>{account.active ? "active" : "inactive"}</dd>
        <dt>Roles</dt>
        <dd>{account.roles.join(", ")}</dd>
        <dt>Description</dt>
        <dd>{account.description}</dd>
        <dt>Id</dt>
        <dd>{account.id}</dd>
        <dt>Created</dt>
        <dd>{account.createdAt}</dd>
      </dl>
      {admin && (
        <div class="actions">
          <button type="button" onClick={() => setEditing(true)} disabled={editing}>
            Edit account
          </button>
          <button type="button" onClick={() => change(() => session.api.updateServiceAccount(id, { active: !account.active }))}>
            {account.active ? "Deactivate account" : "Activate account"}
          </button>
          <button
            type="button"
            class="danger"
            onClick={() =>
              setConfirming({
                what: `Delete the account ${account.name}`,
                consequence: `Its ${account.apiKeys.length} key(s) stop working at once, and access tokens issued from them too. This cannot be undone.`,
                run: async () => {
                  await session.api.deleteServiceAccount(id);
                  props.onBack();
                },
              })
            }
          >
            Delete account
          </button>
        </div>
      )}
      {admin && editing && (
        <EditAccount
          session={session}
          account={account}
          onSessionEnded={props.onSessionEnded}
          onDone={(changed) => {
            setEditing(false);
            if (changed) setAsked((n) => n + 1);
          }}
        />
      )}
      <FailureLine text={failure} />
      {admin && confirming !== null && (
        <div class="panel" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
          <h2 id="confirm-title">{confirming.what}?</h2>
          <p id="confirm-text">{confirming.consequence}</p>
          <button
            type="button"
            class="danger"
            onClick={async () => {
              const { run } = confirming;
              setConfirming(null);
              await change(run);
            }}
          >
            Yes, delete
          </button>
          <button type="button" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {admin && secret !== null && (
        <ShownOnce title={secret.title} owner={account.name} apiKey={secret.key} onDone={() => setSecret(null)} />
      )}
      <h2>API keys</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Hint</th>
            <th scope="col">Last used</th>
            {admin && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {account.apiKeys.map((key) => (
            <tr key={key.id} data-key={key.name}>
              <td>{key.name}</td>
              <td class="status">{keyStatus(key, now)}</td>
              <td>{key.hint}</td>
              <td>{key.lastUsedAt ?? "never"}</td>
              {admin && (
                <td>
                  <KeyActions
                    onRotate={(minutes) =>
                      change(async () =>
                        setSecret({
                          title: `Key ${key.name} rotated`,
                          key: await session.api.rotateApiKey(id, key.id, minutes * 60),
                        }),
                      )
                    }
                    onToggle={() => change(() => session.api.updateApiKey(id, key.id, { active: !key.active }))}
                    active={key.active}
                    name={key.name}
                    onDelete={() =>
                      setConfirming({
                        what: `Delete the key ${key.name} of ${account.name}`,
                        consequence:
                          "Whatever uses it stops working at once, and access tokens issued from it too. This cannot be undone.",
                        run: () => session.api.deleteApiKey(id, key.id),
                      })
                    }
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form
          class="inline-form"
          onSubmit={async (event) => {
            event.preventDefault();
            const field = (event.currentTarget as HTMLFormElement).elements.namedItem("keyName") as HTMLInputElement;
            const name = field.value.trim();
            await change(async () =>
              setSecret({ title: `Key ${name} created`, key: await session.api.createApiKey(id, { name }) }),
            );
            field.value = "";
          }}
        >
          <label for="key-name">New key's name</label>
          <input id="key-name" name="keyName" required maxLength={64} />
          <button type="submit">Create key</button>
        </form>
      )}
    </section>
  );
}

/** Rotate (with a retention in minutes, as in the CLI), deactivate or activate, delete. */
function KeyActions(props: {
  name: string;
  active: boolean;
  onRotate: (minutes: number) => void;
  onToggle: () => void;
  onDelete: () => void;
}) {
  const [minutes, setMinutes] = useState("0");
  const field = `retain-${props.name}`;
  return (
    <div class="key-actions">
      <label for={field}>Keep the old secret (minutes)</label>
      <input
        id={field}
        type="number"
        min="0"
        max="43200"
        value={minutes}
        onInput={(event) => setMinutes((event.currentTarget as HTMLInputElement).value)}
      />
      <button type="button" onClick={() => props.onRotate(Math.max(0, Math.floor(Number(minutes) || 0)))}>
        Rotate {props.name}
      </button>
      <button type="button" onClick={props.onToggle}>
        {props.active ? `Deactivate ${props.name}` : `Activate ${props.name}`}
      </button>
      <button type="button" class="danger" onClick={props.onDelete}>
        Delete {props.name}
      </button>
    </div>
  );
}
