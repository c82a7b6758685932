import { main } from './cli.js';

// The single entry point of dist/leash. Any exception that escapes a command
// is a bug: report it briefly and fail (sshd treats non-zero as "refuse").
main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`leash: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
