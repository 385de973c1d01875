/**
 * The failed-authentication limiter from the attacker's side: every way to get a fresh budget
 * (another address of one /64, the IPv4-mapped spelling, another source address against one key
 * id, a forged token claim) and every way to make it grow without bound.
 */
import { describe, expect, it } from "vitest";
import { FailedAuthLimiter, MAX_BUCKETS } from "../../src/auth/index.js";
import { addressBucket } from "../../src/auth/client-address.js";

const LIMIT = 3;
const MINUTE = 60_000;
const t0 = 1_000_000;

/** A syntactically valid API key of key id `key_<id>` with a secret that is not its own. */
const guess = (id: string, n: number): string => `kl_${id}_${String(n).padStart(43, "A")}`;
const KEY_A = "01HZZZZZZZZZZZZZZZZZZZZZZA";
const KEY_B = "01HZZZZZZZZZZZZZZZZZZZZZZB";
/** A 26-character key id (Crockford base32) for each number. */
const crockford = (n: number): string => {
  let text = "";
  for (let rest = n; text.length < 26; rest = Math.floor(rest / 32)) text = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[rest % 32] + text;
  return text;
};
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
/** An access token anybody can write: a made-up payload and signature. */
const forgedToken = (payload: unknown): string => `${b64({ alg: "EdDSA", typ: "JWT", kid: "x" })}.${b64(payload)}.c2ln`;

/** Fails `times` times and returns what each failure was answered: 0 for 401, else Retry-After. */
function fail(
  limiter: FailedAuthLimiter,
  times: number,
  address: string | ((i: number) => string),
  credential: string | null | ((i: number) => string),
  now = t0,
): number[] {
  const answers: number[] = [];
  for (let i = 0; i < times; i++) {
    const from = typeof address === "function" ? address(i) : address;
    const presented = typeof credential === "function" ? credential(i) : credential;
    answers.push(limiter.recordFailure(from, presented, now));
  }
  return answers;
}

describe("the failed-authentication limiter, per address", () => {
  it("answers the first failures 401 (0) and, past the limit, 429 with the seconds left in the window", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    expect(fail(limiter, LIMIT, "10.0.0.1", null)).toEqual([0, 0, 0]);
    expect(limiter.recordFailure("10.0.0.1", null, t0 + 30)).toBe(60);
    expect(limiter.recordFailure("10.0.0.1", "not-a-key", t0 + 59_000)).toBe(1);
    expect(limiter.recordFailure("10.0.0.1", null, t0 + 59_999)).toBe(1);
    expect(limiter.recordFailure("10.0.0.2", null, t0 + 30)).toBe(0);
  });

  it("starts a new window, and a new count, once the old one ended", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    fail(limiter, LIMIT + 5, "10.0.0.1", null);
    expect(fail(limiter, LIMIT, "10.0.0.1", null, t0 + MINUTE)).toEqual([0, 0, 0]);
    expect(limiter.recordFailure("10.0.0.1", null, t0 + MINUTE + 1)).toBe(60);
  });

  it("does not lengthen the window for failures past the limit", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    fail(limiter, LIMIT, "10.0.0.1", null);
    fail(limiter, 100, "10.0.0.1", null, t0 + 40_000);
    expect(limiter.recordFailure("10.0.0.1", null, t0 + 40_000)).toBe(20);
    expect(limiter.recordFailure("10.0.0.1", null, t0 + MINUTE)).toBe(0);
  });

  it("puts every address of one IPv6 /64 in one bucket, however it is spelled", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    const sameSlash64 = [
      "2001:db8:1:2::1",
      "2001:db8:1:2:ffff:ffff:ffff:ffff",
      "2001:0DB8:0001:0002:0:0:0:abcd",
      "2001:db8:1:2::7%eth0",
    ];
    expect(fail(limiter, LIMIT + 1, (i) => sameSlash64[i]!, null)).toEqual([0, 0, 0, 60]);
    expect(limiter.recordFailure("2001:db8:1:2:1234::", null, t0)).toBe(60);
    // The neighbouring /64s have budgets of their own.
    expect(limiter.recordFailure("2001:db8:1:3::1", null, t0)).toBe(0);
    expect(limiter.recordFailure("2001:db8:1:1:ffff:ffff:ffff:ffff", null, t0)).toBe(0);
    expect(limiter.recordFailure("2001:db8:2:2::1", null, t0)).toBe(0);
  });

  it("counts an IPv4-mapped IPv6 address as the IPv4 address", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    expect(
      fail(limiter, LIMIT + 1, (i) => ["10.0.0.9", "::ffff:10.0.0.9", "::FFFF:a00:9", "0:0:0:0:0:ffff:10.0.0.9"][i]!, null),
    ).toEqual([0, 0, 0, 60]);
    // Not merged with other IPv4 addresses, nor with the rest of ::/64 (where ::1 lives).
    expect(limiter.recordFailure("::ffff:10.0.0.10", null, t0)).toBe(0);
    expect(limiter.recordFailure("::1", null, t0)).toBe(0);
  });

  it("names the buckets as documented", () => {
    expect(addressBucket("192.0.2.7")).toBe("192.0.2.7");
    expect(addressBucket("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressBucket("::ffff:c000:207")).toBe("192.0.2.7");
    expect(addressBucket("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBucket("2001:db8:0:0:8000::1")).toBe("2001:db8:0:0::/64");
    expect(addressBucket("fe80::1%lo")).toBe("fe80:0:0:0::/64");
    expect(addressBucket("::1")).toBe("0:0:0:0::/64");
    expect(addressBucket("::")).toBe("0:0:0:0::/64");
    expect(addressBucket("64:ff9b::192.0.2.7")).toBe("64:ff9b:0:0::/64");
    expect(addressBucket(`junk${"x".repeat(500)}`)).toHaveLength(64);
  });
});

describe("the failed-authentication limiter, per key id", () => {
  it("limits guesses at one key id from many addresses after the limit in total, not per address", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    const answers = fail(
      limiter,
      20,
      (i) => `127.0.0.${i + 2}`,
      (i) => guess(KEY_A, i),
    );
    expect(answers).toEqual([0, 0, 0, ...new Array(17).fill(60)]);
    // Every one of those addresses may still fail (at another key id) within its own budget.
    expect(limiter.recordFailure("127.0.0.2", guess(KEY_B, 0), t0)).toBe(0);
  });

  it("counts an access token by the key claim of its payload, unverified, in the key id's bucket", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    fail(
      limiter,
      LIMIT,
      (i) => `10.1.0.${i}`,
      (i) => guess(KEY_A, i),
    );
    expect(limiter.recordFailure("10.2.0.1", forgedToken({ key: `key_${KEY_A}`, sub: "sa_x" }), t0)).toBe(60);
    expect(limiter.recordFailure("10.2.0.2", forgedToken({ key: `key_${KEY_B}` }), t0)).toBe(0);
  });

  it("counts a credential whose key id cannot be read per address only", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    const unreadable = [
      "not-a-key",
      `kl_${KEY_A}_short`,
      "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
      forgedToken({ key: 42 }),
      forgedToken({ key: "key_../../etc" }),
      forgedToken(null),
      "a.!!!notbase64json.c",
    ];
    for (const [i, credential] of unreadable.entries()) expect(limiter.recordFailure(`10.3.0.${i}`, credential, t0)).toBe(0);
    expect(limiter.size).toBe(unreadable.length);
    // A second round from fresh addresses: still nobody over the limit, so no shared bucket was made.
    for (const [i, credential] of unreadable.entries()) expect(limiter.recordFailure(`10.4.0.${i}`, credential, t0)).toBe(0);
  });

  it("never lets a forged key claim reach an address's bucket", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    for (const claim of ["10.9.9.9", "ip 10.9.9.9", "key 10.9.9.9"])
      fail(limiter, LIMIT + 1, (i) => `10.5.0.${i}`, forgedToken({ key: claim }));
    expect(limiter.recordFailure("10.9.9.9", null, t0)).toBe(0);
  });

  it("answers with the later window when both the address and the key id are over the limit", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    fail(limiter, LIMIT, "10.6.0.1", null, t0);
    fail(
      limiter,
      LIMIT,
      (i) => `10.7.0.${i}`,
      (i) => guess(KEY_A, i),
      t0 + 20_000,
    );
    expect(limiter.recordFailure("10.6.0.1", guess(KEY_A, 99), t0 + 30_000)).toBe(50);
    // Once the address's window ended, the key id's still holds.
    expect(limiter.recordFailure("10.6.0.1", guess(KEY_A, 100), t0 + MINUTE)).toBe(20);
  });
});

describe("the failed-authentication limiter's memory", () => {
  it("sweeps ended windows", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE);
    fail(
      limiter,
      500,
      (i) => `10.8.${i >> 8}.${i & 255}`,
      (i) => guess(`${KEY_A.slice(0, 20)}${String(i).padStart(6, "0")}`, i),
    );
    expect(limiter.size).toBe(1000);
    limiter.recordFailure("192.0.2.1", null, t0 + MINUTE);
    expect(limiter.size).toBe(1);
  });

  it(`tracks at most ${MAX_BUCKETS} buckets under 100,000 distinct addresses and 100,000 key ids in one window`, () => {
    const addresses = Array.from({ length: 100_000 }, (_, i) =>
      i % 2 === 0
        ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
        : `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`,
    );
    const credentials = Array.from({ length: 100_000 }, (_, i) => guess(crockford(i), i));
    const flood = (limiter: FailedAuthLimiter) => {
      let limited = 0;
      let largest = 0;
      const started = performance.now();
      for (let i = 0; i < 100_000; i++) {
        if (limiter.recordFailure(addresses[i]!, credentials[i]!, t0 + i / 10) !== 0) limited += 1;
        largest = Math.max(largest, limiter.size);
      }
      return { limited, largest, size: limiter.size, ms: performance.now() - started };
    };
    const capped = flood(new FailedAuthLimiter(LIMIT, MINUTE));
    expect({ ...capped, ms: 0 }).toEqual({ limited: 0, largest: MAX_BUCKETS, size: MAX_BUCKETS, ms: 0 });
    // Evicting costs the same whatever the cap: no failure pays for the size of the table.
    // (The first run warmed the code up; both compared put 200,000 buckets in 2,000 or 50,000 places.)
    const small = flood(new FailedAuthLimiter(LIMIT, MINUTE, 2_000));
    const large = flood(new FailedAuthLimiter(LIMIT, MINUTE, 50_000));
    expect(large.ms).toBeLessThan(small.ms * 3);
  });

  it("drops the window that ends first when the cap is reached, and keeps counting the newest", () => {
    const limiter = new FailedAuthLimiter(LIMIT, MINUTE, 4);
    fail(limiter, LIMIT + 1, "10.0.0.1", null, t0);
    fail(limiter, LIMIT + 1, "10.0.0.2", null, t0 + 1);
    for (let i = 3; i <= 5; i++) limiter.recordFailure(`10.0.0.${i}`, null, t0 + i);
    expect(limiter.size).toBe(4);
    // 10.0.0.1, the oldest, was forgotten; 10.0.0.2 is still over the limit.
    expect(limiter.recordFailure("10.0.0.2", null, t0 + 10)).toBe(60);
    expect(limiter.recordFailure("10.0.0.1", null, t0 + 10)).toBe(0);
    expect(limiter.size).toBe(4);
  });
});
