/**
 * Terminal colours for the chat: on a terminal only, and never with `NO_COLOR` set.
 *
 * @module
 */

/** Wraps text in SGR sequences, or leaves it alone when colours are off. */
export interface TextStyle {
  readonly on: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
}

/** A style; `on` false gives plain text. */
export function textStyle(on: boolean): TextStyle {
  const wrap = (open: number, close: number) => (text: string) =>
    on && text !== "" ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return { on, bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39) };
}

/**
 * Whether to colour what goes to stdout: it is a terminal and `NO_COLOR` is not set (Deno
 * reads it at start, so this holds inside the sandbox too). `TERM=dumb` gets no colours.
 */
export function colorWanted(term: string | undefined): boolean {
  let terminal = false;
  try {
    terminal = Deno.stdout.isTerminal();
  } catch {
    // closed
  }
  return terminal && !Deno.noColor && term !== "dumb";
}
