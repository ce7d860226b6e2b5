/**
 * The one argv parser: a table of options (llama.cpp's flags, multi-letter single-dash ones like
 * `-ngl` included) read with "last one wins", and the `--help` text generated from the same
 * table. The main command, `pack` and `info` each have a table; every decision about mode and
 * permissions is made from what this parser returns.
 *
 * @module
 */

/** A usage error: the CLI prints it on one line and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** How an option's value is read. */
export type OptionKind = "string" | "int" | "float" | "flag" | "list";

/** One option of a table; `T` is the options object it fills. */
export interface OptionSpec<T> {
  /** Every spelling, the canonical one first (`-m`, `--model`). */
  readonly names: readonly string[];
  /** The field of `T` it sets. */
  readonly key: keyof T & string;
  readonly kind: OptionKind;
  /** The value's placeholder in `--help` (`N`, `FNAME`). */
  readonly arg?: string;
  /** One line of help; the default is appended from the section's defaults. */
  readonly help: string;
  /** For flags: the value stored when present (default true). */
  readonly value?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly number[];
  /** For lists: split each value at commas. */
  readonly commaList?: boolean;
  /** Turns the raw text into the stored value (after `kind`'s own checks); throws UsageError. */
  readonly parse?: (raw: string, name: string) => unknown;
  /** The default as `--help` shows it, when the value in `defaults` would mislead. */
  readonly defaultText?: string;
}

/** A group of options as `--help` shows it, with the defaults of the fields they set. */
export interface OptionSection<T> {
  readonly title: string;
  readonly specs: readonly OptionSpec<T>[];
  /** Defaults of the fields this section's options set (fields absent here are optional). */
  readonly defaults: Partial<T>;
}

/** A whole table: its sections, and whether words that are not options are collected. */
export interface OptionTable<T> {
  /** The subcommand, named in messages (`Unknown pack option "-x"`). */
  readonly command?: string;
  readonly sections: readonly OptionSection<T>[];
  /** Field that collects non-option words; without it such a word is a usage error. */
  readonly positional?: keyof T & string;
}

function specsOf<T>(table: OptionTable<T>): OptionSpec<T>[] {
  return table.sections.flatMap((section) => section.specs);
}

/** The options of `table` that take a value (their every spelling): the launcher's skip list. */
export function valueOptionNames<T>(table: OptionTable<T>): string[] {
  return specsOf(table).filter((spec) => spec.kind !== "flag").flatMap((spec) => spec.names);
}

/** Every spelling in `table`. */
export function optionNames<T>(table: OptionTable<T>): string[] {
  return specsOf(table).flatMap((spec) => spec.names);
}

/** The defaults of every section of `table`, merged. */
export function tableDefaults<T>(table: OptionTable<T>): T {
  const out: Record<string, unknown> = {};
  for (const section of table.sections) {
    for (const [key, value] of Object.entries(section.defaults)) {
      out[key] = Array.isArray(value) ? [...value] : value;
    }
  }
  if (table.positional !== undefined) out[table.positional] = [];
  return out as T;
}

function parseNumber<T>(spec: OptionSpec<T>, name: string, raw: string): number {
  const text = raw.trim();
  const value = spec.kind === "int"
    ? (/^[+-]?\d+$/.test(text) ? Number(text) : NaN)
    : (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN);
  if (!Number.isFinite(value) || (spec.kind === "int" && !Number.isSafeInteger(value))) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected ${
        spec.kind === "int" ? "an integer" : "a number"
      }`,
    );
  }
  // Every integer becomes a C int32 unless its spec says otherwise.
  const min = spec.min ?? (spec.kind === "int" ? -(2 ** 31) : undefined);
  const max = spec.max ?? (spec.kind === "int" ? 2 ** 31 - 1 : undefined);
  if (min !== undefined && value < min) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: must be at least ${min}`);
  }
  if (max !== undefined && value > max) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: must be at most ${max}`);
  }
  if (spec.min !== undefined && value < spec.min) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: must be at least ${spec.min}`);
  }
  if (spec.max !== undefined && value > spec.max) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: must be at most ${spec.max}`);
  }
  if (spec.choices && !spec.choices.includes(value)) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: must be one of ${spec.choices.join(", ")}`,
    );
  }
  return value;
}

/**
 * Parses `argv` with `table`: `--name value`, `--name=value` (long names only), flags, and
 * repeatable lists; the last occurrence wins.
 *
 * @throws {UsageError} On an unknown option, a missing or bad value, or a stray word.
 */
export function parseArgs<T>(table: OptionTable<T>, argv: readonly string[]): T {
  const byName = new Map<string, OptionSpec<T>>();
  for (const spec of specsOf(table)) for (const name of spec.names) byName.set(name, spec);
  const options = tableDefaults(table) as Record<string, unknown>;
  const what = table.command === undefined ? "" : `${table.command} `;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    let name = word;
    let inline: string | undefined;
    const eq = word.indexOf("=");
    if (word.startsWith("--") && eq > 2) {
      name = word.slice(0, eq);
      inline = word.slice(eq + 1);
    }
    const spec = byName.get(name);
    if (!spec) {
      if (word.startsWith("-") && word !== "-") {
        throw new UsageError(`Unknown ${what}option "${word}"`);
      }
      if (table.positional !== undefined) {
        (options[table.positional] as string[]).push(word);
        continue;
      }
      throw new UsageError(`Unexpected ${what}argument "${word}"`);
    }
    if (spec.kind === "flag") {
      if (inline !== undefined) throw new UsageError(`Option ${name} takes no value`);
      options[spec.key] = spec.value ?? true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(`Option ${name} needs a value (${spec.arg ?? "VALUE"})`);
      }
      raw = argv[++i]!;
    }
    const convert = (text: string): unknown => {
      if (spec.parse) return spec.parse(text, name);
      return spec.kind === "int" || spec.kind === "float" ? parseNumber(spec, name, text) : text;
    };
    if (spec.kind === "list") {
      const items = spec.commaList ? raw.split(",").map((s) => s.trim()).filter(Boolean) : [raw];
      options[spec.key] = [...(options[spec.key] as unknown[] ?? []), ...items.map(convert)];
    } else {
      options[spec.key] = convert(raw);
    }
  }
  return options as T;
}

function defaultShown<T>(spec: OptionSpec<T>, defaults: Partial<T>): string | null {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.kind === "flag" || spec.kind === "list") return null;
  const value = (defaults as Record<string, unknown>)[spec.key];
  if (value === undefined || value === "") return null;
  return String(value);
}

/** The `--help` lines of `table`'s sections: `TITLE`, then one line per option. */
export function formatOptionHelp<T>(table: OptionTable<T>): string[] {
  const lines: string[] = [];
  for (const section of table.sections) {
    if (section.specs.length === 0) continue;
    lines.push("", section.title.toUpperCase());
    for (const spec of section.specs) {
      const left = `  ${spec.names.join(", ")}${spec.arg ? ` ${spec.arg}` : ""}`;
      const shown = defaultShown(spec, section.defaults);
      const help = shown === null ? spec.help : `${spec.help} (default: ${shown})`;
      lines.push(
        left.length < 34 ? `${left.padEnd(34)}${help}` : `${left}\n${" ".repeat(34)}${help}`,
      );
    }
  }
  return lines;
}
