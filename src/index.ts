/** Public API for `quiver.config.ts` files and embedders. */
export { defineConfig } from './config/types.ts';
export type * from './config/types.ts';
