/**
 * The `--mmproj` projector the command line names, loaded over the text model: its own module,
 * so that libmtmd's binding and the projector are compiled only by the runs that use one (the
 * server with `--mmproj`, the CLI with `--image`), which import it before the sandbox.
 *
 * @module
 */
import { defaultThreads } from "../engine/context.ts";
import type { LlamaModel } from "../engine/model.ts";
import { loadProjector, type Projector } from "../engine/projector.ts";
import { resolveWeights } from "../onefile/llamafile_archive.ts";
import { trace } from "../util/trace.ts";
import type { CliOptions } from "./options.ts";
import { UsageError } from "./option_table.ts";

/**
 * Loads the `--mmproj` projector for `model`: a GGUF path, or an entry of the llamafile it runs
 * from (read in place at its offset, like the weights).
 */
export async function loadProjectorFromOptions(
  model: LlamaModel,
  options: CliOptions,
  extra: { warmup?: boolean } = {},
): Promise<Projector> {
  const source = await resolveWeights(options.mmproj);
  if (source === null) throw new UsageError("No projector given: pass --mmproj FILE");
  const projector = await loadProjector(model, source.path, {
    offset: source.offset,
    threads: options.threads ?? defaultThreads(),
    offload: options.mmprojOffload,
    warmup: extra.warmup ?? false,
    printTimings: options.verbose,
  });
  trace("projector loaded");
  return projector;
}
