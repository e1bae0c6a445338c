// Owns digests and canonical serialisation; imports nothing else of strata's.
export * from './sha256.js';
export * from './canonical-json.js';
