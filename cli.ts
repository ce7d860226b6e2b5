/**
 * llamafile's command line (see `lib/cli/main.ts`): run it with `deno task llamafile ARGS`,
 * which grants the permissions of the mode ARGS ask for.
 *
 * @module
 */
import { main } from "./lib/cli/main.ts";

export { EXIT, main } from "./lib/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
