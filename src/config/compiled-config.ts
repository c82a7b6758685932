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
/** Bumped with every change to the shape of a compiled profile or leash.yaml: an older copy is then ignored. */
const FORMAT = 2;
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
  let record: { format?: unknown; leash?: unknown; sources?: unknown; value?: unknown };
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
  return record.value === undefined ? null : revive(record.value);
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
  const text = JSON.stringify({ format: FORMAT, leash: COMPILED_BY, sources: stamps, value }, replace);
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

/** JSON has no Map or RegExp: Maps travel as {$map: entries}; a RegExp is rebuilt from its `source`. */
function replace(_key: string, value: unknown): unknown {
  if (value instanceof Map) return { $map: [...value] };
  if (value instanceof RegExp) return undefined;
  return value;
}

/** Undoes replace(), in place. A plain walk: a JSON.parse reviver costs several milliseconds at every start. */
function revive(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const v = value as Record<string, unknown>;
  const entries = v['$map'];
  if (Array.isArray(entries) && Object.keys(v).length === 1) return new Map(revive(entries) as Array<[unknown, unknown]>);
  for (const k of Object.keys(v)) v[k] = revive(v[k]);
  if (v['kind'] === 'regex' && typeof v['source'] === 'string') v['pattern'] = new RegExp(v['source']);
  return v;
}
