import type { Role } from "@keyledger/client/http";
import { pickedRoles, RolesFieldset } from "./roles.js";

/** The API's rule for a name (a letter or digit, then letters, digits, `_`, `.`, `-`). */
const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.\\-]*";

/** The fields an account is created and edited with: its name, roles and description (ids begin with `prefix`). */
export function AccountFields(props: {
  prefix: string;
  account?: { readonly name: string; readonly roles: readonly string[]; readonly description: string };
}) {
  const { prefix, account } = props;
  return (
    <>
      <label for={`${prefix}-name`}>Name</label>
      <input id={`${prefix}-name`} name="name" required maxLength={64} pattern={NAME_PATTERN} value={account?.name} />
      <RolesFieldset prefix={`${prefix}-role`} checked={account?.roles ?? []} />
      <label for={`${prefix}-description`}>Description</label>
      <input id={`${prefix}-description`} name="description" maxLength={1000} value={account?.description} />
    </>
  );
}

/** What `AccountFields` hold in a submitted form: the name trimmed, the description as typed, the roles picked. */
export function accountInput(data: FormData, prefix: string): { name: string; description: string; roles: Role[] } {
  return {
    name: String(data.get("name") ?? "").trim(),
    description: String(data.get("description") ?? ""),
    roles: pickedRoles(data, `${prefix}-role`),
  };
}
