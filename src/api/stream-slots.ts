/** Which cap refused a stream: the caller's own, or the daemon's for everyone together. */
export type StreamCap = "principal" | "daemon";

export interface StreamLimits {
  readonly perPrincipal: number;
  readonly total: number;
}

/** A held slot; opaque to its holder, who gives it back to `release`. */
export interface StreamSlot {
  readonly principal: string;
}

export type Acquired =
  | { readonly ok: true; readonly slot: StreamSlot }
  | { readonly ok: false; readonly cap: StreamCap; readonly open: number; readonly limit: number };

/**
 * Counts the long-lived streams open per principal and in all, against their caps. Acquiring is
 * synchronous (check and count in one step), so that requests arriving together cannot all pass a
 * check made before any of them is counted. Each slot is released at most once, however many of a
 * stream's endings (client gone, shutdown, tail error) call `release`.
 */
export class StreamSlots {
  private readonly held = new Set<StreamSlot>();
  private readonly perPrincipal = new Map<string, number>();

  constructor(private readonly limits: StreamLimits) {}

  /** Streams open now, for everyone together. */
  get total(): number {
    return this.held.size;
  }

  /** Streams `principal` holds open now. */
  openBy(principal: string): number {
    return this.perPrincipal.get(principal) ?? 0;
  }

  /** A slot for one more stream of `principal`, or which cap refuses it (the principal's is checked first). */
  acquire(principal: string): Acquired {
    const mine = this.openBy(principal);
    if (mine >= this.limits.perPrincipal) return { ok: false, cap: "principal", open: mine, limit: this.limits.perPrincipal };
    if (this.total >= this.limits.total) return { ok: false, cap: "daemon", open: this.total, limit: this.limits.total };
    const slot: StreamSlot = { principal };
    this.held.add(slot);
    this.perPrincipal.set(principal, mine + 1);
    return { ok: true, slot };
  }

  /** Gives a slot back; false (and nothing changes) when it was released already or never held here. */
  release(slot: StreamSlot): boolean {
    if (!this.held.delete(slot)) return false;
    const left = this.openBy(slot.principal) - 1;
    // No entry for a principal with no stream: the map stays as small as what is open.
    if (left > 0) this.perPrincipal.set(slot.principal, left);
    else this.perPrincipal.delete(slot.principal);
    return true;
  }
}
