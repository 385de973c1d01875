/** Deeper than any value keyledger writes: anything deeper is refused rather than recursed into. */
const MAX_DEPTH = 32;

/**
 * Deterministic JSON: object keys sorted, no whitespace, `undefined` members dropped. Hashes and
 * signatures are computed over these bytes so that any implementation can recompute them.
 * (Written as plain loops: every event is hashed this way on every replay and audit.) Throws on a
 * value that has no canonical form (a number that is not finite, nesting deeper than any value of
 * ours): a stored message holding one is not a readable message.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("non-finite number");
    return JSON.stringify(value);
  }
  if (depth >= MAX_DEPTH) throw new Error("nested too deeply");
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i] ?? null, depth + 1);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // The default sort compares UTF-16 code units, as `a < b` does.
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${canonicalJson(member, depth + 1)}`;
    first = false;
  }
  return `${out}}`;
}
