/**
 * Request validation with declared schemas (zod, its tree-shakable `zod/mini` form: the app is
 * bundled into every llamafile): the field types every API's request schema is
 * built from, each with a terse message that names the field (`temperature must be between 0
 * and 2, got 3`), and the entry points that run a schema and turn its first failure into a 400
 * {@linkcode ApiError} whose `param` is the top-level field. `null` counts as absent in
 * optional fields, as OpenAI clients send it for unset ones. Every number that can reach FFI
 * has a range here (32-bit integers, 32-bit floats, token ids), so none arrives out of range.
 *
 * @module
 */
import * as z from "zod/mini";
import { invalidRequest } from "./errors.ts";

/** A parsed JSON request body. */
export type Body = Record<string, unknown>;

/** The largest signed 32-bit integer (`int32_t` parameters of libllama). */
export const INT32_MAX = 2 ** 31 - 1;
/** The largest unsigned 32-bit integer (`uint32_t` seeds). */
export const UINT32_MAX = 2 ** 32 - 1;
/** The largest finite 32-bit float (`float` parameters of libllama). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** How a JSON value is named in messages. */
export function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}

/** What a failing value was: a number itself (in a number field), else its kind. */
function got(value: unknown, numbers = true): string {
  return numbers && typeof value === "number" ? String(value) : kind(value);
}

/** An issue as zod hands it to an error function. */
type RawIssue = { code: string; input?: unknown; [key: string]: unknown };

/**
 * An error function: "is required" for a missing value, else `predicate, got WHAT` where WHAT
 * is the value's kind (`a string`), or the number itself in number fields.
 */
function expecting(predicate: string, numbers = false): (issue: RawIssue) => string {
  return (issue) =>
    issue.input === undefined ? "is required" : `${predicate}, got ${got(issue.input, numbers)}`;
}

/** Limits of a number field. */
export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

/** A bound as messages show it (`3.40e+38` for a float's range, not 39 digits). */
function bound(n: number): string {
  return Math.abs(n) >= 1e21 ? n.toPrecision(3) : String(n);
}

/** What a number field must be, without its name: `must be an integer between 1 and 8`. */
export function numberPredicate(rule: NumberRule): string {
  const what = rule.integer ? "an integer" : "a number";
  const min = rule.min === undefined ? undefined : bound(rule.min);
  const max = rule.max === undefined ? undefined : bound(rule.max);
  if (min !== undefined && max !== undefined) {
    return rule.integer
      ? `must be an integer between ${min} and ${max}`
      : `must be between ${min} and ${max}`;
  }
  if (min !== undefined) return `must be ${what} of at least ${min}`;
  if (max !== undefined) return `must be ${what} of at most ${max}`;
  return `must be ${what}`;
}

/** A number schema: its output is a number. */
export type NumberSchema = z.ZodMiniType<number, number>;

/** A finite number within `rule`; `predicate` replaces the message's "must be ..." part. */
export function number(rule: NumberRule = {}, predicate = numberPredicate(rule)): NumberSchema {
  const error = expecting(predicate, true);
  const base = rule.integer ? z.int({ error }) : z.number({ error });
  const checks = [];
  if (rule.min !== undefined) checks.push(z.minimum(rule.min, { error }));
  if (rule.max !== undefined) checks.push(z.maximum(rule.max, { error }));
  return checks.length === 0 ? base : base.check(...checks);
}

/** An integer from `min` to `max` (a 32-bit signed one unless told). */
export function integer(min = -INT32_MAX - 1, max = INT32_MAX): NumberSchema {
  return number({ integer: true, min, max });
}

/** A number a 32-bit float holds, from `min` to `max`. */
export function float32(min = -FLOAT32_MAX, max = FLOAT32_MAX): NumberSchema {
  return number({ min, max });
}

/** A boolean. */
export function boolean(): z.ZodMiniBoolean {
  return z.boolean({ error: expecting("must be a boolean") });
}

/** A string. */
export function string(): z.ZodMiniString {
  return z.string({ error: expecting("must be a string") });
}

/** A string that is not empty. */
export function nonEmptyString(): z.ZodMiniString {
  return string().check(z.minLength(1, { error: "must be a non-empty string" }));
}

/** One of `values`, named in the message as `"a", "b" or "c"`. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const predicate = `must be ${quotedList(values)}`;
  return z.enum(values, {
    error: (issue) =>
      typeof issue.input === "string"
        ? `${predicate}, got ${JSON.stringify(issue.input)}`
        : expecting(predicate)(issue),
  });
}

/** `"a", "b" or "c"`. */
export function quotedList(values: readonly string[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

/** Any JSON object, kept as it is. */
export function jsonObject() {
  return z.record(z.string(), z.unknown(), { error: expecting("must be an object") });
}

/** An optional field: absent or `null` give `undefined`. */
export function optional<T extends z.ZodMiniType>(schema: T) {
  return z.pipe(
    z.optional(z.nullable(schema)),
    z.transform((value: z.output<T> | null | undefined) => value ?? undefined),
  );
}

/** Stop strings: a string or an array of strings, as an array without empty strings. */
export function stopStrings() {
  return z.pipe(
    z.union([string(), z.array(string())], {
      error: expecting("must be a string or an array of strings"),
    }),
    z.transform((value: string | string[]) =>
      (typeof value === "string" ? [value] : value).filter((s) => s !== "")
    ),
  );
}

/**
 * A token id of a vocabulary of `vocabSize` tokens; without `vocabSize`, any integer (a request
 * schema does not know the model: the endpoint checks ids against its vocabulary before they
 * reach libllama).
 */
export function tokenId(vocabSize?: number): NumberSchema {
  const typeError = expecting("must be an integer token id", true);
  const schema = z.int({ error: typeError });
  if (vocabSize === undefined) return schema;
  const range = (issue: RawIssue) =>
    `is token ${issue.input}, outside the vocabulary (0..${vocabSize - 1})`;
  return schema.check(z.minimum(0, { error: range }), z.maximum(vocabSize - 1, { error: range }));
}

/** An array of token ids, each inside the vocabulary. */
export function tokenIds(vocabSize?: number): z.ZodMiniArray<NumberSchema> {
  return z.array(tokenId(vocabSize), { error: expecting("must be an array of token ids") });
}

/** A logit bias value: a number (within ±`limit`, or what a float holds) or `false` (ban). */
function biasValue(limit?: number) {
  const max = limit ?? FLOAT32_MAX;
  return z.union([number({ min: -max, max }), z.literal(false)], {
    error: expecting("must be a number or false"),
  });
}

/**
 * `logit_bias` in OpenAI's shape (`{"15043": -100}`) or llama.cpp's (`[[15043, -1]]`); a bias
 * of `false` bans the token. Keys that are not token ids are text. Token ids are checked against
 * the vocabulary by {@linkcode toLogitBias}.
 */
export function logitBiasField(limit?: number) {
  const pair = z.tuple([z.union([tokenId(), string()]), biasValue(limit)], {
    error: expecting("must be a [token, bias] pair"),
  });
  return z.union([z.record(z.string(), biasValue(limit)), z.array(pair)], {
    error: expecting("must be an object mapping token ids to biases"),
  });
}

/** The parsed `logit_bias` field. */
export type LogitBiasField = z.output<ReturnType<typeof logitBiasField>>;

/**
 * The token biases of a parsed `logit_bias`: token ids must be inside the vocabulary; text is
 * tokenized and each of its tokens gets the bias (llama.cpp).
 */
export function toLogitBias(
  value: LogitBiasField | undefined,
  vocabSize: number,
  tokenize: (text: string) => ArrayLike<number>,
): { token: number; bias: number }[] {
  if (value === undefined) return [];
  const entries: [number | string, number | false, string][] = Array.isArray(value)
    ? value.map(([key, bias], i) => [key, bias, `logit_bias[${i}]`])
    : Object.entries(value).map(([key, bias]) => [key, bias, `logit_bias key ${key}`]);
  const out: { token: number; bias: number }[] = [];
  for (const [key, raw, where] of entries) {
    const bias = raw === false ? -Infinity : raw;
    const id = typeof key === "string" && /^-?\d+$/.test(key) ? Number(key) : key;
    if (typeof id === "number") {
      out.push({ token: parseField(tokenId(vocabSize), id, where, "logit_bias"), bias });
    } else {
      for (const token of Array.from(tokenize(id))) out.push({ token, bias });
    }
  }
  return out;
}

/** Parses a request body that must be a JSON object. */
export function parseJsonBody(text: string): Body {
  if (text.trim() === "") throw invalidRequest("The request body is empty: expected a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidRequest(`Cannot parse the request body as JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) {
    throw invalidRequest(`The request body must be a JSON object, got ${kind(value)}`);
  }
  return value;
}

/** A zod issue as parsing reports it. */
type Issue = z.core.$ZodIssue;

/** `messages[0].content`, `logit_bias["5"]`. */
function pathName(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(key))) {
      out += out === "" ? String(key) : `.${String(key)}`;
    } else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Codes that, at a union member's root, mean the value is not of that member's kind. */
const TYPE_MISMATCH = new Set(["invalid_type", "invalid_union", "invalid_value"]);

/**
 * The issue to report: inside a union whose members all failed, the one member whose value had
 * the right type (`stop: [1]` reports `stop[0]`, not the union).
 */
function innermost(issue: Issue): Issue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  const matched = issue.errors.filter((issues) =>
    issues.length > 0 &&
    !issues.some((i) => i.path.length === 0 && TYPE_MISMATCH.has(i.code))
  );
  if (matched.length !== 1) return issue;
  const inner = matched[0]![0]!;
  return innermost({ ...inner, path: [...issue.path, ...inner.path] } as Issue);
}

/** Messages for issues whose schema gave none (zod's own wording is not ours). */
function defaultMessage(issue: RawIssue): string {
  const input = issue.input;
  switch (issue.code) {
    case "invalid_type": {
      if (input === undefined) return "is required";
      const expected = String(issue.expected);
      const article = /^[aeiou]/.test(expected) ? "an" : "a";
      return `must be ${article} ${expected === "int" ? "integer" : expected}, got ${got(input)}`;
    }
    case "invalid_value": {
      const values = (issue.values as unknown[]).map((v) => String(v));
      return `must be ${quotedList(values)}, got ${
        typeof input === "string" ? JSON.stringify(input) : got(input)
      }`;
    }
    case "invalid_union": {
      if (issue.note === "No matching discriminator") {
        const options = (issue.options as unknown[]).map(String);
        const value = isObject(input) ? input[String(issue.discriminator)] : undefined;
        return value === undefined
          ? `is required: one of ${quotedList(options)}`
          : `${JSON.stringify(value)} is not supported: use ${quotedList(options)}`;
      }
      return `has an unexpected shape, got ${got(input)}`;
    }
    case "too_small":
      return issue.origin === "array"
        ? Number(issue.minimum) === 1
          ? "must not be empty"
          : `must hold at least ${issue.minimum} items`
        : issue.origin === "string"
        ? "must not be empty"
        : `must be at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `must hold at most ${issue.maximum} items`
        : issue.origin === "string"
        ? `must be at most ${issue.maximum} characters long`
        : `must be at most ${issue.maximum}`;
    case "unrecognized_keys":
      return `has unknown fields ${quotedList((issue.keys as string[]) ?? [])}`;
    default:
      return "is invalid";
  }
}

const PARSE_OPTIONS = { error: defaultMessage, reportInput: true } as const;

/** Runs `schema` on `value` with our messages, without throwing. */
export function checkRequest<T extends z.ZodMiniType>(
  schema: T,
  value: unknown,
): z.core.util.SafeParseResult<z.output<T>> {
  return schema.safeParse(value, PARSE_OPTIONS);
}

/** The 400 for a failed parse: its first issue, named after where it is. */
export function requestError(
  error: z.core.$ZodError,
  prefix = "",
  param?: string,
): ReturnType<typeof invalidRequest> {
  const issue = innermost(error.issues[0]!);
  const name = pathName(issue.path, prefix);
  const top = param ?? (prefix !== "" ? prefix.replace(/[[.].*$/, "") : issue.path[0]);
  // A message that starts with ":" follows the name directly (`messages[0].content[1]: ...`).
  const message = name === ""
    ? issue.message.replace(/^: /, "")
    : issue.message.startsWith(":")
    ? `${name}${issue.message}`
    : `${name} ${issue.message}`;
  return invalidRequest(message, typeof top === "string" ? top : undefined);
}

/**
 * Runs `schema` on a request value; its first failure is a 400 naming the field
 * (`messages[0].role must be ...`) with the top-level field as `param`.
 */
export function parseRequest<T extends z.ZodMiniType>(schema: T, value: unknown): z.output<T> {
  const result = checkRequest(schema, value);
  if (!result.success) throw requestError(result.error);
  return result.data;
}

/**
 * Runs `schema` on one value that sits at `name` (`prompt[2]`); `param` is the top-level field
 * (default: `name` up to its first `[` or `.`).
 */
export function parseField<T extends z.ZodMiniType>(
  schema: T,
  value: unknown,
  name: string,
  param?: string,
): z.output<T> {
  const result = checkRequest(schema, value);
  if (!result.success) throw requestError(result.error, name, param);
  return result.data;
}
