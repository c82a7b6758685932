/**
 * The grant ledger, DIR/ledger.jsonl in the CA directory: one JSON line per
 * certificate (or authorized_keys line) leash grant made, appended, 0600.
 * It is the CA's memory: which serial went to which key, identity, user and
 * profile, for how long, and who asked. Serials are never reused.
 */
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { LeashError } from '../errors.js';
import { openAppendOnly } from '../trust/append-file.js';

export interface LedgerEntry {
  at: string;
  by: string;
  kind: 'certificate' | 'authorized_keys';
  serial: string;
  key_id: string;
  session: string;
  identity: string;
  user: string;
  profile: string;
  valid_after: string;
  valid_before: string;
  key: string;
  source_address: string | null;
}

/** Serials already in the ledger (empty when there is none yet). */
export function ledgerSerials(path: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw new LeashError('CA_KEY_INVALID', `cannot read the ledger ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const out = new Set<string>();
  for (const m of text.matchAll(/"serial":"([0-9]+)"/g)) out.add(m[1]!);
  return out;
}

export function appendLedger(path: string, entry: LedgerEntry): void {
  let fd: number;
  try {
    fd = openAppendOnly(path, 0o600);
  } catch (err) {
    throw new LeashError('CA_KEY_INVALID', `ledger: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const buf = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    if (writeSync(fd, buf) !== buf.length) throw new LeashError('CA_KEY_INVALID', `short write to the ledger ${path}`);
  } finally {
    closeSync(fd);
  }
}
