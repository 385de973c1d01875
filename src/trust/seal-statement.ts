import type { Actor } from "../domain/index.js";
import type { Signer } from "../signing/index.js";
import type { DecidedFact } from "./decide.js";
import type { TrustState } from "./state.js";
import { sha256Hex, STATEMENT_SCHEMA_VERSION, statementBytes, type KeyStatement, type UnsignedStatement } from "./statement.js";

export interface StatementContext {
  readonly id: string;
  readonly actor: Actor;
  readonly requestId: string | null;
}

/** Seals a decided fact as the next statement after `state`'s last one, signed by `signer`. */
export function sealStatement(fact: DecidedFact, state: TrustState, context: StatementContext, signer: Signer): KeyStatement {
  const unsigned = {
    id: context.id,
    type: fact.type,
    schemaVersion: STATEMENT_SCHEMA_VERSION,
    occurredAt: fact.occurredAt,
    actor: context.actor,
    requestId: context.requestId,
    data: fact.data,
    version: state.version + 1,
    prevHash: state.lastHash,
    signingKeyId: signer.keyId,
  } as UnsignedStatement;
  const bytes = statementBytes(unsigned);
  return {
    ...unsigned,
    hash: sha256Hex(bytes),
    signature: Buffer.from(signer.sign(bytes)).toString("base64url"),
  } as KeyStatement;
}
