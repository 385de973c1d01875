import { InvalidValueError } from "./errors.js";
import { MAX_DESCRIPTION, NAME_PATTERN, NAME_RULE, ROLES, looksLikeId, type Role } from "./rules.js";

const NAME = new RegExp(NAME_PATTERN);

export function checkName(field: string, name: string): void {
  if (!NAME.test(name)) throw new InvalidValueError(field, `${field} must be ${NAME_RULE}`);
  if (looksLikeId(name)) throw new InvalidValueError(field, `${field} must not have the form of an id`);
}

export function checkDescription(field: string, description: string): void {
  if (description.length > MAX_DESCRIPTION) {
    throw new InvalidValueError(field, `${field} must be at most ${MAX_DESCRIPTION} characters`);
  }
}

/** Roles are a set: sorted, without duplicates, each one known. */
export function normalizeRoles(field: string, roles: readonly string[]): Role[] {
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new InvalidValueError(field, `${field} must contain only ${ROLES.join(", ")}`);
    }
  }
  return [...new Set(roles as Role[])].sort();
}

export function checkFutureInstant(field: string, instant: string, now: string): void {
  const at = Date.parse(instant);
  if (Number.isNaN(at)) throw new InvalidValueError(field, `${field} must be an ISO-8601 date-time`);
  if (at <= Date.parse(now)) throw new InvalidValueError(field, `${field} must be in the future`);
}

export function sameRoles(a: readonly Role[], b: readonly Role[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}
