// The files esbuild puts into a CLI bundle, bundled as scripts/build.js bundles it (CommonJS,
// koffi external), as paths from the checkout's root: what a bundle holds, for the tests that
// keep code out of one. Its own file, so that the e2e files that do not ask load no esbuild.
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './harness.js';

export async function bundleInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    define: { __VERSION__: '"0"', 'import.meta.url': '__filename' },
    external: ['koffi', '@koromix/*'],
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).map((f) => relative(ROOT, join(process.cwd(), f)));
}
