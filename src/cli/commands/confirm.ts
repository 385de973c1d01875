import type { Io } from "../io.js";

/**
 * Whether to go on with a deletion: yes with `-y`; else the answer to the question, asked on a
 * terminal, or read from the first line of stdin when it is not one (`echo y | keyledger …`). Only
 * `y` or `yes` (any case) goes on; anything else, and end of input, is no.
 */
export async function confirmed(io: Io, question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes === true) return true;
  const answer = io.stdinIsTTY ? await io.ask(`${question} [y/N] `, false) : await io.readLine();
  return answer !== null && /^(y|yes)$/i.test(answer.trim());
}
