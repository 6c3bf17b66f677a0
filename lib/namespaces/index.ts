// Existing namespaces: inspect them (of, list), keep them (persist, release).
import { list } from './list.js';
import { of } from './of.js';
import { persist, release } from './persist.js';

export type { NamespaceEntry, ListOptions } from './list.js';
export type { NamespaceTarget, HasPid } from './target.js';
export { namespaceTypes, type NamespaceType, type NamespaceId, type Namespaces } from './types.js';

/**
 * The namespaces that already exist: which a process is in ({@link of}), every namespace
 * on the host ({@link list}, like `lsns`), and keeping one alive without processes
 * ({@link persist}, {@link release}).
 *
 * @example
 * import { namespaces } from 'nsbind';
 * namespaces.of().net.inode;                 // this process's network namespace
 * await namespaces.list({ type: 'net' });    // every network namespace on the host
 */
export const namespaces = { of, list, persist, release } as const;
