import { JetStreamApiError, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { EventStoreError, StreamMissingError } from "./errors.js";

export interface StreamSettings {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  /** Whether a missing stream is created (else: `StreamMissingError`). */
  readonly create?: boolean;
  /** Whether an existing stream is brought to these settings (else it is taken as it is). */
  readonly reconfigure?: boolean;
}

/**
 * Creates a stream of keyledger's (history is never rewritten: deletes and purges denied), or
 * brings an existing one to the configured subjects, replicas and deduplication window.
 */
export async function ensureStream(jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: settings.name,
    subjects: [...settings.subjects],
    num_replicas: settings.replicas,
    duplicate_window: settings.duplicateWindowMs * 1_000_000,
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
    // History is never dropped by a limit either (someone with API access could set one).
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: -1,
  };
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(settings.name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
    if (settings.create === false) throw new StreamMissingError(settings.name);
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      if (addError instanceof JetStreamApiError && /overlap/i.test(addError.message)) {
        throw new EventStoreError(
          `stream ${settings.name} cannot be created: another stream on this NATS account already holds the subjects ${settings.subjects.join(", ")} (one keyledger stream per NATS account)`,
        );
      }
      throw addError;
    }
    return;
  }
  if (settings.reconfigure === false) return;
  if (
    current.num_replicas !== config.num_replicas ||
    current.duplicate_window !== config.duplicate_window ||
    !current.deny_delete ||
    current.max_age !== 0 ||
    current.max_msgs !== -1 ||
    current.max_bytes !== -1 ||
    current.max_msgs_per_subject !== -1 ||
    settings.subjects.some((subject) => !current.subjects.includes(subject)) ||
    !current.deny_purge
  ) {
    await jsm.streams.update(settings.name, { ...current, ...config });
  }
}
