import type { ApiKeyWithSecret } from "@keyledger/client/http";
import { useState } from "preact/hooks";
import type { Session } from "../session.js";
import { ShownOnce } from "./shown-once.js";
import { FailureLine, useFailure } from "../failure.js";
import { AccountFields, accountInput } from "../account-fields.js";

/** Creates a service account with its first key, and shows that key once, with a way to copy it. */
export function NewAccount(props: { session: Session; onDone: (created: boolean) => void; onSessionEnded: () => void }) {
  const {
    failure: error,
    fail,
    say: setError,
  } = useFailure(props.onSessionEnded, "The account could not be created; try again.");
  const [created, setCreated] = useState<{ name: string; key: ApiKeyWithSecret } | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    const { name, roles, description } = accountInput(new FormData(event.currentTarget as HTMLFormElement), "new");
    if (roles.length === 0) return setError("Choose at least one role.");
    try {
      const answer = await props.session.api.createServiceAccount({
        name,
        roles,
        ...(description.trim() === "" ? {} : { description: description.trim() }),
      });
      if (answer.apiKey === undefined) return setError("The account was created without a key.");
      setCreated({ name: answer.serviceAccount.name, key: answer.apiKey });
    } catch (failure) {
      fail(failure);
    }
  };
  if (created !== null)
    return (
      <ShownOnce
        title={`Account ${created.name} created`}
        owner={created.name}
        apiKey={created.key}
        onDone={() => props.onDone(true)}
      />
    );
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="new-title">
      <h2 id="new-title">New service account</h2>
      <AccountFields prefix="new" />
      <button type="submit" class="primary">
        Create
      </button>
      <button type="button" onClick={() => props.onDone(false)}>
        Cancel
      </button>
      <FailureLine text={error} />
    </form>
  );
}
