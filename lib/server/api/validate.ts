/**
 * Field validation for request bodies, with terse messages that name the field
 * (`temperature must be between 0 and 2`). Every failure is a 400
 * {@linkcode ApiError} whose `param` is the field. `null` counts as absent, as
 * OpenAI clients send it for unset fields.
 *
 * @module
 */
import { invalidRequest } from "./errors.ts";

/** A parsed JSON request body. */
export type Body = Record<string, unknown>;

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

/** Limits of a number field. */
export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

function range(name: string, rule: NumberRule): string {
  const what = rule.integer ? "an integer" : "a number";
  if (rule.min !== undefined && rule.max !== undefined) {
    return rule.integer
      ? `${name} must be an integer between ${rule.min} and ${rule.max}`
      : `${name} must be between ${rule.min} and ${rule.max}`;
  }
  if (rule.min !== undefined) return `${name} must be ${what} of at least ${rule.min}`;
  if (rule.max !== undefined) return `${name} must be ${what} of at most ${rule.max}`;
  return `${name} must be ${what}`;
}

/** Checks a number value (already known to be present) against `rule`. */
export function checkNumber(value: unknown, name: string, rule: NumberRule = {}): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw invalidRequest(`${range(name, rule)}, got ${kind(value)}`, name);
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw invalidRequest(`${range(name, rule)}, got ${value}`, name);
  }
  if (
    (rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)
  ) {
    throw invalidRequest(`${range(name, rule)}, got ${value}`, name);
  }
  return value;
}

/** `body[name]` as a number within `rule`, or `undefined` when absent. */
export function optionalNumber(
  body: Body,
  name: string,
  rule: NumberRule = {},
): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  return checkNumber(value, name, rule);
}

/** `body[name]` as a boolean, or `undefined` when absent. */
export function optionalBoolean(body: Body, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw invalidRequest(`${name} must be a boolean, got ${kind(value)}`, name);
  }
  return value;
}

/** `body[name]` as a string, or `undefined` when absent. */
export function optionalString(body: Body, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw invalidRequest(`${name} must be a string, got ${kind(value)}`, name);
  }
  return value;
}

/** `body[name]` as an object, or `undefined` when absent. */
export function optionalObject(body: Body, name: string): Body | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidRequest(`${name} must be an object, got ${kind(value)}`, name);
  return value;
}

/** Stop strings from a string or an array of strings (empty strings are dropped). */
export function stopStrings(body: Body, name = "stop"): string[] {
  const value = body[name];
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value === "" ? [] : [value];
  if (!Array.isArray(value)) {
    throw invalidRequest(
      `${name} must be a string or an array of strings, got ${kind(value)}`,
      name,
    );
  }
  return value.map((item, i) => {
    if (typeof item !== "string") {
      throw invalidRequest(`${name}[${i}] must be a string, got ${kind(item)}`, name);
    }
    return item;
  }).filter((s) => s !== "");
}

/**
 * Checks that `value` is a token id of a vocabulary of `vocabSize` tokens; `name` says
 * where it is (`prompt[3]`), `param` is the field (default: `name` up to its first `[`).
 */
export function checkToken(
  value: unknown,
  name: string,
  vocabSize: number,
  param?: string,
): number {
  const field = param ?? name.replace(/\[.*$/, "");
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalidRequest(`${name} must be an integer token id, got ${kind(value)}`, field);
  }
  if (value < 0 || value >= vocabSize) {
    throw invalidRequest(
      `${name} is token ${value}, outside the vocabulary (0..${vocabSize - 1})`,
      field,
    );
  }
  return value;
}

/** An array of token ids, each inside the vocabulary. */
export function tokenArray(value: unknown, name: string, vocabSize: number): number[] {
  if (!Array.isArray(value)) {
    throw invalidRequest(`${name} must be an array of token ids, got ${kind(value)}`, name);
  }
  return value.map((item, i) => checkToken(item, `${name}[${i}]`, vocabSize));
}

/**
 * `logit_bias` in OpenAI's shape (`{"15043": -100}`) or llama.cpp's (`[[15043, -1]]`);
 * a bias of `false` bans the token. Keys that are not token ids are text, whose tokens
 * all get the bias (llama.cpp). Token ids must be inside the vocabulary.
 */
export function logitBias(
  body: Body,
  vocabSize: number,
  tokenize: (text: string) => ArrayLike<number>,
  options: { limit?: number } = {},
): { token: number; bias: number }[] {
  const value = body.logit_bias;
  if (value === undefined || value === null) return [];
  const limit = options.limit;
  const out: { token: number; bias: number }[] = [];
  const bias = (raw: unknown, where: string): number => {
    if (raw === false) return -Infinity;
    if (typeof raw !== "number" || !Number.isFinite(raw)) {
      throw invalidRequest(
        `logit_bias${where} must be a number or false, got ${kind(raw)}`,
        "logit_bias",
      );
    }
    if (limit !== undefined && Math.abs(raw) > limit) {
      throw invalidRequest(
        `logit_bias${where} must be between -${limit} and ${limit}, got ${raw}`,
        "logit_bias",
      );
    }
    return raw;
  };
  const add = (key: unknown, raw: unknown, where: string) => {
    const b = bias(raw, where);
    if (typeof key === "string" && /^-?\d+$/.test(key)) key = Number(key);
    if (typeof key === "number") {
      out.push({
        token: checkToken(key, `logit_bias key ${key}`, vocabSize, "logit_bias"),
        bias: b,
      });
    } else if (typeof key === "string") {
      for (const token of Array.from(tokenize(key))) out.push({ token, bias: b });
    } else {
      throw invalidRequest(
        `logit_bias${where} must name a token id or text, got ${kind(key)}`,
        "logit_bias",
      );
    }
  };
  if (Array.isArray(value)) {
    value.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw invalidRequest(`logit_bias[${i}] must be a [token, bias] pair`, "logit_bias");
      }
      add(pair[0], pair[1], `[${i}]`);
    });
  } else if (isObject(value)) {
    for (const [key, raw] of Object.entries(value)) add(key, raw, `["${key}"]`);
  } else {
    throw invalidRequest(
      `logit_bias must be an object mapping token ids to biases, got ${kind(value)}`,
      "logit_bias",
    );
  }
  for (const item of out) {
    item.token = checkToken(item.token, "logit_bias token", vocabSize, "logit_bias");
  }
  return out;
}
