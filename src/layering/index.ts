// Owns layer planning: pure functions from a locked closure to an ordered list of layers.
export * from './graph.js';
export * from './dominators.js';
export * from './plan.js';
