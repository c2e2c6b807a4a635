import { makeFixtures } from "../fixtures/make-fixtures.js";

/** Regenerates the capture fixtures before any test reads them. */
export default function setup(): void {
  makeFixtures();
}
