import { LineCounter, isAlias, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type YAMLError } from 'yaml';
import { LeashError } from '../errors.js';

/**
 * A position-carrying config error: the message starts with `file:line:column:`.
 * `all` holds every problem found in the file, this one first; the message
 * says how many more there are, and `leash policy check` prints each.
 */
export class ConfigError extends LeashError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  readonly all: readonly ConfigError[];
  /** The node the problem is at, so that a reader collecting errors can set its entry aside. */
  readonly node: YamlNode | Pair | undefined;
  constructor(file: string, line: number, column: number, reason: string, more: readonly ConfigError[] = [], node?: YamlNode | Pair) {
    const rest = more.length === 0 ? '' : ` (and ${more.length} more; leash policy check lists them all)`;
    super('CONFIG_INVALID', `${file}:${line}:${column}: ${reason}${rest}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
    this.node = node;
    this.all = [this, ...more];
  }

  /** `file:line:column: reason`, without the count of the others. */
  get located(): string {
    return `${this.file}:${this.line}:${this.column}: ${this.reason}`;
  }
}

export type YamlNode = Node | null;

/** Rounds of "set the failing entry aside and read again" before giving up (each round removes one entry). */
const MAX_ROUNDS = 500;

/**
 * A strict, position-aware reader over one YAML document. Every accessor
 * either returns the typed value or throws a ConfigError naming
 * file:line:column. Aliases, duplicate keys, non-string keys and multiple
 * documents are refused: a policy should mean what it visibly says.
 */
export class YamlReader {
  readonly file: string;
  private readonly doc: Document.Parsed;
  private readonly lines: LineCounter;

  /** Parses `text`; a YAML syntax problem throws a ConfigError listing every one. */
  constructor(file: string, text: string) {
    this.file = file;
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false, strict: true, version: '1.2' });
    const problems = [...this.doc.errors, ...this.doc.warnings].map((e) => {
      const pos = this.lines.linePos(e.pos[0]);
      return new ConfigError(file, pos.line, pos.col, `YAML syntax: ${syntaxReason(e)}`);
    });
    if (problems.length > 0) throw aggregate(problems);
  }

  get root(): YamlNode {
    return this.doc.contents as YamlNode;
  }

  /**
   * Runs `read` over the document and returns its result, or throws one
   * ConfigError carrying every problem of the file. After a problem, the
   * entry that holds it — an item of a top-level list or mapping (one command,
   * one grant), else the top-level key — is set aside and the document is read
   * again, so that one mistake does not hide the next. A problem at a mapping
   * an entry was taken from is not reported (it may only be a consequence);
   * it shows on the next run if it is real.
   */
  static readAll<T>(file: string, text: string, read: (y: YamlReader) => T): T {
    const y = new YamlReader(file, text);
    const found: ConfigError[] = [];
    const changed = new Set<unknown>();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      try {
        const value = read(y);
        if (found.length === 0) return value;
        break;
      } catch (err) {
        if (!(err instanceof ConfigError) || err.node === undefined) {
          if (found.length === 0) throw err;
          break;
        }
        const at = (isPair(err.node) ? err.node.key : err.node) as YamlNode;
        if (!changed.has(at)) found.push(err);
        if (!y.setAside(at, changed)) break;
      }
    }
    // In the order of the file, as an editor shows them.
    throw aggregate(found.sort((a, b) => a.line - b.line || a.column - b.column));
  }

  /** file:line:column of a node (1-based), for messages. */
  where(node: YamlNode | Pair): { line: number; column: number } {
    const range = node && 'range' in node ? node.range : node && 'key' in node ? (node.key as Node | null)?.range : undefined;
    const pos = this.lines.linePos(range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  }

  fail(node: YamlNode | Pair, reason: string): never {
    const { line, column } = this.where(node);
    throw new ConfigError(this.file, line, column, reason, [], node ?? this.root);
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

  isBool(node: YamlNode): boolean {
    return isScalar(node) && typeof node.value === 'boolean';
  }

  isMap(node: YamlNode): boolean {
    return isMap(node);
  }

  /**
   * Removes the entry that holds `node` from the document (see readAll) and
   * records the collection it came from in `changed`. False when there is no
   * entry left to remove.
   */
  private setAside(node: YamlNode, changed: Set<unknown>): boolean {
    const root = this.root;
    const offset = node?.range?.[0];
    if (!isCollection(root) || offset === undefined || node === root) return false;
    const holder = (collection: { items: unknown[] }): number =>
      collection.items.findIndex((item) => {
        const [start, end] = extent(item);
        return start <= offset && offset < end;
      });
    const top = holder(root);
    if (top < 0) return false;
    const item = root.items[top];
    const inner = isPair(item) ? (item.value as YamlNode) : (item as YamlNode);
    if (isCollection(inner) && node !== inner) {
      const sub = holder(inner);
      if (sub >= 0) {
        inner.items.splice(sub, 1);
        changed.add(inner);
        if (isPair(item)) changed.add(item.key);
        return true;
      }
    }
    root.items.splice(top, 1);
    changed.add(root);
    return true;
  }
}

/** The source offsets an item (a pair or a node) spans. */
function extent(item: unknown): [number, number] {
  if (isPair(item)) {
    const key = item.key as Node | null;
    const value = item.value as Node | null;
    return [key?.range?.[0] ?? value?.range?.[0] ?? 0, value?.range?.[2] ?? key?.range?.[2] ?? 0];
  }
  const range = (item as Node | null)?.range;
  return [range?.[0] ?? 0, range?.[2] ?? 0];
}

function aggregate(problems: ConfigError[]): ConfigError {
  const [first, ...more] = problems as [ConfigError, ...ConfigError[]];
  return new ConfigError(first.file, first.line, first.column, first.reason, more, first.node);
}

/** The YAML library's problem in leash's words (its own text is only the fallback, cut to one line). */
function syntaxReason(e: YAMLError): string {
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return 'this key is already used in the same mapping (map keys must be unique)';
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation; indent with spaces';
    case 'BAD_INDENT':
      return /flow (map|sequence)/i.test(e.message)
        ? `a ${/map/i.test(e.message) ? '{ … } mapping' : '[ … ] list'} is not closed (or its continuation is not indented enough)`
        : 'the indentation does not line up with the entries around it';
    case 'MISSING_CHAR':
      return /quote/i.test(e.message) ? 'a quoted string is not closed' : `something is missing here (${firstLine(e.message)})`;
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a value here looks like another "key: value"; quote it, or put the mapping on its own indented lines';
    case 'MULTIPLE_DOCS':
      return 'more than one YAML document (a "---" line); a file holds exactly one';
    case 'TAG_RESOLVE_FAILED':
    case 'BAD_DIRECTIVE':
      return 'YAML tags and directives (!!x, %YAML) are not used in leash files';
    case 'UNEXPECTED_TOKEN':
      return `unexpected text after the value ends; quote the whole value (${firstLine(e.message)})`;
    default:
      return firstLine(e.message);
  }
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? 'YAML syntax error').replace(/ at line \d+, column \d+:?$/, '');
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
