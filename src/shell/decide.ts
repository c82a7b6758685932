import type { ReasonCode } from '../errors.js';
import { binaryStatus } from '../policy/binary.js';
import type { FsView } from '../policy/fs-view.js';
import type { PathRules, Profile, ValueSpec } from '../policy/types.js';
import { hintFor, type HintInput } from './hints.js';
import { checkPath, matchesAny } from './paths.js';
import { checkPid } from './pids.js';
import { readArguments, type ValueUse } from './read-arguments.js';
import { tokenize, type Word } from './tokenize.js';
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
  /** The command of the refused stage, when it is one of the profile's. */
  command?: string;
  argv?: string[];
  /** A nearby form the profile does allow, for a `leash: hint:` line. */
  hint?: string;
}

export type Decision = Allow | Deny;

type StageResult = { allow: true; stage: Stage; timeoutSeconds: number } | (Deny & { facts: HintInput });

/**
 * The whole policy decision for one SSH_ORIGINAL_COMMAND: a pure function of
 * the command text, the profile and what the host says (`fs`). Nothing here
 * spawns, writes or reads the environment. A pipeline is allowed only if
 * every stage is; the first refused stage is reported.
 */
export function decide(profile: Profile, command: string, fs: FsView): Decision {
  const tokens = tokenize(command);
  if (!tokens.ok) return withHint(profile, { allow: false, code: tokens.code, detail: tokens.detail }, { code: tokens.code, ...(tokens.char === undefined ? {} : { char: tokens.char }) });
  const { stages } = tokens;

  // sshd hands a subsystem request to a forced command as the Subsystem line (e.g. /usr/lib/openssh/sftp-server).
  const name = stages[0]![0]!.text;
  if (stages.length === 1 && (name === 'internal-sftp' || name.endsWith('/sftp-server') || name === 'sftp-server')) {
    if (!profile.sftp) return { allow: false, code: 'SUBSYSTEM_DENIED', detail: 'the sftp subsystem is not allowed by this profile', command: 'sftp' };
    const bin = binaryStatus(profile.sftp.binary, fs);
    if (!bin.ok) return { allow: false, code: bin.code, detail: bin.detail, command: 'sftp' };
    return { allow: true, code: 'ALLOWED', stages: [{ command: 'sftp', binary: bin.resolved, argv: ['sftp-server', ...(profile.sftp.readOnly ? ['-R'] : [])] }], timeoutSeconds: profile.timeout };
  }

  const out: Stage[] = [];
  let timeoutSeconds = Infinity;
  for (const [n, words] of stages.entries()) {
    const d = decideStage(profile, words, fs, n > 0);
    if (!d.allow) {
      const { facts, ...deny } = d;
      if (stages.length > 1) deny.detail = `stage ${n + 1} (${words[0]!.text}): ${deny.detail}`;
      return withHint(profile, deny, facts);
    }
    out.push(d.stage);
    timeoutSeconds = Math.min(timeoutSeconds, d.timeoutSeconds);
  }
  return { allow: true, code: 'ALLOWED', stages: out, timeoutSeconds };
}

function withHint(profile: Profile, deny: Deny, facts: HintInput): Deny {
  const hint = deny.hint ?? hintFor(profile, facts);
  return hint === undefined ? deny : { ...deny, hint };
}

/** One stage: its command, arguments, values and binary. `inPipe`: it reads the previous stage's output. */
function decideStage(profile: Profile, words: Word[], fs: FsView, inPipe: boolean): StageResult {
  const [head, ...rest] = words as [Word, ...Word[]];
  const name = head.text;
  const spec = profile.commands.get(name);
  const refuse = (code: ReasonCode, detail: string, facts: Partial<HintInput> = {}, argv?: string[]): StageResult => ({
    allow: false,
    code,
    detail,
    ...(spec ? { command: name } : {}),
    ...(argv ? { argv } : {}),
    facts: { code, word: name, ...(spec ? { command: name } : {}), ...facts },
  });

  if (!spec) return refuse('COMMAND_NOT_ALLOWED', `"${name}" is not in profile ${profile.name}`);
  if (inPipe && !spec.filter) return refuse('PIPELINE_NOT_FILTER', `${name} does not read a pipe in profile ${profile.name}: after |, only a filter may stand`);
  const args = rest.map((w) => w.text);
  const parsed = readArguments(spec, args, inPipe);
  if (!parsed.ok) {
    const { ok: _, code, detail, hint, ...facts } = parsed;
    const refused = refuse(code, detail, facts);
    return hint === undefined || refused.allow ? refused : { ...refused, hint };
  }

  // Quoted metacharacters are plain text to the program, but only a pattern is meant to hold them.
  for (const [k, w] of rest.entries()) {
    if (w.meta < 0) continue;
    const use = parsed.values.find((u) => u.index === k);
    if (use === undefined || use.spec.kind !== 'pattern' || w.meta < use.prefix.length) {
      return refuse('METACHAR_FORBIDDEN', `"${w.text[w.meta]}" inside quotes in ${use ? use.what : `"${w.text}"`}: quoted metacharacters are allowed only in a regular-expression value`, { quoted: true });
    }
  }

  const given = [...args];
  for (const use of parsed.values) {
    const checked = checkValue(use, profile.paths, fs);
    if (!checked.ok) return refuse(checked.code, `${use.what}: ${checked.detail}`, { level: parsed.leaf });
    if (checked.resolved !== undefined) given[use.index] = use.prefix + checked.resolved;
  }

  // The binary is checked last so that a host without it still explains the rest of the policy.
  const argv = [name, ...given.slice(0, parsed.insertAt), ...parsed.always, ...given.slice(parsed.insertAt)];
  const bin = binaryStatus(spec.binary, fs);
  if (!bin.ok) return refuse(bin.code, bin.detail, {}, argv);
  return { allow: true, stage: { command: name, binary: bin.resolved, argv }, timeoutSeconds: parsed.leaf.timeout ?? spec.timeout ?? profile.timeout };
}

type ValueCheck = { ok: true; resolved?: string } | { ok: false; code: ReasonCode; detail: string };

/** One value against its type; `resolved` replaces the client's spelling in what runs. */
function checkValue(use: ValueUse, rules: PathRules, fs: FsView): ValueCheck {
  const spec: ValueSpec = use.spec;
  const invalid: ReasonCode = use.operand ? 'OPERAND_INVALID' : 'OPTION_VALUE_INVALID';
  switch (spec.kind) {
    case 'path': {
      const p = checkPath(use.value, rules, fs, spec.access);
      return p.ok ? { ok: true, resolved: p.resolved } : p;
    }
    case 'pid': {
      const p = checkPid(use.value, spec, fs);
      return p.ok ? { ok: true } : p;
    }
    case 'mount':
      return checkMount(use.value, rules, fs, invalid);
    default: {
      const problem = valueProblem(use.value, spec);
      return problem === null ? { ok: true } : { ok: false, code: invalid, detail: problem };
    }
  }
}

/**
 * df and findmnt: a mount point as the mount table lists it (which everyone
 * may read, so it reveals nothing), never an automount point (looking at one
 * mounts it); anything else is a path under the allowed trees, looked at but
 * not opened.
 */
function checkMount(value: string, rules: PathRules, fs: FsView, invalid: ReasonCode): ValueCheck {
  if (!value.startsWith('/')) return { ok: false, code: invalid, detail: `"${value}" is not an absolute path` };
  const entries = fs.mounts().filter((m) => m.target === value);
  if (entries.some((m) => m.fstype === 'autofs')) return { ok: false, code: invalid, detail: `${value} is an automount point (looking at it would mount it)` };
  if (entries.length > 0) {
    const denied = matchesAny(value, rules.deny);
    return denied ? { ok: false, code: 'PATH_DENIED', detail: `${value} matches deny rule ${denied}` } : { ok: true };
  }
  const p = checkPath(value, rules, fs, 'stat');
  return p.ok ? { ok: true, resolved: p.resolved } : { ...p, detail: `${p.detail} (and it is not a mount point)` };
}
