/**
 * Compiles every child (contenders, Node origin, probes) once, at the start of a
 * run, into bench/.work/build/: the whole run then measures one snapshot of the
 * workspace sources even while they are being edited, and no child carries a
 * TypeScript loader. `@handoff/*` is bundled from `packages/<name>/src` through the
 * root tsconfig's paths (their dist/ is neither needed nor touched); every other
 * package stays an external `require()` of its installed copy.
 */
import { execFileSync } from 'node:child_process';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { BENCH_DIR, WORK_DIR } from '../config';

export const BUILD_DIR = path.join(WORK_DIR, 'build');

/** Where the compiled form of `file` (relative to bench/, e.g. contenders/floor.ts) lives. */
export function built(file: string): string {
  return path.join(BUILD_DIR, file.replace(/\.ts$/, '.js'));
}

const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@handoff/')) return undefined; // tsconfig paths: the sources
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      // The copy the importing file would load, by absolute path, so that the bundle
      // in .work/ resolves exactly what the source would (packages/core's undici, say).
      const from = createRequire(path.join(args.resolveDir, 'noop.js'));
      return { path: from.resolve(args.path), external: true };
    });
  },
};

export async function buildChildren(files: string[]): Promise<void> {
  await build({
    entryPoints: files.map((f) => path.join(BENCH_DIR, f)),
    outdir: BUILD_DIR,
    outbase: BENCH_DIR,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    tsconfig: path.join(BENCH_DIR, '../tsconfig.json'),
    plugins: [externalPackages],
    logLevel: 'warning',
  });
}

/** The commit the sources are at, and whether packages/ has uncommitted changes. */
export function sourceRevision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', '../packages') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in packages/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
