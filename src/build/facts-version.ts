// Owns the version of the cached package facts (package-content.ts), apart from the scanner so
// that a build whose facts are all cached does not load the scanner.

/** Bump when the facts format or the path rules change: old cache entries are ignored. */
export const FACTS_VERSION = 4;
