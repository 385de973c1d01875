import type { ServiceAccount } from "@keyledger/client/http";
import type { Session } from "../session.js";
import { FailureLine, useFailure } from "../failure.js";
import { AccountFields, accountInput } from "../account-fields.js";

/** Edits an account's name, roles and description (the API refuses an admin locking itself out). */
export function EditAccount(props: {
  session: Session;
  account: ServiceAccount;
  onDone: (changed: boolean) => void;
  onSessionEnded: () => void;
}) {
  const { account } = props;
  const {
    failure: error,
    fail,
    say: setError,
  } = useFailure(props.onSessionEnded, "The account could not be changed; try again.");
  const submit = async (event: Event) => {
    event.preventDefault();
    const input = accountInput(new FormData(event.currentTarget as HTMLFormElement), "edit");
    if (input.roles.length === 0) return setError("Choose at least one role.");
    try {
      await props.session.api.updateServiceAccount(account.id, input);
      props.onDone(true);
    } catch (failure) {
      fail(failure);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="edit-title">
      <h2 id="edit-title">Edit {account.name}</h2>
      <AccountFields prefix="edit" account={account} />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={() => props.onDone(false)}>
        Cancel
      </button>
      <FailureLine text={error} />
    </form>
  );
}
