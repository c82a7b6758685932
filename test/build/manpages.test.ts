/** The manual pages are generated from docs/NAME.SECTION.md and render cleanly with groff, as man(1) runs it. */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toRoff, writeManPages } from '../../build/manpages.mjs';

const render = (roff: string): { text: string; warnings: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'leash-man-'));
  try {
    const file = join(dir, 'page.1');
    writeFileSync(file, roff);
    const args = ['-k', '-t', '-man', '-Tutf8', '-ww', file];
    let warnings = '';
    const text = execFileSync('/usr/bin/groff', args, { encoding: 'utf8', env: { LC_ALL: 'C.UTF-8', PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      execFileSync('/usr/bin/groff', [...args.slice(0, -1), '-z', file], { encoding: 'utf8', env: { LC_ALL: 'C.UTF-8', PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      warnings = String((err as { stderr?: string }).stderr ?? err);
    }
    return { text: text.replace(/.\x08/g, ''), warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

t.test('the Markdown subset the docs use becomes man macros', async (t) => {
  const md = '# demo(1) — a demo page\n\n## SYNOPSIS\n\n`demo --flag` *ARG*\n\n* one\n  continued\n* two\n\n| a | b |\n|---|---|\n| `x` | y \\| z |\n\n```\n.dot line\nback\\slash\n```\n\nSee [leash](leash.1.md) and [the web](https://example.com).\n';
  const roff = toRoff(md, 'demo', '1', '9.9.9', '2026-12-01');
  t.match(roff, /^\.TH DEMO 1 2026-12-01 "leash 9\.9\.9" "leash manual"$/m);
  t.match(roff, /^demo \\- a demo page$/m, 'NAME from the title');
  t.match(roff, /^\.SH SYNOPSIS$/m);
  t.match(roff, /\\fBdemo \\-\\-flag\\fR \\fIARG\\fR/, 'code is bold, emphasis italic, minus signs stay minus');
  t.match(roff, /^\\&\.dot line$/m, 'a line starting with a dot is protected');
  t.match(roff, /^back\\eslash$/m, 'backslashes are escaped');
  t.match(roff, /\\fBleash\\fR\(1\)/, 'a link to a manual page reads name(section)');
  const { text, warnings } = render(roff);
  t.equal(warnings, '', 'groff -ww has nothing to say');
  t.match(text, /one continued/);
  t.match(text, /y \| z/, 'an escaped pipe inside a table cell');
});

/** man(1) as lintian runs it on a page (its --warnings, at a given width); null when man is not installed. */
const manWarnings = (file: string, width: number): string | null => {
  if (!existsSync('/usr/bin/man')) return null;
  const r = spawnSync('/usr/bin/man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', file], { encoding: 'utf8', env: { LC_ALL: 'C.UTF-8', MANROFFSEQ: '', MANWIDTH: String(width), PATH: '/usr/bin:/bin' } });
  return r.stderr;
};

t.test('every docs/NAME.SECTION.md page renders without a warning', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'leash-manpages-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const pages = writeManPages(out, '0.0.0', '2026-12-01');
  t.ok(pages.includes('leash.1'), 'leash(1) is one of them');
  for (const p of pages) {
    const { text, warnings } = render(readFileSync(join(out, p), 'utf8'));
    t.equal(warnings, '', `${p}: no groff warnings`);
    t.match(text, /NAME/, `${p}: has a NAME section`);
    for (const width of [80, 100, 120]) {
      const man = manWarnings(join(out, p), width);
      if (man !== null) t.equal(man, '', `${p}: man --warnings at ${width} columns (as lintian runs it)`);
    }
  }
});
