/**
 * Which signals `launch.ts` passes on to the `cli.ts` child it starts. The one decision about
 * process groups: the child stays in the launcher's group, so that it can read the terminal.
 * Ctrl-C (SIGINT) and a hang-up (SIGHUP) from the terminal go to every process of the
 * terminal's foreground group, the child included: passing them on would deliver them twice
 * (the second Ctrl-C would land at the chat's prompt and end it). A signal that reaches the
 * launcher while its group is not in a terminal's foreground (no terminal, a background job,
 * `timeout -s INT`) was sent to the launcher alone and is passed on, as SIGTERM always is.
 *
 * @module
 */

/** The signals `launch.ts` listens to. */
export const LAUNCH_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** One of {@linkcode LAUNCH_SIGNALS}. */
export type LaunchSignal = typeof LAUNCH_SIGNALS[number];

/**
 * Whether to pass `signal` on to the child; `foreground`: whether the launcher's process group
 * was the terminal's foreground group when it arrived (null: unknown, then it is passed on).
 */
export function forwardSignal(signal: LaunchSignal, foreground: boolean | null): boolean {
  if (signal === "SIGTERM") return true;
  return foreground !== true;
}
