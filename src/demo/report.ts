/**
 * What `leash demo` prints: for each step one line saying what it shows,
 * then the evidence — the command as a person would type it, what came
 * back, and how it ended. Everything that came from a program (a command's
 * output, sshd's log, an audit line) is shown through printable(), line by
 * line: the demo prints what a session produced, and a session's bytes
 * never reach the terminal as control sequences.
 */
import { printable } from '../encoding/printable.js';

const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

export class Report {
  private readonly write: (text: string) => void;
  private readonly colour: boolean;
  private readonly total: number;
  private current = 0;

  constructor(write: (text: string) => void, colour: boolean, total: number) {
    this.write = write;
    this.colour = colour;
    this.total = total;
  }

  /** A line of the demo's own text. */
  line(text = ''): void {
    this.write(`${text}\n`);
  }

  /** The next step: its number and the one line saying what it shows. */
  step(title: string): void {
    this.current++;
    const head = `[${this.current}/${this.total}] ${title}`;
    this.write(`\n${this.colour ? `${BOLD}${head}${RESET}` : head}\n`);
  }

  /** A command line as a person would type it. */
  command(shown: string): void {
    this.write(`  $ ${shown}\n`);
  }

  /** A program's output, indented, at most `maxLines` lines (then how many more there were), each cut at `width`. */
  output(text: string, maxLines = 12, width = 400): void {
    // CR LF (ssh's own messages end so) reads as one line end.
    const lines = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
    if (lines.length === 1 && lines[0] === '') return;
    for (const l of lines.slice(0, maxLines)) this.write(`    ${printable(l, width)}\n`);
    if (lines.length > maxLines) this.write(`    ${this.dim(`… ${lines.length - maxLines} more lines`)}\n`);
  }

  /** How it ended, or what it shows. */
  note(text: string): void {
    this.write(`  ${this.dim('→')} ${text}\n`);
  }

  private dim(text: string): string {
    return this.colour ? `${DIM}${text}${RESET}` : text;
  }
}

/** `'text'` for a shell: how a command line is shown so that it can be pasted. */
export function quoted(text: string): string {
  return /^[A-Za-z0-9@%._:/=+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Milliseconds as a person reads them. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
