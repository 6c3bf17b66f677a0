// ESM entry points over the CommonJS build: one implementation, two module systems.
// Each dist/<entry>.mjs re-exports the names of dist/<entry>.js; .d.mts re-exports types.
//
// The wrapper loads the CommonJS build with createRequire, not `import cjs from`: a
// bundler-style loader that inlines a symlinked package (vitest over `npm link`, a path
// install or a workspace) transforms that import itself and loses the getter-style
// re-exports TypeScript emits, so every name read undefined. require() is Node's own
// loader in every host, and ESM and CommonJS users share one module instance (one
// NsbindError class for instanceof), which a second, ESM build would not give.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
for (const entry of ['index', 'syscalls', 'vitest']) {
  const mod = require(`../dist/${entry}.js`);
  const names = Object.keys(mod).filter((n) => n !== 'default' && n !== '__esModule');
  const body = [
    "import { createRequire } from 'node:module';",
    `const cjs = createRequire(import.meta.url)('./${entry}.js');`,
    ...names.map((n) => `export const ${n} = cjs.${n};`),
    'export default cjs;',
    '',
  ].join('\n');
  writeFileSync(new URL(`../dist/${entry}.mjs`, import.meta.url), body);
  writeFileSync(new URL(`../dist/${entry}.d.mts`, import.meta.url), `export * from './${entry}.js';\n`);
}
