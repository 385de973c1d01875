import { InvalidValueError } from "../domain/index.js";
import type { AsOf } from "../projections/index.js";

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The `asOf` query parameter: a stream sequence (digits) or an ISO-8601 instant with its zone. */
export function parseAsOf(value: string, field = "asOf"): AsOf {
  if (/^\d+$/.test(value)) {
    const seq = Number(value);
    if (!Number.isSafeInteger(seq)) throw new InvalidValueError(field, `${field} is not a stream sequence this stream can hold`);
    return { seq };
  }
  if (!ISO_INSTANT.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidValueError(
      field,
      `${field} must be an ISO-8601 time with its zone (2026-01-31T12:00:00Z) or a stream sequence`,
    );
  }
  return { time: new Date(value).toISOString() };
}
