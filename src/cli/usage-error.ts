/** A mistake in how the command was called: exit code 2, with the message on stderr. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The command did not do what was asked (the user said no, say): exit code 1, message on stderr. */
export class CommandFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandFailed";
  }
}
