import { EVENT_TYPES } from "../domain/index.js";
import type { EventType } from "../client/http.js";
import { UsageError } from "./usage-error.js";

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A stream sequence: a non-negative integer. */
export function parseSequence(flag: string, value: string): number {
  const trimmed = value.trim();
  if (!/^\d{1,16}$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed)))
    throw new UsageError(`${flag} must be a stream sequence (an integer of 0 or more), got ${JSON.stringify(value)}`);
  return Number(trimmed);
}

/** A point in history: a stream sequence, or an ISO-8601 instant with its zone (no guessing at local time). */
export function parseAsOf(flag: string, value: string): string {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return String(parseSequence(flag, trimmed));
  if (!ISO_INSTANT.test(trimmed) || Number.isNaN(Date.parse(trimmed))) {
    throw new UsageError(
      `${flag} must be an ISO-8601 time with its zone (2030-01-31T12:00:00Z) or a stream sequence (42), got ${JSON.stringify(value)}`,
    );
  }
  return trimmed;
}

export function parseEventType(flag: string, value: string): EventType {
  const found = EVENT_TYPES.find((type) => type === value);
  if (found === undefined) throw new UsageError(`${flag} must be one of ${EVENT_TYPES.join(", ")}, got ${JSON.stringify(value)}`);
  return found;
}

export function parseCount(flag: string, value: string, max: number): number {
  const trimmed = value.trim();
  if (!/^\d{1,9}$/.test(trimmed) || Number(trimmed) < 1 || Number(trimmed) > max)
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  return Number(trimmed);
}
