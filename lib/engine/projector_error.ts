/**
 * The error of a projector that cannot be loaded or an image it cannot take, apart from the
 * projector itself: the command line throws it for a bad `--image` without loading libmtmd's
 * binding (`projector.ts`), which a text prompt never needs.
 *
 * @module
 */

/** A projector that could not be loaded, or an image it cannot take. */
export class ProjectorError extends Error {
  override name = "ProjectorError";
}
