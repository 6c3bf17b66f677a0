// ESM entry points over the CommonJS build: one implementation, two module systems.
// Each dist/<entry>.mjs re-exports the names of dist/<entry>.js; .d.mts re-exports types.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
for (const entry of ['index', 'syscalls']) {
  const mod = require(`../dist/${entry}.js`);
  const names = Object.keys(mod).filter((n) => n !== 'default' && n !== '__esModule');
  const body = [
    `import cjs from './${entry}.js';`,
    ...names.map((n) => `export const ${n} = cjs.${n};`),
    'export default cjs;',
    '',
  ].join('\n');
  writeFileSync(new URL(`../dist/${entry}.mjs`, import.meta.url), body);
  writeFileSync(new URL(`../dist/${entry}.d.mts`, import.meta.url), `export * from './${entry}.js';\n`);
}
