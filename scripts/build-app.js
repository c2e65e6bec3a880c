// Builds the library (src/app/) as its own package, graceful-lifecycle
// (packages/graceful-lifecycle/), and graceful-supervisor/app as a re-export of it. The
// CLI's bundle never contains it (test/e2e/app-build.test.ts checks both ways), so it costs
// the CLI's start-up nothing.
//
//   packages/graceful-lifecycle/dist/
//     index.cjs     the implementation, one CommonJS file (esbuild)
//     index.mjs     ESM: re-exports the CommonJS file, so that a program loading both
//                   forms still has one lifecycle, not two
//     index.d.cts   the public types, one file: src/app/types.ts and index.ts's functions,
//     index.d.mts   nothing of the implementation (Host, Channel, the class behind Lifecycle)
//   dist/app/       graceful-supervisor/app: `export * from 'graceful-lifecycle'`, in
//                   both forms, with types
//
// Zero runtime dependencies: the bundle marks every bare import but node:* as an error, and
// the package has no install script.
import { fileURLToPath } from 'node:url';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import ts from 'typescript';

export const LIBRARY = 'graceful-lifecycle';

export async function buildApp(root) {
  const src = new URL('src/app/', root);
  const out = new URL(`packages/${LIBRARY}/dist/`, root);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL('index.ts', src))],
    bundle: true,
    outfile: fileURLToPath(new URL('index.cjs', out)),
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Readable: the program's stack traces go through it.
    minify: false,
    logLevel: 'warning',
    plugins: [noDependencies],
  });
  const names = Object.keys(createRequire(import.meta.url)(fileURLToPath(new URL('index.cjs', out)))).sort();
  writeFileSync(new URL('index.mjs', out), `import lib from './index.cjs';\nexport const { ${names.join(', ')} } = lib;\n`);

  // One declaration file, made of the two files that are the public API. Each is emitted on
  // its own, without a type check (npm run typecheck does that): their exports carry their
  // types (isolatedDeclarations), which takes 0.3 s where a program-wide emit took 2.9 s.
  const types = declarations(src, 'types.ts');
  const joined = bundleDeclarations(types, declarations(src, 'index.ts'));
  const header = `// ${LIBRARY}: the public API (src/app/types.ts and src/app/index.ts).\n`;
  for (const file of ['index.d.cts', 'index.d.mts']) writeFileSync(new URL(file, out), header + joined);

  // graceful-supervisor/app: what existing programs import keeps working, as the same module.
  const app = new URL('dist/app/', root);
  rmSync(app, { recursive: true, force: true });
  for (const dir of ['esm/', 'cjs/']) mkdirSync(new URL(dir, app), { recursive: true });
  writeFileSync(new URL('index.cjs', app), `module.exports = require('${LIBRARY}');\n`);
  writeFileSync(new URL('index.mjs', app), `export * from '${LIBRARY}';\n`);
  writeFileSync(new URL('esm/index.d.ts', app), `export * from '${LIBRARY}';\n`);
  writeFileSync(new URL('cjs/index.d.ts', app), `export * from '${LIBRARY}';\n`);
  writeFileSync(new URL('cjs/package.json', app), '{ "type": "commonjs" }\n');
}

// The declarations of one file of src/app/.
function declarations(src, file) {
  const result = ts.transpileDeclaration(readFileSync(new URL(file, src), 'utf8'), {
    fileName: file,
    compilerOptions: { isolatedDeclarations: true, module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2023, strict: true },
    reportDiagnostics: true,
  });
  if (result.diagnostics?.length) {
    const why = result.diagnostics.map((d) => `src/app/${file}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`).join('\n');
    throw new Error(`build: the library's declarations need explicit types:\n${why}`);
  }
  return result.outputText;
}

// types.ts's declarations, then index.ts's without what it takes from types.ts: its
// imports, and its re-exports (`export type { A, B } from './types.js'`, on one line or
// several), since types.ts's own `export`s export them in one file.
function bundleDeclarations(types, entry) {
  const own = entry
    .replace(/export type \{[^}]*\} from '\.\/types\.js';\n?/g, '')
    .replace(/^import[^;]*from '\.\/types\.js';\n?/gm, '');
  // Anything else from another file would leave the declaration file pointing at a file it does not ship.
  if (/from '\.\//.test(own)) throw new Error("build: index.ts's declarations import another file of src/app/: declare the public API in types.ts or index.ts");
  return `${types.trimEnd()}\n${own}`;
}

// The library must run with nothing but Node: no bare import other than node:*.
const noDependencies = {
  name: 'no-dependencies',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      return { errors: [{ text: `${args.path}: the library has no runtime dependencies; use node:* modules only` }] };
    });
  },
};
