/** How a page opens the explorer (shared by the browser entry and the Node side that writes the page). */
export interface MountOptions {
  /** The run to open, as a link hash (spec.ts's encodeLink); default: read the page's URL hash. */
  readonly link?: string;
  /** Keep the run in the page's URL hash (the standalone page; not inside a notebook's output). */
  readonly useHash?: boolean;
  readonly autoplay?: boolean;
  /** Virtual ms per wall ms. Default 0.1. */
  readonly speed?: number;
}
