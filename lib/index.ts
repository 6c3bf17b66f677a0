// Public exports only.
export { NsbindError } from './errors.js';
