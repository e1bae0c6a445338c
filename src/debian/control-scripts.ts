// Owns the names of the maintainer scripts and other control files a .deb may carry, apart
// from the .deb reader so that code which only names them does not load the reader.
export const CONTROL_SCRIPTS = ['preinst', 'postinst', 'prerm', 'postrm', 'config', 'triggers', 'templates'] as const;
export type ControlScript = (typeof CONTROL_SCRIPTS)[number];
