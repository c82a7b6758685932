import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT } from './exit-codes.js';
import { LeashError } from '../errors.js';
import { HELP, helpFor } from './help.js';
import { VERSION } from '../version.js';
import type { CommandContext } from './context.js';
import { FD_IO } from './verifier-process.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Handler = (ctx: CommandContext) => Promise<number>;

const CONFIG_DIR: Options = { 'config-dir': { type: 'string' } };
/** What `leash revoke` and `leash unrevoke` can name. */
const REVOCATION_TARGETS: Options = { session: { type: 'string' }, identity: { type: 'string' }, user: { type: 'string' }, serial: { type: 'string' }, key: { type: 'string' } };

/**
 * Each role is loaded only when it is asked for, so `leash shell` never
 * evaluates the certificate and token code, and `leash verify` never builds
 * the policy machinery.
 */
export const COMMANDS: Record<string, { options: Options; positionals: boolean; run: () => Promise<Handler> }> = {
  shell: {
    options: { profile: { type: 'string' }, identity: { type: 'string' }, session: { type: 'string' }, expires: { type: 'string' } },
    positionals: false,
    run: async () => (await import('./shell.js')).runShell,
  },
  explain: {
    options: { profile: { type: 'string' }, json: { type: 'boolean' } },
    positionals: true,
    run: async () => (await import('./explain.js')).runExplain,
  },
  describe: {
    options: { profile: { type: 'string' }, json: { type: 'boolean' }, mcp: { type: 'boolean' } },
    positionals: true,
    run: async () => (await import('./describe.js')).runDescribe,
  },
  policy: {
    options: {},
    positionals: true,
    run: async () => (await import('./policy-check.js')).runPolicy,
  },
  verify: {
    options: { explain: { type: 'boolean' }, user: { type: 'string' }, cert: { type: 'string' } },
    positionals: true,
    run: async () => (await import('./verify.js')).runVerify,
  },
  jwks: {
    options: {},
    positionals: true,
    run: async () => (await import('./jwks.js')).runJwks,
  },
  doctor: {
    options: {},
    positionals: true,
    run: async () => (await import('./doctor.js')).runDoctor,
  },
  // Sessions and CA mode (docs/sessions.md, docs/ca.md).
  sessions: {
    options: { json: { type: 'boolean' }, all: { type: 'boolean' }, reap: { type: 'boolean' } },
    positionals: false,
    run: async () => (await import('./sessions.js')).runSessions,
  },
  revoke: {
    options: { ...REVOCATION_TARGETS, reason: { type: 'string' }, for: { type: 'string' }, list: { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: false,
    run: async () => (await import('./revoke.js')).runRevoke,
  },
  unrevoke: {
    options: REVOCATION_TARGETS,
    positionals: false,
    run: async () => (await import('./revoke.js')).runUnrevoke,
  },
  watch: {
    options: { session: { type: 'string' }, identity: { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' }, output: { type: 'boolean' }, replay: { type: 'boolean' } },
    positionals: false,
    run: async () => (await import('./watch.js')).runWatch,
  },
  runtime: {
    options: { 'verify-user': { type: 'string' }, group: { type: 'string' } },
    positionals: true,
    run: async () => (await import('./runtime.js')).runRuntime,
  },
  ca: {
    options: { 'ca-dir': { type: 'string' } },
    positionals: true,
    run: async () => (await import('./ca.js')).runCa,
  },
  grant: {
    options: {
      pubkey: { type: 'string' },
      user: { type: 'string' },
      profile: { type: 'string' },
      ttl: { type: 'string' },
      identity: { type: 'string' },
      'source-address': { type: 'string' },
      'ca-dir': { type: 'string' },
      'leash-path': { type: 'string' },
      'target-config-dir': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      'authorized-keys': { type: 'boolean' },
    },
    positionals: false,
    run: async () => (await import('./grant.js')).runGrant,
  },
  demo: {
    options: { keep: { type: 'boolean' } },
    positionals: false,
    run: async () => (await import('./demo.js')).runDemoCommand,
  },
};

/** Splits off the subcommand, letting `--config-dir` stand before it too. */
function splitCommand(argv: string[]): { name: string | undefined; rest: string[]; configDir: string | undefined } {
  let configDir: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config-dir') {
      if (i + 1 >= argv.length) throw new LeashError('USAGE', '--config-dir needs a directory');
      configDir = argv[++i];
    } else if (a.startsWith('--config-dir=')) {
      configDir = a.slice('--config-dir='.length);
    } else break;
  }
  return { name: argv[i], rest: argv.slice(i + 1), configDir };
}

/**
 * `leash COMMAND … --help` (or `-h`): the command's usage, whatever else is
 * on the line, as long as it stands before `--` (after it, a word is data:
 * `leash explain -- 'grep -h x f'`).
 */
function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const { name, rest, configDir } = splitCommand(argv);
    if (name === undefined) {
      process.stderr.write(HELP);
      return EXIT.USAGE;
    }
    if (name === '--version' || name === 'version') {
      // Straight to the descriptor: process.stdout on a pipe builds a net.Socket (FD_IO).
      FD_IO.out(`leash ${VERSION}\n`);
      return EXIT.OK;
    }
    if (name === 'help' || name === '--help' || name === '-h') {
      const text = helpFor(rest[0]);
      if (text === undefined) throw new LeashError('USAGE', `no help for unknown command "${rest[0]}"`);
      process.stdout.write(text);
      return EXIT.OK;
    }
    const command = COMMANDS[name];
    if (!command) throw new LeashError('USAGE', `unknown command "${name}" (try: leash help)`);
    if (asksForHelp(rest)) {
      process.stdout.write(helpFor(name) ?? HELP);
      return EXIT.OK;
    }
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, ...CONFIG_DIR },
      allowPositionals: command.positionals,
      strict: true,
    });
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const flagDir = typeof values['config-dir'] === 'string' ? values['config-dir'] : configDir;
    const handler = await command.run();
    return await handler({ configDirFlag: flagDir, values, positionals: parsed.positionals, env });
  } catch (err) {
    if (err instanceof LeashError && err.code === 'USAGE') {
      process.stderr.write(`leash: ${err.message}\n`);
      return EXIT.USAGE;
    }
    // node:util parseArgs reports unknown or malformed flags with these codes.
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`leash: ${(err as Error).message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
}

/**
 * Runs leash for this process: its argv and environment in, its exit status
 * out. Any exception that escapes a command is a bug: report it briefly and
 * fail (sshd treats non-zero as "refuse").
 */
export function runProcess(): void {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`leash: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
