import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 48 bits of milliseconds and 80 random bits in Crockford base32, sortable by creation time. */
export function ulid(now: number = Date.now()): string {
  let time = "";
  let ms = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  const bytes = randomBytes16();
  let random = "";
  for (let i = 0; i < 16; i++) random += CROCKFORD[bytes[i]! % 32];
  return time + random;
}

/** Random bytes drawn 4 KiB at a time: one call into the CSPRNG for 256 ids instead of one each. */
let pool = Buffer.alloc(0);
let offset = 0;
function randomBytes16(): Buffer {
  if (offset + 16 > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += 16;
  return pool.subarray(offset - 16, offset);
}

export const newAccountId = (): string => `sa_${ulid()}`;
export const newKeyId = (): string => `key_${ulid()}`;
export const newEventId = (): string => `evt_${ulid()}`;
export const newRequestId = (): string => `req_${ulid()}`;
export const newTokenId = (): string => `tok_${ulid()}`;
export const newStatementId = (): string => `stm_${ulid()}`;
