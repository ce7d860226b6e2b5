/**
 * A streaming hash from `node:crypto`, imported when first needed: a static import would make
 * every start of the app load Deno's Node compatibility layer (see `sha256.ts`).
 *
 * @module
 */
import type { Hash } from "node:crypto";

export type { Hash };

/** `createHash(algorithm)` of `node:crypto`, loaded on the first call. */
export async function createHash(algorithm: "sha256" | "sha512"): Promise<Hash> {
  const crypto = await import("node:crypto");
  return crypto.createHash(algorithm);
}
