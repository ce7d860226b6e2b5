/**
 * `llamafile upgrade OLD.llamafile -o NEW.llamafile`: reads the arguments (the `upgrade` table)
 * and runs `lib/onefile/upgrade.ts`.
 *
 * @module
 */
import { upgradeLlamafile } from "../onefile/upgrade.ts";
import { writeStdout } from "../util/stdout_writer.ts";
import { formatOptionHelp, parseArgs, UsageError } from "./option_table.ts";
import { UPGRADE_TABLE } from "./options/upgrade.ts";
import { launcherArgv, readArgsText } from "./pack_command.ts";

/** What `llamafile upgrade ...` asks for. */
export type UpgradeRequest =
  | { kind: "upgrade"; input: string; output: string; align: number; platforms?: string[] }
  | { kind: "help" };

/** The `llamafile upgrade --help` text, generated from the `upgrade` table. */
export function upgradeHelp(): string {
  return [
    "llamafile upgrade: this version's runtime around an old llamafile's weights, .args and entries",
    "",
    "USAGE",
    "  llamafile upgrade OLD.llamafile [--platform P,...|all] -o NEW.llamafile",
    ...formatOptionHelp(UPGRADE_TABLE),
  ].join("\n") + "\n";
}

/**
 * Parses the arguments after `upgrade`.
 *
 * @throws {UsageError} On unknown options, a missing output, or not exactly one input.
 */
export function parseUpgradeArgs(argv: readonly string[]): UpgradeRequest {
  const a = parseArgs(UPGRADE_TABLE, argv);
  if (a.help) return { kind: "help" };
  if (a.files.length !== 1) {
    throw new UsageError(
      a.files.length === 0
        ? "upgrade needs the old llamafile: upgrade OLD.llamafile -o NEW.llamafile"
        : `upgrade takes one old llamafile, not ${a.files.length}`,
    );
  }
  if (a.output === undefined) throw new UsageError("upgrade needs the output: -o NEW.llamafile");
  return {
    kind: "upgrade",
    input: a.files[0]!,
    output: a.output,
    align: a.align,
    ...(a.platforms !== undefined && { platforms: a.platforms }),
  };
}

/**
 * Runs `llamafile upgrade ARGS`; returns the exit code.
 *
 * @throws {UsageError} On bad arguments (the caller prints it and exits 2).
 */
export async function upgradeCommand(argv: readonly string[]): Promise<number> {
  const request = parseUpgradeArgs(argv);
  if (request.kind === "help") {
    writeStdout(upgradeHelp());
    return 0;
  }
  await upgradeLlamafile({
    input: request.input,
    output: request.output,
    align: request.align,
    ...(request.platforms !== undefined && { platforms: request.platforms }),
    argv: launcherArgv(),
    readArgs: readArgsText,
  });
  return 0;
}
