// Every relative link in the docs a user reads resolves: to a file or directory of the
// repository, and with `#anchor` to a heading of the Markdown file it points into (GitHub's
// heading slugs). Package READMEs are shown on the npm registry, where a link that leaves
// the package directory is dead, so they may not have one.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function docFiles(): string[] {
  const files = ['README.md', 'CHANGELOG.md', 'bench/README.md'];
  const under = (dir: string, pick: (entry: fs.Dirent) => string | undefined): void => {
    const full = path.join(ROOT, dir);
    if (!fs.existsSync(full)) return;
    for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
      const file = pick(entry);
      if (file !== undefined && fs.existsSync(path.join(ROOT, file))) files.push(file);
    }
  };
  under('docs', (e) => (e.isFile() && e.name.endsWith('.md') ? `docs/${e.name}` : undefined));
  under('packages', (e) => (e.isDirectory() ? `packages/${e.name}/README.md` : undefined));
  under('examples', (e) => (e.isDirectory() ? `examples/${e.name}/README.md` : undefined));
  return files.sort();
}

/** The text outside fenced code blocks, line by line (fenced lines become empty, so line numbers stay). */
function proseLines(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line;
  });
}

/** A heading's anchor as GitHub makes it: the rendered text, lower-cased, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images keep their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`([^`]*)`/g, '$1') // code spans keep their content
    .replace(/(\*\*|__|\*)/g, ''); // emphasis markers
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a Markdown file offers: its headings' slugs (duplicates numbered, as GitHub does) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const slug = githubSlug(heading);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images (`[text](target)`), and reference definitions (`[id]: target`), outside code. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  proseLines(markdown).forEach((raw, i) => {
    const line = raw.replace(/(`+)[^`].*?\1/g, (code) => ' '.repeat(code.length));
    for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line: i + 1, target: m[1]!.replace(/^<|>$/g, '') });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line);
    if (definition) links.push({ line: i + 1, target: definition[1]!.replace(/^<|>$/g, '') });
  });
  return links;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

/** What is wrong with one link of `file`, or undefined when it resolves. */
function problem(file: string, target: string): string | undefined {
  const hash = target.indexOf('#');
  const pathPart = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), decodeURIComponent(pathPart));
  const relative = path.relative(ROOT, resolved);
  if (relative.startsWith('..')) return `points outside the repository (${relative})`;
  if (file.startsWith('packages/') && pathPart !== '') {
    const packageDir = path.join(ROOT, path.dirname(file));
    const inPackage = path.relative(packageDir, resolved);
    if (inPackage.startsWith('..') || path.isAbsolute(inPackage)) {
      return `leaves its package (${relative}): dead on the npm registry's page; link to package-local content or to https://www.npmjs.com/package/@handoff/<name>`;
    }
  }
  if (!fs.existsSync(resolved)) return `${relative} does not exist`;
  if (anchor !== undefined && resolved.endsWith('.md')) {
    if (!anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor.toLowerCase())) return `${relative} has no heading for #${anchor}`;
  }
  return undefined;
}

function brokenLinks(file: string): string[] {
  const markdown = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const broken: string[] = [];
  for (const { line, target } of linksOf(markdown)) {
    if (target === '' || isExternal(target)) continue;
    const why = problem(file, target);
    if (why) broken.push(`${file}:${line}: ${target} — ${why}`);
  }
  return broken;
}

describe('documentation links', () => {
  const files = docFiles();

  it('finds the documents to check', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'bench/README.md', 'docs/reliability.md', 'packages/cli/README.md']));
  });

  it.each(files)('every relative link in %s resolves to a file, and every #anchor to a heading', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it('makes anchors as GitHub does', () => {
    expect(githubSlug('Sidecar (`handoff` command)')).toBe('sidecar-handoff-command');
    expect(githubSlug('Options (`offload(options)`, or `{ offload: rules }` per call in the core)')).toBe(
      'options-offloadoptions-or--offload-rules--per-call-in-the-core',
    );
    expect(githubSlug('A9')).toBe('a9');
    expect(githubSlug('In Koa: `offload()` and `ctx.offload`')).toBe('in-koa-offload-and-ctxoffload');
    expect(githubSlug('0.2.0 (unreleased)')).toBe('020-unreleased');
  });

  it('reports a broken link, a missing anchor and a link out of a package', () => {
    expect(problem('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/);
    expect(problem('README.md', 'docs/reliability.md#z99')).toMatch(/no heading for #z99/);
    expect(problem('README.md', '#no-such-section')).toMatch(/no heading/);
    expect(problem('packages/core/README.md', '../../README.md')).toMatch(/leaves its package/);
    expect(problem('README.md', 'docs/reliability.md#a9')).toBeUndefined();
  });
});
