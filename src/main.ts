import { runProcess } from './commands/cli.js';

// The single entry point of dist/leash; src/commands/cli.ts owns the process.
runProcess();
