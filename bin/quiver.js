#!/usr/bin/env node
// Entry point for `quiver` / `npx quiver`: registers the TypeScript loader (so both Quiver's sources
// and the user's quiver.config.ts load without a build step), then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/index.ts');
await runCli(process.argv);
