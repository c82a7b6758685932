import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LeashError } from '../errors.js';
import { writeFileAtomic } from '../trust/atomic-write.js';
import { readConfigFile } from '../trust/config-file.js';
import { assertTrustedParents } from '../trust/ownership.js';
import { BUILD_ID, VERSION } from '../version.js';

/**
 * A root-written JSON copy of a validated configuration file, so that the
 * login path (run three times per login) need not load and run a YAML parser.
 *
 * `leash policy check`, run as root, writes <config-dir>/.compiled/<name>.json
 * holding the validated result and a stamp of every source file it came from
 * (inode, size, mtime and ctime in nanoseconds). A reader uses it only if the
 * cache file passes the same ownership rules as any config file and every
 * source's stamp is unchanged; any edit, replacement, chown or chmod of a
 * source changes its ctime, so a stale copy is never used — the YAML is
 * parsed instead, exactly as without a cache.
 *
 * The copy is also tied to the binary that validated it: its version and
 * build id (the bundle's sha256) are in the file, and any other binary —
 * an upgrade, a downgrade, a rebuild — ignores it and parses the YAML with
 * its own rules until `leash policy check` writes a new one.
 */
/** Bumped with every change to the shape of a compiled profile or leash.yaml, or of the encoding: an older copy is then ignored. */
const FORMAT = 3;
/** Which leash validated a cached copy; a copy from any other is not used. */
export const COMPILED_BY = `${VERSION} ${BUILD_ID}`;
const DIR = '.compiled';

export interface CompiledSource {
  path: string;
  stamp: string;
}

/** The stat facts that change whenever a file's content, owner or mode does. */
export function sourceStamp(path: string): string {
  const st = lstatSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.uid}:${st.mode}`;
}

function cachePath(configDir: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9_.-]{0,80}$/.test(name)) throw new LeashError('INTERNAL', `bad compiled cache name ${name}`);
  return join(configDir, DIR, `${name}.json`);
}

/**
 * The cached value for `name`, or null when there is none or it is stale. A
 * cache file that exists but is unsafe or unreadable is also treated as
 * absent: the caller falls back to the YAML, which has its own checks.
 */
export function readCompiled(configDir: string, name: string): unknown {
  let record: { format?: unknown; leash?: unknown; sources?: unknown; value?: unknown; shared?: unknown };
  try {
    record = JSON.parse(readConfigFile(cachePath(configDir, name))) as typeof record;
  } catch {
    return null;
  }
  if (record.format !== FORMAT || record.leash !== COMPILED_BY || !Array.isArray(record.sources) || record.sources.length === 0) return null;
  for (const s of record.sources as CompiledSource[]) {
    try {
      if (typeof s?.path !== 'string' || sourceStamp(s.path) !== s.stamp) return null;
      assertTrustedParents(dirname(s.path));
    } catch {
      return null;
    }
  }
  try {
    return record.value === undefined ? null : decode(record.value, record.shared);
  } catch {
    return null;
  }
}

/**
 * Writes the cache for `name` (atomically: temp file and rename). `stamps`
 * must have been taken BEFORE the sources were read, so that an edit racing
 * the compilation makes the copy stale rather than wrong.
 */
export function writeCompiled(configDir: string, name: string, stamps: CompiledSource[], value: unknown): string {
  const path = cachePath(configDir, name);
  for (const s of stamps) {
    if (sourceStamp(s.path) !== s.stamp) throw new LeashError('CONFIG_CHANGED', `${s.path} changed while it was being compiled; run again`);
  }
  const text = JSON.stringify({ format: FORMAT, leash: COMPILED_BY, sources: stamps, ...encode(value) });
  try {
    // Unchanged: leave the file alone (a second install changes nothing).
    if (readFileSync(path, 'utf8') === text) return path;
  } catch {
    /* absent: write it */
  }
  try {
    mkdirSync(dirname(path), { mode: 0o755, recursive: true });
    writeFileAtomic(path, text, 0o644);
  } catch (err) {
    throw new LeashError('CONFIG_UNWRITABLE', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return path;
}

/**
 * The encoding. JSON has no Map, no RegExp and no shared objects: a Map
 * travels as {$map: entries}; a RegExp is left out and rebuilt from the
 * `source` next to it (`kind: 'regex'`); an object reached more than once
 * (an option under each of its names, a subcommand under each alias) is
 * written once, in `shared`, and referred to as {$ref: index}. Without the
 * last, the diagnostic profile's 24 KiB of YAML compiled to 200 KiB of JSON,
 * whose parse dominated `leash shell`'s start. Decoding gives back the same
 * sharing the parser made.
 */
function encode(value: unknown): { value: unknown; shared: unknown[] } {
  const uses = new Map<object, number>();
  const count = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || v instanceof RegExp) return;
    const n = uses.get(v) ?? 0;
    uses.set(v, n + 1);
    if (n > 0) return;
    if (v instanceof Map) for (const [k, x] of v) (count(k), count(x));
    else for (const x of Array.isArray(v) ? v : Object.values(v)) count(x);
  };
  count(value);
  const index = new Map<object, number>();
  const shared: unknown[] = [];
  const plain = (v: unknown, top = false): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (v instanceof RegExp) return undefined;
    if (!top && (uses.get(v) ?? 0) > 1) {
      let i = index.get(v);
      if (i === undefined) {
        i = shared.length;
        index.set(v, i);
        shared.push(null);
        shared[i] = plain(v, true);
      }
      return { $ref: i };
    }
    if (v instanceof Map) return { $map: [...v].map(([k, x]) => [plain(k), plain(x)]) };
    if (Array.isArray(v)) return v.map((x) => plain(x));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  };
  return { value: plain(value), shared };
}

/** Undoes encode(), in place. A plain walk: a JSON.parse reviver costs several milliseconds at every start. */
function decode(value: unknown, sharedField: unknown): unknown {
  const shared = Array.isArray(sharedField) ? sharedField : [];
  const done: boolean[] = [];
  const ref = (v: Record<string, unknown>): unknown => {
    const i = v['$ref'];
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= shared.length) throw new LeashError('INTERNAL', 'compiled cache: bad reference');
    if (done[i] !== true) {
      done[i] = true;
      shared[i] = walk(shared[i]);
    }
    return shared[i];
  };
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = walk(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$ref') return ref(o);
    const entries = o['$map'];
    if (Array.isArray(entries) && keys.length === 1) return new Map(walk(entries) as Array<[unknown, unknown]>);
    for (const k of keys) o[k] = walk(o[k]);
    if (o['kind'] === 'regex' && typeof o['source'] === 'string') o['pattern'] = new RegExp(o['source']);
    return o;
  };
  return walk(value);
}
