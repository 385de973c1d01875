import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { signerFromSeed, SignatureWorkerPool, type SignatureJob } from "../../../src/signing/index.js";

const signer = signerFromSeed(randomBytes(32));

function jobs(count: number, badEvery = 0): SignatureJob[] {
  return Array.from({ length: count }, (_, i) => {
    const message = Buffer.from(`message ${i}`);
    const signature = signer.sign(message);
    if (badEvery > 0 && i % badEvery === 0) signature[0]! ^= 1;
    return { publicKey: signer.publicKey, message, signature };
  });
}

/** The pool's workers, as the pool holds them (to break one from outside). */
const workersOf = (pool: SignatureWorkerPool) =>
  (pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number>; threadId: number } }> }).workers;

let pool: SignatureWorkerPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("the signature worker pool", () => {
  it("answers each check in order, across every worker", async () => {
    pool = new SignatureWorkerPool(2);
    const results = await pool.checkAcross(jobs(50, 7));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i % 7 !== 0));
  });

  it("refuses the checks of a worker that died, instead of leaving them unanswered, and replaces it", async () => {
    pool = new SignatureWorkerPool(1);
    const [first] = workersOf(pool);
    const inFlight = pool.check(jobs(2000));
    await first!.worker.terminate();
    await expect(inFlight).rejects.toThrow(/exited/);

    const [replacement] = workersOf(pool);
    expect(replacement!.worker.threadId).not.toBe(first!.worker.threadId);
    expect(await pool.check(jobs(5, 2))).toEqual([false, true, false, true, false]);
  });
});
