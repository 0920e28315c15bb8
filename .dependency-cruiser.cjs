// Import rules for Hearth (run by `npm run check`). Every arrow points one way:
//   errors/ids/log/metrics, canonical, address, db  <  domains, engine  <  connectors
//   <  config  <  flows  <  http  <  cli, runtime, main.   See ARCHITECTURE.md.
const DOMAINS = '^src/(customers|households|loyalty|identity|reconcile|audit|billing|governance)/';
const ABOVE_DOMAINS = '^src/(engine|flows|connectors|http|cli|config)/|^src/(runtime|main)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Folders form a DAG: no cycle between folders (each connectors/<system> is its own folder).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'base-is-base',
      comment: 'errors, ids, log, metrics, canonical/, address/ and db/ import nothing above them.',
      severity: 'error',
      from: { path: '^src/(canonical|address|db)/|^src/(errors|ids|log|metrics)\\.ts$' },
      to: { path: `${DOMAINS}|${ABOVE_DOMAINS}|^src/engine/` },
    },
    {
      name: 'domains-are-leaves',
      comment: 'Domains import only canonical/, db/, address/ and the base files (and, without cycles, another domain).',
      severity: 'error',
      from: { path: DOMAINS },
      to: { path: ABOVE_DOMAINS },
    },
    {
      name: 'engine-knows-no-domain',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: `${DOMAINS}|${ABOVE_DOMAINS.replace('engine|', '')}` },
    },
    {
      name: 'connectors-know-no-domain',
      comment: 'A connector maps a vendor to canonical shapes; it never imports a domain, the engine, flows or http.',
      severity: 'error',
      from: { path: '^src/connectors/' },
      to: { path: `${DOMAINS}|^src/(engine|flows|http|cli|config)/|^src/(runtime|main)\\.ts$` },
    },
    {
      name: 'connectors-do-not-import-each-other',
      comment: 'connectors/<a> never imports connectors/<b>; shared pieces live in connectors/*.ts or connectors/common/.',
      severity: 'error',
      from: { path: '^src/connectors/([^/]+)/' },
      to: { path: '^src/connectors/([^/]+)/', pathNot: '^src/connectors/($1|common)/' },
    },
    {
      name: 'flows-below-http',
      severity: 'error',
      from: { path: '^src/flows/' },
      to: { path: '^src/(http|cli)/|^src/(runtime|main)\\.ts$' },
    },
    {
      name: 'config-below-flows',
      comment: 'config/ reads and validates; it composes the connectors\' schemas and the domains\' settings types.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(engine|flows|http|cli)/|^src/(runtime|main)\\.ts$' },
    },
    {
      name: 'http-not-cli',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/cli/|^src/(runtime|main)\\.ts$' },
    },
    {
      name: 'migrations-run-no-domain-code',
      comment: 'A migration must never run today\'s domain code.',
      severity: 'error',
      from: { path: '^src/db/migrations/' },
      to: { path: '^src/', pathNot: '^src/db/' },
    },
    {
      name: 'product-never-imports-tests',
      comment: 'Simulators are for tests and `hearth demo` only: the demo commands are the one place src/ may start them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$|^src/cli/demo[^/]*\\.ts$' },
      to: { path: '^(sim|test-support|bench)/|\\.test\\.ts$' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    includeOnly: '^(src|sim|bench|test-support)/',
  },
};
