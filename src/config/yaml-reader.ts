import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { LeashError } from '../errors.js';

/** A position-carrying config error: the message starts with `file:line:column:`. */
export class ConfigError extends LeashError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  constructor(file: string, line: number, column: number, reason: string) {
    super('CONFIG_INVALID', `${file}:${line}:${column}: ${reason}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export type YamlNode = Node | null;

/**
 * A strict, position-aware reader over one YAML document. Every accessor
 * either returns the typed value or throws a ConfigError naming
 * file:line:column. Aliases, duplicate keys, non-string keys and multiple
 * documents are refused: a policy should mean what it visibly says.
 */
export class YamlReader {
  readonly file: string;
  readonly root: YamlNode;
  private readonly lines: LineCounter;

  constructor(file: string, text: string) {
    this.file = file;
    this.lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: true, strict: true, version: '1.2' });
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const pos = problem.linePos?.[0] ?? { line: 1, col: 1 };
      throw new ConfigError(file, pos.line, pos.col, problem.message.split('\n')[0] ?? 'YAML syntax error');
    }
    this.root = doc.contents as YamlNode;
  }

  /** file:line:column of a node (1-based), for messages. */
  where(node: YamlNode | Pair): { line: number; column: number } {
    const range = node && 'range' in node ? node.range : node && 'key' in node ? (node.key as Node | null)?.range : undefined;
    const pos = this.lines.linePos(range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  }

  fail(node: YamlNode | Pair, reason: string): never {
    const { line, column } = this.where(node);
    throw new ConfigError(this.file, line, column, reason);
  }

  private noAlias(node: YamlNode, what: string): void {
    if (isAlias(node)) this.fail(node, `${what}: YAML aliases are not allowed`);
  }

  /**
   * A mapping whose keys must all be in `allowed`; keys in `required` must be
   * present. Returns key → [value node, key node].
   */
  map(node: YamlNode, what: string, allowed: readonly string[], required: readonly string[] = []): Map<string, { value: YamlNode; key: Node }> {
    this.noAlias(node, what);
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`);
    const out = new Map<string, { value: YamlNode; key: Node }>();
    for (const pair of node.items) {
      const key = pair.key as YamlNode;
      if (!isScalar(key) || typeof key.value !== 'string') this.fail(key ?? node, `${what}: keys must be strings`);
      const name = key.value;
      if (!allowed.includes(name)) {
        this.fail(key, `${what}: unknown key "${name}" (allowed: ${allowed.join(', ')})`);
      }
      out.set(name, { value: pair.value as YamlNode, key });
    }
    for (const name of required) {
      if (!out.has(name)) this.fail(node, `${what}: missing required key "${name}"`);
    }
    return out;
  }

  /** A mapping with free-form string keys (e.g. command names). */
  entries(node: YamlNode, what: string): Array<{ name: string; key: Node; value: YamlNode }> {
    this.noAlias(node, what);
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`);
    return node.items.map((pair) => {
      const key = pair.key as YamlNode;
      if (!isScalar(key) || typeof key.value !== 'string') this.fail(key ?? node, `${what}: keys must be strings`);
      return { name: key.value, key, value: pair.value as YamlNode };
    });
  }

  seq(node: YamlNode, what: string): YamlNode[] {
    this.noAlias(node, what);
    if (!isSeq(node)) this.fail(node, `${what} must be a list`);
    return node.items as YamlNode[];
  }

  string(node: YamlNode, what: string): string {
    this.noAlias(node, what);
    if (!isScalar(node) || typeof node.value !== 'string') this.fail(node, `${what} must be a string`);
    return node.value;
  }

  /** A string list; a single string is not silently promoted to a list. */
  strings(node: YamlNode, what: string): string[] {
    return this.seq(node, what).map((item, i) => this.string(item, `${what}[${i}]`));
  }

  int(node: YamlNode, what: string): number {
    this.noAlias(node, what);
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isSafeInteger(node.value)) this.fail(node, `${what} must be an integer`);
    return node.value;
  }

  bool(node: YamlNode, what: string): boolean {
    this.noAlias(node, what);
    if (!isScalar(node) || typeof node.value !== 'boolean') this.fail(node, `${what} must be true or false`);
    return node.value;
  }

  isString(node: YamlNode): boolean {
    return isScalar(node) && typeof node.value === 'string';
  }

  isMap(node: YamlNode): boolean {
    return isMap(node);
  }
}

/** Parses a duration such as `30s`, `5m`, `4h`, `7d`, `1w` into seconds. */
export function parseDuration(text: string): number | null {
  const m = /^([1-9][0-9]{0,6})(s|m|h|d|w)$/.exec(text);
  if (!m) return null;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** Parses a size such as `64K`, `256M`, `1G` (powers of 1024) or a plain byte count. */
export function parseSize(text: string): number | null {
  const m = /^(0|[1-9][0-9]{0,11})([KMG]?)$/.exec(text);
  if (!m) return null;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}
