import type { ApiKeyWithSecret } from "@keyledger/client/http";
import { useState } from "preact/hooks";

/** A new secret, shown this once: a warning, the key, a copy button; gone when done. */
export function ShownOnce(props: { title: string; owner: string; apiKey: ApiKeyWithSecret; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const { apiKey } = props;
  return (
    <section class="panel" aria-labelledby="shown-once-title">
      <h2 id="shown-once-title">{props.title}</h2>
      <p class="warning" role="alert">
        Copy this API key now: it is shown this once and cannot be shown again.
      </p>
      <label for="new-key">
        API key of {props.owner} (key {apiKey.name})
      </label>
      <input id="new-key" readOnly value={apiKey.key} />
      <button
        type="button"
        onClick={async () => {
          await navigator.clipboard.writeText(apiKey.key);
          setCopied(true);
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <button type="button" onClick={props.onDone}>
        Done
      </button>
    </section>
  );
}
