import type { Role } from "@keyledger/client/http";

export const ROLES: readonly Role[] = ["admin", "auditor", "verifier"];

/** The roles picked in a form whose checkboxes are named `<prefix>-<role>`. */
export function pickedRoles(data: FormData, prefix: string): Role[] {
  return ROLES.filter((role) => data.get(`${prefix}-${role}`) === "on");
}

/** One checkbox per role, those of `checked` ticked. */
export function RolesFieldset(props: { prefix: string; checked: readonly string[] }) {
  return (
    <fieldset>
      <legend>Roles</legend>
      {ROLES.map((role) => (
        <label class="inline" key={role}>
          <input type="checkbox" name={`${props.prefix}-${role}`} checked={props.checked.includes(role)} /> {role}
        </label>
      ))}
    </fieldset>
  );
}
