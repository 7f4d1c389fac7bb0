import { readFileSync } from 'node:fs';
import semver from 'semver';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };

/** The Node.js versions this project runs on (package.json `engines`). */
export const SUPPORTED_NODE = manifest.engines.node;

/** Why `version` cannot run the server, or null when it can. */
export function runtimeProblem(version: string = process.versions.node): string | null {
  if (semver.satisfies(version, SUPPORTED_NODE)) return null;
  return (
    `Node.js ${version} is older than this project supports (${SUPPORTED_NODE}). ` +
    'Start it through npm (npm start, npm test, npm run ...), which uses the Node.js that npm install put in node_modules, ' +
    'or install the version in .nvmrc (nvm install, fnm use).'
  );
}
