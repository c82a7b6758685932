// Manual pages from the docs/ pages, so the two never disagree: docs/NAME.SECTION.md
// becomes dist/man/NAME.SECTION (roff, man macros, tables through tbl).
//
//   node build/manpages.mjs [OUT_DIR]      # default dist/man
//
// The Markdown is the small subset the docs use: headings, paragraphs, fenced
// blocks, bullet and numbered lists, pipe tables, `code`, **bold**, *italic*
// and [links](…). Anything else is written as plain text. No dependencies: it
// runs on the build's runtime, offline.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = join(ROOT, 'docs');
/** The pages that are manual pages: docs/<name>.<section>.md. */
const MAN_PAGE = /^([a-z][a-z0-9.-]*)\.([1-8])\.md$/;

/** Text for roff: backslashes escaped, ASCII minus kept a minus (options stay copyable). */
function escapeText(text) {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

/**
 * A long code span (a path, a regex, a list of verbs) may be broken after a
 * / | ] , or = (roff's zero-width break point \:): without hyphenation it has
 * no other place to break, and a line too narrow for it would overflow.
 */
function breakable(roff) {
  return roff.length > 24 ? roff.replace(/([/|\],=])/g, '$1\\:') : roff;
}

/** Inline Markdown → roff font changes, on already separated text. */
function inline(text) {
  let out = '';
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    out += escapeText(text.slice(last, m.index));
    if (m[1] !== undefined) out += `\\fB${breakable(escapeText(m[1]))}\\fR`;
    else if (m[2] !== undefined) out += `\\fB${inline(m[2])}\\fR`;
    else if (m[3] !== undefined) out += `\\fI${inline(m[3])}\\fR`;
    else {
      const target = m[5];
      const page = /^([a-z][a-z0-9.-]*)\.([1-8])\.md(#.*)?$/.exec(target);
      // A link to another manual page reads as its name(section); other links keep their text.
      out += page ? `\\fB${escapeText(page[1])}\\fR(${page[2]})` : inline(m[4]);
    }
    last = m.index + m[0].length;
  }
  return out + escapeText(text.slice(last));
}

/** A line of roff text must not start with a control character. */
function textLine(s) {
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

function tableCells(line) {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim());
}

/**
 * Converts one page. `name` and `section` come from the file name; the first
 * heading "# name(section) — summary" gives the NAME line.
 */
export function toRoff(markdown, name, section, version, date) {
  const lines = markdown.replace(/\r/g, '').split('\n');
  const out = [];
  let i = 0;
  const title = /^# (.*)$/.exec(lines[0] ?? '');
  const summary = title ? title[1].replace(/^[^—]*—\s*/, '') : name;
  out.push(`.TH ${name.toUpperCase().replace(/-/g, '\\-')} ${section} ${date} "leash ${version}" "leash manual"`);
  // Ragged right: long paths and option names in narrow table cells cannot be justified;
  // no hyphenation: a command, option or path broken at a hyphen would not be copied right.
  // (the man macros reset hyphenation from the HY register at every paragraph).
  out.push('.ad l', '.nr HY 0', '.hy 0');
  out.push('.SH NAME', `${escapeText(name)} \\- ${inline(summary)}`);
  if (title) i = 1;
  let para = [];
  const flush = () => {
    // One line of roff per paragraph: `code` and **bold** may run across the Markdown's line breaks.
    if (para.length) out.push('.PP', textLine(inline(para.join(' '))));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      out.push('.PP', '.RS 4', '.nf');
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) out.push(textLine(escapeText(lines[i])));
      out.push('.fi', '.RE');
      i++;
      continue;
    }
    const h = /^(#{2,4}) (.*)$/.exec(line);
    if (h) {
      flush();
      out.push(h[1] === '##' ? `.SH ${inline(h[2].toUpperCase())}` : `.SS ${inline(h[2])}`);
      i++;
      continue;
    }
    if (/^\|.*\|\s*$/.test(line)) {
      flush();
      const rows = [];
      for (; i < lines.length && /^\|.*\|\s*$/.test(lines[i]); i++) {
        if (/^\|[\s:|-]+\|\s*$/.test(lines[i])) continue; // the separator row
        rows.push(tableCells(lines[i]));
      }
      const cols = Math.max(...rows.map((r) => r.length));
      // The first column as wide as its content (a name, a path, a code); the others share the
      // rest of the line, as text blocks that wrap.
      const spec = (head) => [head ? 'lb' : 'l', ...Array(cols - 1).fill(head ? 'lbx' : 'lx')].join(' ');
      out.push('.TS', 'tab(\u001f) allbox;', spec(true), `${spec(false)}.`);
      for (const r of rows) {
        const cells = [...r, ...Array(cols - r.length).fill('')].map((c, i) => {
          const text = inline(c.replace(/\\\|/g, '|'));
          return i === 0 ? textLine(text) : `T{\n${textLine(text)}\nT}`;
        });
        out.push(cells.join('\u001f'));
      }
      out.push('.TE');
      continue;
    }
    const item = /^(\s*)([*-]|\d+\.) (.*)$/.exec(line);
    if (item) {
      flush();
      const marker = /^\d/.test(item[2]) ? item[2] : '\\(bu';
      const body = [item[3]];
      for (i++; i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([*-]|\d+\.) /.test(lines[i]); i++) body.push(lines[i].trim());
      out.push(`.IP ${marker} 4`, textLine(inline(body.join(' '))));
      continue;
    }
    if (line.trim() === '') {
      flush();
      i++;
      continue;
    }
    para.push(line.trim());
    i++;
  }
  flush();
  return `'\\" t\n${out.join('\n')}\n`;
}

/**
 * The date a page carries: SOURCE_DATE_EPOCH when set (reproducible builds),
 * else the last commit that touched docs/, else today.
 */
export function docsDate() {
  if (process.env.SOURCE_DATE_EPOCH) return new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString().slice(0, 10);
  try {
    const d = execFileSync('git', ['log', '-1', '--format=%cs', '--', 'docs'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(d)) return d;
  } catch {
    /* not a git checkout */
  }
  return new Date().toISOString().slice(0, 10);
}

/** Every manual page of docs/, written to outDir; returns their file names. */
export function writeManPages(outDir, version, date) {
  mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const file of readdirSync(DOCS).sort()) {
    const m = MAN_PAGE.exec(file);
    if (!m) continue;
    const page = `${m[1]}.${m[2]}`;
    writeFileSync(join(outDir, page), toRoff(readFileSync(join(DOCS, file), 'utf8'), m[1], m[2], version, date));
    written.push(page);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const date = docsDate();
  const out = resolve(process.argv[2] ?? join(ROOT, 'dist', 'man'));
  const pages = writeManPages(out, version, date);
  process.stdout.write(`manpages: ${pages.join(' ')} in ${out}\n`);
}
