/**
 * The plausible range of the system clock, in unix seconds. Before the floor
 * the clock is wrong, not the token or the certificate: leash verify refuses
 * (CLOCK_INSANE) rather than guess, and leash doctor says so. The ceiling only
 * makes the doctor's check two-sided.
 */
export const CLOCK_FLOOR = 1767225600; // 2026-01-01T00:00:00Z
export const CLOCK_CEILING = 4102444800; // 2100-01-01T00:00:00Z
