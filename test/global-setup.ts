/** Runs once before any test file: builds the UI the browser tests and the app page serve. */
import { ensureUiBuilt } from '../src/server/ui-api/ensure-built.js';

export default function setup(): void {
  ensureUiBuilt();
}
