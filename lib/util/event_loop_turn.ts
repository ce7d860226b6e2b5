/**
 * One turn of the event loop, for code that keeps the JS thread busy (a decode loop on this
 * thread) and must still let signals, timers that are due and socket I/O run between its steps.
 *
 * Why not `setTimeout(resolve, 0)`: Deno's timers have a resolution of about 2 ms, so that turn
 * costs 2 ms however little is waiting, a tenth of a loop that turns every 16 ms. A message
 * posted on a fresh `MessageChannel` arrives through the event loop, after what is ready there
 * runs, in about 15 µs; the channel is closed once it has, so it keeps nothing alive.
 *
 * @module
 */

/** Resolves after one turn of the event loop (signals, due timers and I/O get to run). */
export function eventLoopTurn(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise<void>((resolve) => {
    port2.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port1.postMessage(null);
  });
}
