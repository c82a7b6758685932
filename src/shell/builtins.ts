/**
 * Commands leash answers itself inside a session (a profile may not define
 * them: see BUILTIN_COMMANDS in policy/parse.ts). `leash-describe` prints
 * what the session's profile allows as JSON, `leash-describe --mcp` as MCP
 * tool definitions. Returns the format asked for, or null for anything else.
 */
export function describeRequest(command: string): 'json' | 'mcp' | null {
  const words = command.trim().split(/ +/);
  if (words[0] !== 'leash-describe' || words.length > 2) return null;
  if (words.length === 1 || words[1] === '--json') return 'json';
  return words[1] === '--mcp' ? 'mcp' : null;
}
