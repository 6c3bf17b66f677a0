// Public exports only.
export { NsbindError } from './errors.js';
export { netns } from './net/netns.js';
export { links } from './net/links.js';
export type { NetnsTarget } from './net/target.js';
