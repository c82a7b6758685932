/**
 * One error type for every refusal leash makes. `code` is a stable string
 * (documented in the README); `message` is for humans and never carries
 * secrets (no key material, no token signatures, no full tokens).
 */
export class LeashError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'LeashError';
    this.code = code;
  }
}

/** Turns anything thrown into a LeashError, so callers can fail closed with a code. */
export function asLeashError(err: unknown, fallbackCode = 'INTERNAL'): LeashError {
  if (err instanceof LeashError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LeashError(fallbackCode, message);
}
