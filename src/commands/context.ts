/**
 * What every subcommand receives from src/cli.ts: its own parsed options,
 * positionals, and the global flag. Kept apart from cli.ts so that command
 * modules depend only inward.
 */
export interface CommandContext {
  /** `--config-dir` if given on the command line (the environment is resolved by the command). */
  configDirFlag: string | undefined;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  env: NodeJS.ProcessEnv;
}
