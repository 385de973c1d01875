import { looksLikeId, MAX_DESCRIPTION, NAME_PATTERN, ROLES } from "../domain/index.js";
import { UsageError } from "./usage-error.js";

const NAME = new RegExp(NAME_PATTERN);

/**
 * What can be checked before a request is checked here, in a sentence a person would write (exit
 * 2, nothing sent); the daemon checks the same again.
 */
export function checkNameLocally(what: string, name: string): void {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 77)}...` : name);
  if (name === "") throw new UsageError(`${what} is empty: a name needs at least one character`);
  if (name.length > 64) throw new UsageError(`${what} ${shown} is ${name.length} characters long: a name has at most 64`);
  if (!NAME.test(name)) {
    const first = /^[A-Za-z0-9]/.test(name) ? null : name[0];
    throw new UsageError(
      first !== null && first !== undefined
        ? `${what} ${shown} starts with ${JSON.stringify(first)}: a name starts with a letter or a digit`
        : `${what} ${shown} has a character a name cannot have: use only letters, digits, and _ . -`,
    );
  }
  if (looksLikeId(name)) throw new UsageError(`${what} ${shown} looks like an id (sa_… or key_…): choose another name`);
}

export function checkDescriptionLocally(what: string, description: string): void {
  if (description.length > MAX_DESCRIPTION)
    throw new UsageError(`${what} is ${description.length} characters long: a description has at most ${MAX_DESCRIPTION}`);
}

export function checkRolesLocally(roles: readonly string[]): void {
  for (const role of roles)
    if (!(ROLES as readonly string[]).includes(role))
      throw new UsageError(`--role ${JSON.stringify(role)} is not a role: the roles are ${ROLES.join(", ")}`);
}
