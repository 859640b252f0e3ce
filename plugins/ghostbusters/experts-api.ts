/**
 * `devloop/agents/experts`: the expert crew and `openRepo`, for services that run the experts as
 * agents (the ai-service template). A separate entry from `devloop/agents` so a service that only
 * runs its own agents never loads the experts' parsers and the TypeScript compiler.
 */
export { experts } from './experts/index.js';
export { architectureExpert } from './experts/architecture.js';
export { buildExpert } from './experts/build.js';
export { manifestsExpert } from './experts/manifests.js';
export { qualityExpert } from './experts/quality.js';
export { securityExpert } from './experts/security.js';
export { testsExpert } from './experts/tests.js';
export { openRepo } from './repo.js';
export type { OpenRepoOptions } from './repo.js';
