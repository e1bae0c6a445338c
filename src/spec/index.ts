// Owns the spec: its model, YAML parsing with located errors, and loading from disk.
export * from './spec.js';
export * from './parse-spec.js';
export * from './package-request.js';
export * from './load-spec.js';
