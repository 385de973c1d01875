#!/usr/bin/env node
import { Command } from "commander";
import { serveCommand } from "./serve.js";

const program = new Command("keyledger")
  .description("service accounts and API keys for machine-to-machine authentication")
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  })
  .addCommand(serveCommand());

await program.parseAsync(process.argv);
