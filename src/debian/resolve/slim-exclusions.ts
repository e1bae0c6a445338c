// Owns the default set of packages that `profile: slim` leaves out of a closure. strata
// never runs maintainer scripts, so packages whose only job is to serve those scripts (or to
// boot a machine, or to install packages) are dead weight in an image. A package named in
// `packages:` is always kept; a dependency on one of these is recorded as left out, with the
// reason, in the lockfile and in `strata why`.

export const SLIM_EXCLUSIONS: ReadonlyMap<string, string> = new Map([
  ['adduser', 'creates users from maintainer scripts; strata writes /etc/passwd and /etc/group from the spec'],
  ['cdebconf', 'asks configuration questions in maintainer scripts, which strata never runs'],
  ['debconf', 'asks configuration questions in maintainer scripts, which strata never runs'],
  ['debconf-2.0', 'virtual package for debconf, which only maintainer scripts use'],
  ['dpkg', 'installs packages; strata writes /var/lib/dpkg/status.d for scanners itself'],
  ['init-system-helpers', 'registers services with an init system from maintainer scripts; containers have none'],
  ['initscripts', 'boots a SysV machine; containers do not boot'],
  ['insserv', 'orders SysV boot scripts; containers do not boot'],
  ['install-info', 'updates the info directory from maintainer scripts; slim images carry no info pages'],
  ['lsb-base', 'init-script helper library (empty transitional package in bookworm)'],
  ['runit-helper', 'registers runit services from maintainer scripts'],
  ['startpar', 'runs SysV boot scripts in parallel; containers do not boot'],
  ['sysv-rc', 'SysV runlevel configuration; containers do not boot'],
  ['sysvinit-utils', 'boot and init-script utilities; containers do not boot'],
  ['ucf', 'merges configuration files from maintainer scripts, which strata never runs'],
  ['usr-is-merged', 'asserts merged /usr at install time; strata always lays images out merged'],
  ['usrmerge', 'converts a system to merged /usr at install time; strata always lays images out merged'],
]);
