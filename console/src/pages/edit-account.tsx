import type { Role, ServiceAccount } from "@keyledger/client/http";
import { KeyledgerApiError } from "@keyledger/client/http";
import { useState } from "preact/hooks";
import { sessionEnded, type Session } from "../session.js";

const ROLES: readonly Role[] = ["admin", "auditor", "verifier"];

/** Edits an account's name, roles and description (the API refuses an admin locking itself out). */
export function EditAccount(props: {
  session: Session;
  account: ServiceAccount;
  onDone: (changed: boolean) => void;
  onSessionEnded: () => void;
}) {
  const { account } = props;
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const roles = ROLES.filter((role) => data.get(`edit-role-${role}`) === "on");
    if (roles.length === 0) return setError("Choose at least one role.");
    try {
      await props.session.api.updateServiceAccount(account.id, {
        name: String(data.get("name") ?? "").trim(),
        description: String(data.get("description") ?? ""),
        roles,
      });
      props.onDone(true);
    } catch (failure) {
      if (sessionEnded(failure)) return props.onSessionEnded();
      setError(failure instanceof KeyledgerApiError ? failure.message : "The account could not be changed; try again.");
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="edit-title">
      <h2 id="edit-title">Edit {account.name}</h2>
      <label for="edit-name">Name</label>
      <input id="edit-name" name="name" required maxLength={64} value={account.name} />
      <fieldset>
        <legend>Roles</legend>
        {ROLES.map((role) => (
          <label class="inline" key={role}>
            <input type="checkbox" name={`edit-role-${role}`} checked={account.roles.includes(role)} /> {role}
          </label>
        ))}
      </fieldset>
      <label for="edit-description">Description</label>
      <input id="edit-description" name="description" maxLength={1000} value={account.description} />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={() => props.onDone(false)}>
        Cancel
      </button>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
