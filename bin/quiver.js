#!/usr/bin/env node
// Entry point for `quiver` / `npx quiver`: registers the TypeScript loader (so both Quiver's sources
// and the user's quiver.config.ts load without a build step), then hands over to the CLI.
import { register as registerCjs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
// A quiver.config.ts outside an ESM package (no "type": "module" above it, e.g. a repo made by
// `quiver init`) is loaded as CommonJS: without tsx's CJS hook its `export default` cannot load.
registerCjs();
const { runCli } = await import('../src/cli/index.ts');
await runCli(process.argv);
