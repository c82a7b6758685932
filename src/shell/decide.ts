import type { ReasonCode } from '../errors.js';
import { binaryStatus } from '../policy/binary.js';
import type { FsView } from '../policy/fs-view.js';
import type { Profile } from '../policy/types.js';
import { readArguments } from './read-arguments.js';
import { checkPath } from './paths.js';
import { tokenize } from './tokenize.js';
import { valueProblem } from './values.js';

/** One program to run. A plain command is one stage; a pipeline has one per `|`-separated part. */
export interface Stage {
  /** The profile's command name (argv[0] as typed), or `sftp` for the subsystem. */
  command: string;
  /** Resolved path of the pinned binary that will be executed. */
  binary: string;
  /** Exactly what runs: argv[0] is the command name, paths are resolved. */
  argv: string[];
}

export interface Allow {
  allow: true;
  code: 'ALLOWED';
  /** Left to right; the first reads nothing from the client, each later one the previous one's output. */
  stages: Stage[];
  /** Seconds the whole run may take (the smallest timeout of its stages). */
  timeoutSeconds: number;
}

export interface Deny {
  allow: false;
  code: ReasonCode;
  detail: string;
  command?: string;
  argv?: string[];
  /** A nearby form the profile does allow, for a `leash: hint:` line. */
  hint?: string;
}

export type Decision = Allow | Deny;

/**
 * The whole policy decision for one SSH_ORIGINAL_COMMAND: a pure function of
 * the command text, the profile and what the filesystem says. Nothing here
 * spawns, writes or reads the environment.
 */
export function decide(profile: Profile, command: string, fs: FsView): Decision {
  const tokens = tokenize(command);
  if (!tokens.ok) return { allow: false, code: tokens.code, detail: tokens.detail };
  const [name, ...args] = tokens.argv as [string, ...string[]];

  // sshd hands a subsystem request to a forced command as the Subsystem line (e.g. /usr/lib/openssh/sftp-server).
  if (name === 'internal-sftp' || name.endsWith('/sftp-server') || name === 'sftp-server') {
    if (!profile.sftp) return { allow: false, code: 'SUBSYSTEM_DENIED', detail: 'the sftp subsystem is not allowed by this profile', command: 'sftp' };
    const bin = binaryStatus(profile.sftp.binary, fs);
    if (!bin.ok) return { allow: false, code: bin.code, detail: bin.detail, command: 'sftp' };
    return { allow: true, code: 'ALLOWED', stages: [{ command: 'sftp', binary: bin.resolved, argv: ['sftp-server', ...(profile.sftp.readOnly ? ['-R'] : [])] }], timeoutSeconds: profile.timeout };
  }

  const spec = profile.commands.get(name);
  if (!spec) {
    const hint = name.includes('/') ? ' (give the command name; leash runs its own pinned path)' : '';
    return { allow: false, code: 'COMMAND_NOT_ALLOWED', detail: `"${name}" is not in profile ${profile.name}${hint}` };
  }
  const parsed = readArguments(spec, args);
  if (!parsed.ok) return { allow: false, code: parsed.code, detail: parsed.detail, command: name };

  const rest = [...parsed.rest];
  for (const use of parsed.values) {
    if (use.spec.kind === 'path') {
      const p = checkPath(use.value, profile.paths, fs);
      if (!p.ok) return { allow: false, code: p.code, detail: `${use.what}: ${p.detail}`, command: name };
      rest[use.index] = use.prefix + p.resolved;
    } else {
      const problem = valueProblem(use.value, use.spec);
      if (problem) return { allow: false, code: use.what.startsWith('operand') ? 'OPERAND_INVALID' : 'OPTION_VALUE_INVALID', detail: `${use.what}: ${problem}`, command: name };
    }
  }

  // The binary is checked last so that a host without it still explains the rest of the policy.
  const bin = binaryStatus(spec.binary, fs);
  const argv = [name, ...parsed.words, ...parsed.always, ...rest];
  if (!bin.ok) return { allow: false, code: bin.code, detail: bin.detail, command: name, argv };
  return { allow: true, code: 'ALLOWED', stages: [{ command: name, binary: bin.resolved, argv }], timeoutSeconds: parsed.leaf.timeout ?? spec.timeout ?? profile.timeout };
}
