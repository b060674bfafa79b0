// Runs the http-cache-tests client against one base URL and prints, as JSON on stdout,
// every test's definition (id, kind, depends_on) and its result. A process of its own
// per run: the suite keeps its results in module state.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [base, suiteDir, only] = process.argv.slice(2);
const load = (file) => import(pathToFileURL(`${suiteDir}/${file}`).href);
// The suite's own command-line client fetches with node-fetch 2; so does this one.
const nodeFetch = createRequire(`${suiteDir}/package.json`)('node-fetch');
// A request left unanswered fails its own test after REQUEST_TIMEOUT, not the whole run.
const REQUEST_TIMEOUT = 20_000;
const fetch = (url, init = {}) => nodeFetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT) });

const { runTests, getResults } = await load('client/runner.mjs');
const { default: suites } = await load('tests/index.mjs');
const { default: surrogate } = await load('tests/surrogate-control.mjs');
suites.push(surrogate);

// `only`: a comma-separated list of test ids to run (their dependencies are not run with them).
const wanted = only ? new Set(only.split(',')) : undefined;
if (wanted) for (const suite of suites) suite.tests = suite.tests.filter((test) => wanted.has(test.id));
// The results are this process's stdout; what the suite logs (requests and responses of the
// tests run with --only, set to dump) goes to stderr.
console.log = (...args) => console.error(...args);
if (wanted) for (const suite of suites) for (const test of suite.tests) test.dump = true;
await runTests(suites, fetch, false, base);
const tests = suites.flatMap((suite) =>
  suite.tests
    .filter((test) => test.browser_only !== true)
    .map((test) => ({ id: test.id, suite: suite.id, kind: test.kind ?? 'required', dependsOn: test.depends_on ?? [] })),
);
process.stdout.write(JSON.stringify({ tests, results: getResults() }));
