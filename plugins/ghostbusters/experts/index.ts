/** The expert crew of `devloop agents run`, in the order their findings are reported. */
import type { Expert } from '../types.js';
import { architectureExpert } from './architecture.js';
import { buildExpert } from './build.js';
import { manifestsExpert } from './manifests.js';
import { qualityExpert } from './quality.js';
import { securityExpert } from './security.js';
import { testsExpert } from './tests.js';

export const experts: Expert[] = [securityExpert, buildExpert, manifestsExpert, qualityExpert, testsExpert, architectureExpert];
