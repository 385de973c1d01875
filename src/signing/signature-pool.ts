import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { verifySignature } from "./ed25519.js";

/** One Ed25519 check: the raw public key, the signed bytes and the signature. */
export interface SignatureJob {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignatureChecker {
  /** Whether each job's signature verifies, in the jobs' order. */
  check(jobs: readonly SignatureJob[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/**
 * The worker's code, plain JavaScript with node:crypto only, so that it runs the same from the
 * TypeScript sources (tests) and from the build, with no file to locate.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
// In the background: this thread alone at the lowest priority (on Linux a thread's own nice value).
if (workerData && workerData.background) {
  try { require("node:os").setPriority(19); } catch {}
}
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const keys = new Map();
function keyObject(raw) {
  const id = Buffer.from(raw).toString("base64");
  let key = keys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
    keys.set(id, key);
  }
  return key;
}
parentPort.on("message", ({ id, jobs }) => {
  const results = jobs.map((job) => {
    try {
      return job.publicKey.length === 32 && job.signature.length === 64 && verify(null, job.message, keyObject(job.publicKey), job.signature);
    } catch {
      return false;
    }
  });
  parentPort.postMessage({ id, results });
});
`;

/** Checks in this thread: for short audits, where starting workers costs more than it saves. */
export const inThreadChecker: SignatureChecker = {
  check: async (jobs) => jobs.map((job) => verifySignature(job.publicKey, job.message, job.signature)),
  close: async () => undefined,
};

/**
 * Spreads signature checks over worker threads, one per core: Ed25519 verification is what bounds
 * an audit (about 9,000 a second on one core here), and the main thread has the reading, hashing
 * and chain checks to do meanwhile. Each batch goes to the least busy worker.
 */
export class SignatureWorkerPool implements SignatureChecker {
  private readonly workers: WorkerEntry[];
  private nextId = 0;
  private closing = false;

  constructor(
    size = availableParallelism(),
    private readonly options: { readonly background?: boolean } = {},
  ) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => this.spawn());
  }

  /**
   * A worker that fails or exits takes only its own checks with it (they are refused with the
   * error, and the caller tries again); a fresh worker takes its place.
   */
  private spawn(): WorkerEntry {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { background: this.options.background === true } });
    const entry: WorkerEntry = { worker, waiting: new Map() };
    worker.on("message", ({ id, results }: { id: number; results: boolean[] }) => {
      entry.waiting.get(id)?.resolve(results);
      entry.waiting.delete(id);
    });
    const lost = (error: Error): void => {
      for (const { reject } of entry.waiting.values()) reject(error);
      entry.waiting.clear();
      const index = this.workers.indexOf(entry);
      if (!this.closing && index >= 0) this.workers[index] = this.spawn();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`a signature worker exited (${code})`)));
    return entry;
  }

  check(jobs: readonly SignatureJob[]): Promise<boolean[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const entry = this.workers.reduce((least, candidate) => (candidate.waiting.size < least.waiting.size ? candidate : least));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      entry.waiting.set(id, { resolve, reject });
      entry.worker.postMessage({ id, jobs });
    });
  }

  /** The same checks, shared out over every worker (one batch that should finish soonest). */
  async checkAcross(jobs: readonly SignatureJob[]): Promise<boolean[]> {
    const size = Math.ceil(jobs.length / this.workers.length);
    const parts = await Promise.all(this.workers.map((_, index) => this.check(jobs.slice(index * size, (index + 1) * size))));
    return parts.flat();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}

interface WorkerEntry {
  readonly worker: Worker;
  /** Checks sent to this worker and not answered yet. */
  readonly waiting: Map<number, { resolve: (results: boolean[]) => void; reject: (error: Error) => void }>;
}
