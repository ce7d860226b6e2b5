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

/** A flag's `value` that clears its key, as if no option before it had set it (`--no-mmproj`). */
export const UNSET: unique symbol = Symbol("unset");

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
  /** For flags: the value stored when present (default true); {@linkcode UNSET} clears the key. */
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
  /**
   * The environment variable that stands for this option (llama.cpp's `LLAMA_ARG_*`), read
   * before argv (argv wins). On a flag, a truthy value (`1`, `true`, `on`, `enabled`) sets it
   * and a falsey one (`0`, `false`, `off`, `disabled`) or `LLAMA_ARG_NO_*` sets its opposite.
   */
  readonly env?: string;
  /**
   * Accepted, but it cannot do anything here: the one line said on stderr (through the
   * table's `notes` field) when it is given, e.g. a GPU option on a CPU-only library.
   */
  readonly note?: string;
  /** A llama.cpp option for a feature this program does not have: refused with this reason. */
  readonly refuse?: string;
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
  /** Field that collects the notes of accepted options that do nothing here (see `note`). */
  readonly notes?: keyof T & string;
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
  if (table.notes !== undefined) out[table.notes] = [];
  return out as T;
}

/** llama.cpp's truthy and falsey words (`common_arg_utils::is_truthy`, `is_falsey`). */
const TRUTHY = new Set(["on", "enabled", "true", "1"]);
const FALSEY = new Set(["off", "disabled", "false", "0"]);

/**
 * A long option as llama.cpp reads it: `_` in a `--` word is `-` (`--ctx_size` is
 * `--ctx-size`); the value after `=` is left alone.
 */
export function normalizeName(word: string): string {
  if (!word.startsWith("--")) return word;
  const eq = word.indexOf("=");
  const name = eq < 0 ? word : word.slice(0, eq);
  return name.replaceAll("_", "-") + (eq < 0 ? "" : word.slice(eq));
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
export function parseArgs<T>(
  table: OptionTable<T>,
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
): T {
  const byName = new Map<string, OptionSpec<T>>();
  for (const spec of specsOf(table)) for (const name of spec.names) byName.set(name, spec);
  const options = tableDefaults(table) as Record<string, unknown>;
  const what = table.command === undefined ? "" : `${table.command} `;
  const noted = new Set<string>();
  const note = (spec: OptionSpec<T>, name: string) => {
    if (spec.note === undefined || table.notes === undefined || noted.has(spec.note)) return;
    noted.add(spec.note);
    (options[table.notes] as string[]).push(`${name}: ${spec.note}`);
  };
  const setFlag = (key: string, value: unknown) => {
    if (value === UNSET) delete options[key];
    else options[key] = value;
  };
  const convert = (spec: OptionSpec<T>, name: string, text: string): unknown => {
    if (spec.parse) return spec.parse(text, name);
    return spec.kind === "int" || spec.kind === "float" ? parseNumber(spec, name, text) : text;
  };
  const setValue = (spec: OptionSpec<T>, name: string, raw: string) => {
    if (spec.kind === "list") {
      const items = spec.commaList ? raw.split(",").map((s) => s.trim()).filter(Boolean) : [raw];
      options[spec.key] = [
        ...(options[spec.key] as unknown[] ?? []),
        ...items.map((item) => convert(spec, name, item)),
      ];
    } else {
      options[spec.key] = convert(spec, name, raw);
    }
  };
  // First the environment (llama.cpp's LLAMA_ARG_* variables), then argv over it.
  for (const spec of specsOf(table)) {
    if (spec.env === undefined) continue;
    const negative = spec.env.startsWith("LLAMA_ARG_")
      ? env[spec.env.replace("LLAMA_ARG_", "LLAMA_ARG_NO_")]
      : undefined;
    const raw = negative !== undefined && spec.kind === "flag" ? "0" : env[spec.env];
    if (raw === undefined) continue;
    if (spec.refuse !== undefined) {
      throw new UsageError(`Cannot use ${spec.env} (${spec.names.at(-1)}): ${spec.refuse}`);
    }
    if (spec.kind === "flag") {
      const value = spec.value ?? true;
      if (TRUTHY.has(raw)) setFlag(spec.key, value);
      else if (FALSEY.has(raw)) {
        if (typeof value !== "boolean") continue;
        options[spec.key] = !value;
      } else {
        throw new UsageError(
          `Invalid value "${raw}" for ${spec.env}: expected on, off, true, false, 1 or 0`,
        );
      }
    } else {
      if (spec.kind === "list") options[spec.key] = [];
      setValue(spec, spec.env, raw);
    }
    note(spec, spec.env);
  }
  const fromEnv = new Set(
    specsOf(table).filter((s) => s.kind === "list" && s.env !== undefined && s.env in env).map((
      s,
    ) => s.key),
  );
  for (let i = 0; i < argv.length; i++) {
    const word = normalizeName(argv[i]!);
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
        const guess = closestName(name, [...byName.keys()]);
        throw new UsageError(
          `Unknown ${what}option "${word}"${guess === null ? "" : ` (did you mean ${guess}?)`}`,
        );
      }
      if (table.positional !== undefined) {
        (options[table.positional] as string[]).push(word);
        continue;
      }
      throw new UsageError(`Unexpected ${what}argument "${word}"`);
    }
    if (spec.refuse !== undefined) throw new UsageError(`Cannot use ${name}: ${spec.refuse}`);
    note(spec, name);
    if (spec.kind === "flag") {
      if (inline !== undefined) throw new UsageError(`Option ${name} takes no value`);
      setFlag(spec.key, spec.value ?? true);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(`Option ${name} needs a value (${spec.arg ?? "VALUE"})`);
      }
      raw = argv[++i]!;
    }
    // A list given on the command line replaces the one its environment variable gave.
    if (spec.kind === "list" && fromEnv.delete(spec.key)) options[spec.key] = [];
    setValue(spec, name, raw);
  }
  return options as T;
}

/** Edit distance between `a` and `b` (insert, delete, substitute, swap two neighbours). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]!.push(d);
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The spelling in `names` closest to the unknown `word` (`--tmep` → `--temp`, `-temp` →
 * `--temp`), or null when none is close: at most 2 edits and a third of the word's letters.
 */
export function closestName(word: string, names: readonly string[]): string | null {
  const bare = word.replace(/^-+/, "");
  // A long option typed with one dash (or a short one with two) is what was meant.
  const dashed = names.find((name) => name !== word && name.replace(/^-+/, "") === bare);
  if (dashed !== undefined) return dashed;
  // Short words are a letter or two away from too many options to guess.
  if (bare.length < 3) return null;
  const limit = Math.min(2, Math.floor(bare.length / 3));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const name of names) {
    const distance = editDistance(word, name);
    if (distance > 0 && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

function defaultShown<T>(spec: OptionSpec<T>, defaults: Partial<T>): string | null {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.kind === "flag" || spec.kind === "list") return null;
  const value = (defaults as Record<string, unknown>)[spec.key];
  if (value === undefined || value === "") return null;
  return String(value);
}

/**
 * What a `--help` line says of a default that `baked` (a llamafile's `.args`, parsed) sets, or
 * null when it leaves this option alone.
 */
function bakedShown<T>(spec: OptionSpec<T>, defaults: T, baked: Partial<T>): string | null {
  if (!Object.hasOwn(baked, spec.key)) return null;
  const value = (baked as Record<string, unknown>)[spec.key];
  const before = (defaults as Record<string, unknown>)[spec.key];
  if (value === undefined || JSON.stringify(value) === JSON.stringify(before)) return null;
  if (spec.kind === "flag") return value === (spec.value ?? true) ? "set by .args" : null;
  if (spec.kind === "list") return `.args: ${(value as unknown[]).map(String).join(" ")}`;
  return `default: ${String(value)}, from .args`;
}

/**
 * The `--help` lines of `table`'s sections: `TITLE`, then one line per option. With `baked`
 * (the options a llamafile's `.args` set), the defaults it changes are shown as such.
 */
export function formatOptionHelp<T>(table: OptionTable<T>, baked?: Partial<T>): string[] {
  const lines: string[] = [];
  const defaults = tableDefaults(table);
  for (const section of table.sections) {
    if (section.specs.length === 0) continue;
    lines.push("", section.title.toUpperCase());
    for (const spec of section.specs) {
      const left = `  ${spec.names.join(", ")}${spec.arg ? ` ${spec.arg}` : ""}`;
      const fromArgs = baked === undefined ? null : bakedShown(spec, defaults, baked);
      const shown = defaultShown(spec, section.defaults);
      const help = (fromArgs !== null
        ? `${spec.help} (${fromArgs})`
        : shown === null
        ? spec.help
        : `${spec.help} (default: ${shown})`) + (spec.env === undefined ? "" : ` [${spec.env}]`);
      lines.push(
        left.length < 34 ? `${left.padEnd(34)}${help}` : `${left}\n${" ".repeat(34)}${help}`,
      );
    }
  }
  return lines;
}
