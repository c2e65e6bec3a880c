// Builds the library, `graceful-supervisor/app` (src/app/), beside the CLI and apart from it: the CLI's
// bundle never contains it (test/e2e/app-build.test.ts checks both ways), so it costs the
// CLI's start-up nothing.
//
//   dist/app/index.cjs     the implementation, one CommonJS file (esbuild)
//   dist/app/index.mjs     ESM: re-exports the CommonJS file, so that a program loading
//                          both forms still has one lifecycle, not two
//   dist/app/esm/*.d.ts    types for import (TypeScript's declaration emit)
//   dist/app/cjs/*.d.ts    the same types for require (a commonjs package.json beside them)
//
// Zero runtime dependencies: the bundle marks every bare import but node:* as an error.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import ts from 'typescript';

export async function buildApp(root) {
  const src = new URL('src/app/', root);
  const out = new URL('dist/app/', root);
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [new URL('index.ts', src).pathname],
    bundle: true,
    outfile: new URL('index.cjs', out).pathname,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Readable: the program's stack traces go through it.
    minify: false,
    logLevel: 'warning',
    plugins: [noDependencies],
  });
  const names = Object.keys(createRequire(import.meta.url)(new URL('index.cjs', out).pathname)).sort();
  writeFileSync(
    new URL('index.mjs', out),
    `import lib from './index.cjs';\nexport const { ${names.join(', ')} } = lib;\n`,
  );

  // Declarations file by file, without a type check (npm run typecheck does that): the
  // library's exports carry their types (isolatedDeclarations), which takes 0.3 s where a
  // program-wide tsc emit took 2.9 s of every build.
  const esm = new URL('esm/', out);
  mkdirSync(esm, { recursive: true });
  for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const result = ts.transpileDeclaration(readFileSync(new URL(file, src), 'utf8'), {
      fileName: file,
      compilerOptions: { isolatedDeclarations: true, module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2023, strict: true },
      reportDiagnostics: true,
    });
    if (result.diagnostics?.length) {
      const why = result.diagnostics.map((d) => `src/app/${file}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`).join('\n');
      throw new Error(`build: the library's declarations need explicit types:\n${why}`);
    }
    writeFileSync(new URL(file.replace(/\.ts$/, '.d.ts'), esm), result.outputText);
  }
  const cjs = new URL('cjs/', out);
  mkdirSync(cjs, { recursive: true });
  for (const file of readdirSync(esm)) copyFileSync(new URL(file, esm), new URL(file, cjs));
  writeFileSync(new URL('package.json', cjs), '{ "type": "commonjs" }\n');
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
