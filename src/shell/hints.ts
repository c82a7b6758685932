import type { ReasonCode } from '../errors.js';
import type { CommandSpec, Profile } from '../policy/types.js';

/** What a denial knows about itself, for finding a nearby allowed form. */
export interface HintInput {
  code: ReasonCode;
  /** The command of the stage that was refused, when it is one of the profile's. */
  command?: string;
  /** The refused word: the command as typed, the subcommand word, or the word that held a refused option. */
  word?: string;
  /** The refused option's spelling. */
  option?: string;
  /** The subcommand level the arguments were read against. */
  level?: CommandSpec;
  /** The refused character, for shell syntax. */
  char?: string;
  /** A metacharacter that came from inside quotes. */
  quoted?: boolean;
}

/**
 * Options that follow output as it grows, by command: they never end. Per
 * command, because the same letter means something else elsewhere (last -f
 * names a file, top -w a width, dmesg -F a file). Any --follow* is following.
 */
const FOLLOW: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['tail', new Set(['-f', '-F', '--retry'])],
  ['journalctl', new Set(['-f'])],
  ['dmesg', new Set(['-w', '-W'])],
]);
/** Shells and interpreters: asking for one is asking for what leash never runs. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'fish', 'csh', 'tcsh', 'busybox', 'python', 'python3', 'perl', 'ruby', 'node', 'env', 'xargs', 'sudo', 'su']);
/** How many allowed path globs a hint lists before "…". */
const MAX_LISTED = 8;

/**
 * A `leash: hint:` line for a denial, when a nearby form the profile does
 * allow is known; undefined otherwise. The text is built from the profile and
 * from words the tokenizer already limited to printable ASCII. Pure.
 */
export function hintFor(profile: Profile, d: HintInput): string | undefined {
  const spec = d.command === undefined ? undefined : profile.commands.get(d.command);
  switch (d.code) {
    case 'METACHAR_FORBIDDEN':
      if (d.quoted) return 'inside quotes, shell metacharacters are allowed only in a regular-expression value (a grep PATTERN, journalctl --grep)';
      if (d.char === '>' || d.char === '<') return 'leash runs no shell: redirect on your side of ssh (ssh host \'cmd\' > file)';
      return shellForms(profile);
    case 'PIPELINE_STAGE_EMPTY':
    case 'PIPELINE_TOO_LONG':
      return shellForms(profile);
    case 'PIPELINE_NOT_FILTER':
      return `commands that can follow | in profile ${profile.name}: ${filters(profile).join(', ') || 'none'}`;
    case 'PIPELINE_FILE_OPERAND':
      return `drop the file: after |, ${d.command} reads the previous command's output`;
    case 'COMMAND_NOT_ALLOWED': {
      if (d.word === undefined) return undefined;
      const base = d.word.slice(d.word.lastIndexOf('/') + 1);
      if (SHELLS.has(base)) return shellForms(profile);
      if (d.word.includes('/') && profile.commands.has(base)) return `give the command name (${base}): leash runs its own pinned path`;
      const near = nearest(d.word, [...profile.commands.keys()]);
      return near.length > 0 ? `did you mean ${near.join(' or ')}? (leash-describe lists every command)` : 'leash-describe lists every command of this profile';
    }
    case 'SUBCOMMAND_NOT_ALLOWED': {
      const near = d.level?.subcommands && d.word !== undefined ? nearest(d.word, [...d.level.subcommands.keys()]) : [];
      return near.length > 0 ? `did you mean ${near.join(' or ')}?` : undefined;
    }
    case 'OPTION_NOT_ALLOWED': {
      if (d.option === undefined) return undefined;
      if (d.option.startsWith('--follow') || (d.command !== undefined && FOLLOW.get(d.command)?.has(d.option))) {
        const lines = d.level?.options.has('-n') || d.level?.options.has('--lines');
        return `following output never ends, and a command here must end by itself${lines ? '; use -n N for the last N lines' : ''}`;
      }
      const full = d.option.startsWith('--') ? [...(d.level?.options.keys() ?? [])].filter((o) => o.startsWith(d.option!) && o !== d.option) : [];
      if (full.length > 0) return `spell it in full: ${full.join(' or ')}`;
      if (d.word !== undefined && /^-\.(mount|slice)$/.test(d.word) && d.level?.operands.some((s) => s.value.kind === 'unit')) return `a unit whose name starts with - goes after --: ${[d.command, d.level !== spec ? d.level.name : ''].filter(Boolean).join(' ')} -- ${d.word}`;
      const elsewhere = spec ? levelsWith(spec, d.option).filter((path) => path !== '') : [];
      if (elsewhere.length > 0 && !d.level?.options.has(d.option)) return `${d.option} is allowed with ${elsewhere.map((p) => `${d.command} ${p}`).join(', ')}`;
      return undefined;
    }
    case 'PATH_NOT_ALLOWED':
    case 'PATH_NOT_FOUND': {
      const trees = profile.paths.allow;
      if (trees.length === 0) return undefined;
      return `allowed paths: ${trees.slice(0, MAX_LISTED).join(' ')}${trees.length > MAX_LISTED ? ' …' : ''}`;
    }
    case 'PATH_SPECIAL_FILE':
      return 'this command reads files; ls -l or stat show a FIFO, socket or device';
    default:
      return undefined;
  }
}

function shellForms(profile: Profile): string {
  const f = filters(profile);
  return `leash runs no shell. It runs one command, or commands joined by | where each later one reads the previous one's output${f.length > 0 ? ` (${f.join(', ')})` : ''}; put a word with spaces or a regular expression in single quotes`;
}

function filters(profile: Profile): string[] {
  return [...profile.commands.values()].filter((c) => c.filter).map((c) => c.name);
}

/** The subcommand paths ('' for the command itself) whose options include `option`. */
function levelsWith(spec: CommandSpec, option: string, path = ''): string[] {
  const here = spec.options.has(option) ? [path] : [];
  const below = spec.subcommands ? [...new Map([...spec.subcommands.values()].map((s) => [s.name, s])).values()].flatMap((s) => levelsWith(s, option, path === '' ? s.name : `${path} ${s.name}`)) : [];
  return [...here, ...below];
}

/** Candidates within an edit distance of 2 (1 for short words), closest first. */
function nearest(word: string, candidates: string[]): string[] {
  const limit = word.length <= 4 ? 1 : 2;
  return candidates
    .map((c) => [c, distance(word, c)] as const)
    .filter(([, n]) => n <= limit)
    .sort((a, b) => a[1] - b[1])
    .slice(0, 3)
    .map(([c]) => c);
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}
